/**
 * GitHub deployments for deploys, from DeployEvents: a deployment and an `in_progress` status when a deploy
 * starts, the final status when it ends (also for one found interrupted). It works in the background, in order
 * per deploy, so a slow or failing GitHub never holds a deploy or its lock. A final status GitHub keeps
 * refusing is retried a few times, then the deploy is marked `githubNotUpdated` (shown on its page and API).
 *
 *   const sink = new GitHubSink({ config, store, events, revisions, logger }); sink.start();
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { deployUrl } from '../format.js';
import type { DeploymentState } from '../github.js';
import { withoutGitHubBudget } from '../github-deadline.js';
import type { FullDeploy } from '../store/deploys.js';
import type { Store } from '../store/index.js';
import type { DeployEvent, DeployEvents } from './events.js';
import { type Plan, planDeploy } from './plan.js';
import { pullRequestNumber } from './pull-request.js';
import type { Revisions } from './source.js';

export interface GitHubSinkOptions {
  config: Readonly<Config>;
  store: Store;
  events: DeployEvents;
  revisions: Revisions;
  logger: Logger;
  /** Where the deploy pages are (the status's log_url). */
  webBaseUrl: string;
  /** Tries of a final status before giving up (default 3), and the wait before the first retry (doubles). */
  finalTries?: number;
  retryMs?: number;
}

export class GitHubSink {
  /** Per deploy, the tail of its chain of GitHub calls (in order). */
  private readonly chains = new Map<number, Promise<void>>();
  /** Deployment ids created by this process (the row has it too, once written). */
  private readonly ids = new Map<number, number>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: GitHubSinkOptions) {}

  start(): void {
    this.unsubscribe ??= this.options.events.subscribe((e) => this.onEvent(e), { flushed: () => this.flushed() });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  async flushed(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  private onEvent(event: DeployEvent): void {
    if (event.type === 'started') this.enqueue(event.deployId, () => this.created(event.deploy));
    else if (event.type === 'ended') this.enqueue(event.deployId, () => this.ended(event.deploy));
  }

  private enqueue(deployId: number, work: () => Promise<void>): void {
    // The deploy may start inside a command: its statuses are not that command's, so they get deadlines of their own.
    const chain = (this.chains.get(deployId) ?? Promise.resolve())
      .then(() => withoutGitHubBudget(work))
      .catch((err) => this.options.logger.warn({ err, deployId }, 'GitHub deployment not updated'))
      .finally(() => {
        if (this.chains.get(deployId) === chain) this.chains.delete(deployId);
      });
    this.chains.set(deployId, chain);
  }

  private plan(d: Pick<FullDeploy, 'app' | 'environment'>): Plan | null {
    try {
      return planDeploy(this.options.config, d.app, d.environment);
    } catch {
      return null;
    }
  }

  private async created(deploy: FullDeploy): Promise<void> {
    const plan = this.plan(deploy);
    if (!plan) return;
    try {
      await this.create(plan, deploy, true);
    } catch (err) {
      // Tried again when the deploy ends, so the final status still reaches GitHub if it recovered by then.
      this.options.logger.warn({ err, deployId: deploy.id }, 'GitHub deployment not created; trying again when the deploy ends');
    }
  }

  /** Creates the GitHub deployment (found again, not duplicated, if GitHub made it before failing) and posts in_progress. */
  private async create(plan: Plan, deploy: FullDeploy, running: boolean): Promise<number | null> {
    const id = await this.options.revisions.createDeployment(plan, {
      sha: deploy.sha,
      environment: deploy.environment,
      description: `${deploy.kind === 'rollback' ? 'Rollback' : 'Deploy'} #${deploy.id} by ${deploy.requester.githubLogin ?? deploy.requester.name} via Shepherd`,
      ...(await this.pullRequestRef(plan, deploy)),
    });
    if (id === null) return null;
    this.ids.set(deploy.id, id);
    await this.options.store.deploys.setGithubDeployment(deploy.id, id);
    if (running) await this.status(plan, id, 'in_progress', deploy.id);
    return id;
  }

  /**
   * A PR deploy (ref '#22') carries the PR's ref: its head branch while that branch still points at the deployed
   * SHA (a branch that moved on, or a merge commit, is deployed by SHA so GitHub records what really runs), and the
   * PR number in the payload. Read here, in the background, so a slow GitHub never holds the deploy.
   */
  private async pullRequestRef(plan: Plan, deploy: FullDeploy): Promise<{ ref?: string; payload?: Record<string, unknown> }> {
    const number = pullRequestNumber(deploy.ref);
    if (number === null) return {};
    const pr = await this.options.revisions.pullRequest(plan, number).catch(() => null);
    const payload = { pull_request: number, sha: deploy.sha };
    const sameRepo = pr?.headRepo?.toLowerCase() === plan.appConfig.repo?.toLowerCase();
    if (pr && pr.state === 'open' && sameRepo && pr.headSha === deploy.sha) return { ref: pr.headRef, payload };
    return { payload };
  }

  private async ended(deploy: FullDeploy): Promise<void> {
    let id = this.ids.get(deploy.id) ?? deploy.githubDeploymentId ?? null;
    this.ids.delete(deploy.id);
    const plan = this.plan(deploy);
    if (!plan || !this.options.revisions.usesGitHub(plan)) return;
    // A deploy that ended before it was ever announced (found interrupted, or never started) needs no deployment.
    if (id === null && !deploy.startedAt) return;
    const state: DeploymentState = deploy.state === 'succeeded' ? 'success' : deploy.state === 'failed' ? 'failure' : 'error';
    const tries = this.options.finalTries ?? 3;
    let wait = this.options.retryMs ?? 1000;
    for (let attempt = 1; ; attempt++) {
      try {
        // The deployment itself may be what GitHub refused when the deploy started.
        id ??= await this.create(plan, deploy, false);
        if (id === null) return;
        await this.status(plan, id, state, deploy.id, deploy.error ?? (deploy.state === 'interrupted' ? 'interrupted' : undefined));
        return;
      } catch (err) {
        if (attempt >= tries) {
          this.options.logger.warn({ err, deployId: deploy.id }, 'GitHub refused the final deployment status: marked "GitHub not updated"');
          await this.options.store.deploys.markGithubNotUpdated(deploy.id);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait *= 2;
      }
    }
  }

  private async status(plan: Plan, id: number, state: DeploymentState, deployId: number, description?: string): Promise<void> {
    await this.options.revisions.setDeploymentStatus(plan, id, state, deployUrl(this.options.webBaseUrl, deployId), description);
  }
}
