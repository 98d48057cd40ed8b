/**
 * Continuous delivery (`auto_deploy: { branch: main, to: staging, when: green, poll: 60s }`): when the head of
 * `branch` turns green (a `check_suite` or `workflow_run` completed with success, or a `status` success, for
 * that head; or the `poll` fallback finding it green), that head deploys to `to` through the scheduler with
 * entry 'auto deploy' and a system actor. The gates apply (a lock refuses; nobody can answer a question, so a
 * deploy that would ask is refused); refusals are said once per SHA in the environment's `channel` or the
 * app's team channel. A newer head replaces a queued automatic deploy of an older one (coalescing).
 *
 *   const auto = new AutoDeployer({ config, store, deployer, chat, logger });
 *   await auto.handle(webhookEvent); auto.start(); // poll timers
 */
import type { Logger } from 'pino';
import type { Target } from '../adapters/adapter.js';
import type { AppConfig, Config } from '../config.js';
import { shortSha } from '../format.js';
import { awaitingApproval } from '../approval-messages.js';
import { gatherFacts, runGates } from '../gates/runner.js';
import { withGitHubBudget } from '../github-deadline.js';
import { GitHubError } from '../github-error.js';
import type { Store } from '../store/index.js';
import type { ChatIdentity, KnownUser } from '../store/users.js';
import type { WebhookEvent } from '../web/github-webhook.js';
import { type Plan, planDeploy } from './plan.js';
import type { Scheduler } from './scheduler.js';

export type AutoDeployConfig = NonNullable<AppConfig['auto_deploy']>;

export interface AutoDeployOptions {
  config: Readonly<Config>;
  store: Store;
  deployer: Pick<Scheduler, 'request' | 'cancel' | 'revisions'>;
  /** Where notes go: the chat network to post on (automatic deploys report there too), null = log only. */
  chat: { provider: string; say(target: Target, text: string): Promise<void> } | null;
  logger: Logger;
  now?: () => Date;
}

/** What a deploy of this app/environment is asked for and by, when nobody asked in chat. */
const SYSTEM: ChatIdentity = { provider: 'system' as ChatIdentity['provider'], id: 'auto-deploy', handle: 'shepherd' };

/**
 * The head SHA an event reports green on `branch`, or null when the event says nothing green about it.
 *
 *   greenHead({ name: 'check_suite', payload: { action: 'completed', check_suite: { conclusion: 'success', head_branch: 'main', head_sha } } }, 'main') // head_sha
 */
export function greenHead(event: Pick<WebhookEvent, 'name' | 'payload'>, branch: string): string | null {
  const p = event.payload as Record<string, unknown>;
  const sha = (v: unknown) => (typeof v === 'string' && /^[0-9a-f]{40}$/.test(v) ? v : null);
  if (event.name === 'check_suite' || event.name === 'workflow_run') {
    const run = p[event.name] as { conclusion?: unknown; head_branch?: unknown; head_sha?: unknown } | undefined;
    if (p.action !== 'completed' || run?.conclusion !== 'success' || run.head_branch !== branch) return null;
    return sha(run.head_sha);
  }
  if (event.name === 'status') {
    const branches = Array.isArray(p.branches) ? (p.branches as { name?: unknown }[]) : [];
    if (p.state !== 'success' || !branches.some((b) => b?.name === branch)) return null;
    return sha(p.sha);
  }
  return null;
}

export class AutoDeployer {
  /** Per app, the tail of its chain of checks: one at a time, in order, so heads never race each other. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Per app, the last refusal said (sha + reason), so a poll does not repeat it every round. */
  private readonly told = new Map<string, string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private system: Promise<KnownUser> | undefined;

  constructor(private readonly options: AutoDeployOptions) {}

  /** Apps with auto_deploy whose repo is `repository` (GitHub names are case-insensitive). */
  appsFor(repository: string): [string, AutoDeployConfig][] {
    return Object.entries(this.options.config.apps).flatMap(([app, c]) =>
      c.auto_deploy && c.repo?.toLowerCase() === repository.toLowerCase() ? [[app, c.auto_deploy] as [string, AutoDeployConfig]] : [],
    );
  }

  /** A webhook event: every app of its repository whose branch head it reports green is considered. */
  async handle(event: WebhookEvent): Promise<void> {
    await Promise.all(
      this.appsFor(event.repository).map(([app, auto]) => {
        const sha = greenHead(event, auto.branch);
        return sha ? this.consider(app, sha, `${event.name} green`) : Promise.resolve();
      }),
    );
  }

  /** Starts the poll fallback of every app that has `poll`. */
  start(): void {
    for (const [app, c] of Object.entries(this.options.config.apps)) {
      const poll = c.auto_deploy?.poll;
      if (!poll) continue;
      const timer = setInterval(() => void this.poll(app), poll);
      timer.unref();
      this.timers.push(timer);
    }
  }

  /** One poll round for `app` (what its timer runs): the branch head deploys if green and not there yet. */
  poll(app: string): Promise<void> {
    return this.consider(app, null, 'poll');
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  /** Resolves once every check asked for so far has finished. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  /**
   * Checks the head of the app's branch (it must still be `sha` when given: an older head that turns green
   * late is not deployed) and deploys it when green. Queued per app.
   */
  consider(app: string, sha: string | null, why: string): Promise<void> {
    // Each check is one question to GitHub's clock: one deadline for all it asks, as for a chat command.
    const chain = (this.chains.get(app) ?? Promise.resolve())
      .then(() => withGitHubBudget(() => this.check(app, sha, why)))
      .catch((err) => this.failed(app, err))
      .finally(() => {
        if (this.chains.get(app) === chain) this.chains.delete(app);
      });
    this.chains.set(app, chain);
    return chain;
  }

  private async check(app: string, expected: string | null, why: string): Promise<void> {
    const { config, store, deployer, logger } = this.options;
    const auto = config.apps[app]?.auto_deploy;
    if (!auto) return;
    const plan = planDeploy(config, app, auto.to);
    const revisions = deployer.revisions;
    const head = await revisions.resolve(plan, auto.branch);
    if (!head) return;
    if (expected && head !== expected) {
      logger.info({ app, green: expected, head }, 'auto deploy: green commit is no longer the branch head, skipped');
      return;
    }
    // One green suite is not the whole CI: the head's combined state decides (when: green).
    if ((await revisions.ciState(plan, head)) !== 'success') return;
    const system = await this.systemUser();
    const [live, active] = await Promise.all([store.deploys.current(app, auto.to), store.deploys.active()]);
    const here = active.filter((d) => d.app === app && d.environment === auto.to);
    if (live?.sha === head || here.some((d) => d.sha === head)) return;

    // Coalescing: an automatic deploy of an older head still waiting is replaced by this one.
    for (const old of here.filter((d) => d.state === 'queued' && d.requesterId === system.id)) {
      const result = await deployer.cancel(old.id, 'shepherd');
      if (result === 'dequeued') await this.say(plan, `auto deploy #${old.id} of ${shortSha(old.sha)} replaced by newer ${auto.branch} head ${shortSha(head)}`);
    }

    const subject = `deploy ${app}/${auto.branch} (${shortSha(head)}) to ${auto.to} automatically`;
    const facts = await gatherFacts(
      { config, store, revisions, now: this.now() },
      {
        entry: 'auto deploy',
        app,
        environment: auto.to,
        plan,
        sha: head,
        actor: { name: 'shepherd', roles: [], system: true },
        force: false,
        subject,
        retry: null,
      },
    );
    const room = this.room(plan);
    const decision = await runGates(facts, {
      audit: store.audit,
      who: { userId: system.id, identity: 'system:auto-deploy', room: room.room },
      now: this.now(),
    });
    if (!decision.ok) return this.refused(plan, head, decision.reason, auto);
    const result = await deployer.request({
      app,
      environment: auto.to,
      ref: auto.branch,
      sha: head,
      requester: system,
      provider: this.options.chat?.provider ?? 'shell',
      room,
      notes: [`automatic: ${auto.branch} is green (${why})`, ...decision.notes],
      approvals: decision.approvals,
    });
    if (result.outcome !== 'locked') await store.audit.linkDeploy(decision.audited, result.deploy.id).catch(() => {});
    // approvals: nobody asked in chat, so the channel is told what it waits for and how to approve.
    if (result.outcome === 'awaiting') await this.say(plan, awaitingApproval(result.deploy, this.now(), config.timezone, this.options.chat?.provider));
    if (result.outcome === 'locked') {
      return this.refused(plan, head, `${auto.to} is locked by hand — it deploys once unlocked (\`unlock ${app}/${auto.to}\`)`, auto);
    }
    this.told.delete(app);
  }

  /**
   * A check that could not finish: a GitHub failure is said in the channel in one line (once until it changes,
   * so a poll does not repeat it); nothing was requested, so nothing is left queued or locked.
   */
  private async failed(app: string, err: unknown): Promise<void> {
    this.options.logger.warn({ err, app }, 'auto deploy check failed');
    const auto = this.options.config.apps[app]?.auto_deploy;
    if (!(err instanceof GitHubError) || !auto) return;
    const key = `github:${err.kind}:${err.status ?? ''}`;
    if (this.told.get(app) === key) return;
    this.told.set(app, key);
    await this.say(planDeploy(this.options.config, app, auto.to), `⚠️ auto deploy of ${app}/${auto.branch} to ${auto.to} not checked: ${err.message}`);
  }

  private async refused(plan: Plan, sha: string, reason: string, auto: AutoDeployConfig): Promise<void> {
    const key = `${sha}:${reason}`;
    if (this.told.get(plan.app) === key) return;
    this.told.set(plan.app, key);
    await this.say(plan, `✋ auto deploy of ${plan.app}/${auto.branch} (${shortSha(sha)}) to ${auto.to} refused: ${reason}`);
  }

  /** The environment's `channel`, else the app's team channel. */
  private room(plan: Plan): Target {
    const teams = this.options.config.teams;
    const team = Object.hasOwn(teams, plan.app) ? teams[plan.app] : undefined;
    return { room: plan.envConfig.channel ?? team?.channel ?? '' };
  }

  private async say(plan: Plan, text: string): Promise<void> {
    this.options.logger.info({ app: plan.app, environment: plan.environment }, text);
    const room = this.room(plan);
    if (!this.options.chat || !room.room) return;
    await this.options.chat.say(room, text).catch((err) => this.options.logger.warn({ err }, 'auto deploy note not sent'));
  }

  private systemUser(): Promise<KnownUser> {
    this.system ??= this.options.store.users.identify(SYSTEM);
    return this.system;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}
