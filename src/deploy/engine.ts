/**
 * The Deployer: takes deploy requests, keeps one deploy per environment at a time (the lock is taken with the
 * deploy row, in one transaction; the rest queue in the database and start in order), and runs each deploy:
 * canary hosts first, then the rest `concurrency` at a time, stopping new hosts after more than max_failures
 * failures, switching hosts back when the deploy fails or is cancelled. Everything it does is told on
 * DeployEvents (state, hosts, log lines) and to the requester's channel through the ChatSink.
 * A heartbeat marks running deploys alive; at start, deploys a dead process left running become interrupted.
 *
 *   const deployer = new Deployer({ config, store, events, masker, lines, github, gitCacheDir, chat, logger });
 *   await deployer.recover(); deployer.start();
 *   const r = await deployer.request({ app: 'web', environment: 'staging', ref: 'main', sha, requester, provider: 'irc', room });
 */
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Target } from '../adapters/adapter.js';
import type { Config } from '../config.js';
import { expandHome } from '../config.js';
import type { DeploymentState, GitHub } from '../github.js';
import { deployTitle, deployUrl } from '../format.js';
import { dataDir } from '../store/db.js';
import type { FullDeploy, HostState, RequestResult } from '../store/deploys.js';
import type { Store } from '../store/index.js';
import type { LineSink } from '../store/log-lines.js';
import type { KnownUser } from '../store/users.js';
import { ChatBatcher, type Send } from './chat-batcher.js';
import { ChatSink, type DeployPlace } from './chat-sink.js';
import type { DeployEvents, DeployState } from './events.js';
import { HostKeyRefused, HostKeys } from './host-keys.js';
import { LocalTransport } from './local-transport.js';
import { DeployLog, LogWriter } from './log-pipeline.js';
import type { Masker } from './mask.js';
import { type Plan, type PlannedHost, planDeploy } from './plan.js';
import { HostReleases } from './releases.js';
import { type CommitList, Revisions } from './source.js';
import { SshTransport } from './ssh-transport.js';
import { describeResult, type Session, type Transport } from './transport.js';

export interface ChatOut {
  send: Send;
  /** How to mention `user` on `provider` so they are notified. */
  mention(provider: string, user: Pick<KnownUser, 'name' | 'identities'>): string;
}

export interface DeployerOptions {
  config: Readonly<Config>;
  store: Store;
  events: DeployEvents;
  masker: Masker;
  /** Where log lines are written (a LogLineStore on the same database). */
  lines: LineSink;
  github: GitHub | null;
  /** Where git mirrors for ref lookups live when GitHub is not used. */
  gitCacheDir: string;
  chat: ChatOut;
  logger: Logger;
  heartbeatMs?: number;
  /** At most one chat message per this many ms per room (default 1000). */
  chatIntervalMs?: number;
  /** How hosts of a plan are reached; default ssh or local per the app's `transport`. */
  transportFor?: (plan: Plan) => Transport;
  /** Where host keys learnt on first use are recorded (default: known_hosts next to the database). */
  knownHostsFile?: string;
}

export interface DeployRequest {
  app: string;
  environment: string;
  ref: string;
  sha: string;
  kind?: 'deploy' | 'rollback';
  /** A rollback names the release to switch back to. */
  releaseId?: string;
  requester: Pick<KnownUser, 'id'>;
  provider: string;
  room: Target;
  force?: boolean;
  /** Shown in the start message: what was skipped or is worth knowing. */
  notes?: string[];
}

export type CancelResult = 'stopping' | 'dequeued' | 'already-stopping' | 'finished' | 'elsewhere' | 'unknown';

interface Active {
  id: number;
  controller: AbortController;
  cancelledBy: string | null;
  done: Promise<void>;
}

interface HostOutcome {
  state: Extract<HostState, 'succeeded' | 'failed' | 'cancelled'>;
  reason: string | null;
  switched: boolean;
  previous: string | null;
}

export class Deployer {
  readonly revisions: Revisions;
  readonly batcher: ChatBatcher;
  readonly sink: ChatSink;
  readonly writer: LogWriter;
  private readonly active = new Map<number, Active>();
  private readonly notes = new Map<number, string[]>();
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: DeployerOptions) {
    this.revisions = new Revisions(options.github, options.gitCacheDir);
    this.batcher = new ChatBatcher(options.chat.send, options.chatIntervalMs ?? 1000, options.logger);
    this.sink = new ChatSink({ batcher: this.batcher, events: options.events, mentioner: options.chat, webBaseUrl: options.config.webBaseUrl });
    this.writer = new LogWriter(options.lines, options.logger);
    this.sink.start();
  }

  private get deploys() {
    return this.options.store.deploys;
  }

  /** Heartbeat on running deploys, and a periodic look at the queue (a manual lock may have gone meanwhile). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.deploys.heartbeat([...this.active.keys()]).catch((err) => this.options.logger.warn({ err }, 'deploy heartbeat failed'));
      void this.drain();
    }, this.options.heartbeatMs ?? 10_000);
    this.timer.unref();
  }

  /** Stops the timers; running deploys go on until they end (see idle()). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.writer.drain();
    this.sink.stop();
  }

  /**
   * At start: deploys left `running` by a process that died become `interrupted`, their locks are freed and
   * their channels told. Then queued deploys may start.
   */
  async recover(): Promise<FullDeploy[]> {
    const recovered = await this.deploys.recoverRunning();
    for (const d of recovered) {
      this.options.events.publish({ type: 'state', deployId: d.id, state: 'interrupted', error: d.error });
      await this.sink.interrupted(placeOf(d), d).catch(() => {});
      if (d.githubDeploymentId) {
        const plan = this.tryPlan(d.app, d.environment);
        if (plan) await this.githubStatus(plan, d.githubDeploymentId, 'error', d.id, 'interrupted').catch(() => {});
      }
    }
    await this.drain();
    return recovered;
  }

  /**
   * Records a deploy and starts it, or queues it behind the deploy holding the environment. A lock taken by
   * hand refuses it ('locked', nothing recorded). Throws a user-readable Error for an unknown app/environment.
   */
  async request(input: DeployRequest): Promise<RequestResult> {
    const plan = planDeploy(this.options.config, input.app, input.environment);
    const current = await this.deploys.current(input.app, input.environment);
    const result = await this.deploys.request({
      app: input.app,
      environment: input.environment,
      ref: input.ref,
      sha: input.sha,
      previousSha: current?.sha ?? null,
      kind: input.kind ?? 'deploy',
      requesterId: input.requester.id,
      provider: input.provider,
      room: input.room.room,
      threadRef: input.room.thread ?? null,
      force: input.force ?? false,
      releaseId: input.releaseId,
      hosts: plan.hosts.map((h) => ({ label: h.label, port: h.port, user: h.user, stage: h.stage })),
    });
    if (result.outcome !== 'locked') {
      if (input.notes?.length) this.notes.set(result.deploy.id, input.notes);
      this.options.events.publish({ type: 'state', deployId: result.deploy.id, state: result.outcome === 'started' ? 'running' : 'queued' });
    }
    if (result.outcome === 'started') this.launch(result.deploy);
    return result;
  }

  /** Stops a running deploy (no new host starts, running steps are killed) or drops a queued one. */
  async cancel(id: number, by: string): Promise<CancelResult> {
    const entry = this.active.get(id);
    if (entry) {
      if (entry.controller.signal.aborted) return 'already-stopping';
      entry.cancelledBy = by;
      entry.controller.abort();
      void this.sink.note(id, `🛑 cancelling #${id} for ${by}: no new host starts, running steps are being stopped`);
      return 'stopping';
    }
    const d = await this.deploys.get(id);
    if (!d) return 'unknown';
    if (d.state === 'queued') {
      if (!(await this.deploys.finish(id, 'cancelled', `cancelled by ${by} before it started`))) return 'finished';
      await this.deploys.skipPendingHosts(id, 'cancelled');
      this.notes.delete(id);
      this.options.events.publish({ type: 'state', deployId: id, state: 'cancelled', error: `cancelled by ${by}` });
      void this.drain();
      return 'dequeued';
    }
    return d.state === 'running' ? 'elsewhere' : 'finished';
  }

  /** Ids of the deploys this process is running. */
  running(): number[] {
    return [...this.active.keys()];
  }

  /** Resolves when deploy `id` (if this process runs it) has ended. */
  async waitFor(id: number): Promise<void> {
    await this.active.get(id)?.done;
  }

  /** Resolves when nothing runs and nothing queued can start (used before exiting). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.active.values()].map((a) => a.done);
      if (running.length === 0) {
        await this.drain();
        if (this.active.size === 0) break;
        continue;
      }
      await Promise.allSettled(running);
    }
    await this.writer.drain();
    await this.batcher.flushed();
  }

  /** Starts queued deploys whose environment is free, oldest first. Serialised: one drain at a time. */
  drain(): Promise<void> {
    this.draining = this.draining.then(async () => {
      if (this.stopped) return;
      try {
        for (const head of await this.deploys.queueHeads()) {
          if (this.active.has(head.id)) continue;
          if (await this.deploys.startQueued(head.id)) {
            const d = await this.deploys.get(head.id);
            if (d) {
              this.options.events.publish({ type: 'state', deployId: d.id, state: 'running' });
              this.launch(d);
            }
          }
        }
      } catch (err) {
        this.options.logger.error({ err }, 'could not start queued deploys');
      }
    });
    return this.draining;
  }

  private launch(deploy: FullDeploy): void {
    const entry: Active = { id: deploy.id, controller: new AbortController(), cancelledBy: null, done: Promise.resolve() };
    // Every running step of every host listens on this one signal: `concurrency` of them, possibly hundreds.
    setMaxListeners(0, entry.controller.signal);
    this.active.set(deploy.id, entry);
    entry.done = this.run(deploy, entry)
      .catch(async (err) => {
        this.options.logger.error({ err, deployId: deploy.id }, 'deploy crashed');
        await this.end(deploy, 'failed', `Shepherd failed: ${(err as Error).message}`, [], null).catch(() => {});
      })
      .finally(() => {
        this.active.delete(deploy.id);
        this.notes.delete(deploy.id);
        void this.drain();
      });
  }

  private tryPlan(app: string, environment: string): Plan | null {
    try {
      return planDeploy(this.options.config, app, environment);
    } catch {
      return null;
    }
  }

  private transportFor(plan: Plan, log?: DeployLog): Transport {
    if (this.options.transportFor) return this.options.transportFor(plan);
    if (plan.transport === 'local') return new LocalTransport();
    const ssh = plan.appConfig.ssh;
    return new SshTransport({
      user: ssh.user,
      privateKeyPath: ssh.private_key_path ? expandHome(ssh.private_key_path) : undefined,
      hostKeys: new HostKeys({ checking: ssh.host_key_checking, knownHostsFile: expandHome(ssh.known_hosts), managedFile: this.knownHostsFile() }),
      onNotice: (host, text) => log?.system(host.label, text),
    });
  }

  /** Shepherd's own known_hosts: `<data dir>/known_hosts`, beside the database (as the git cache is). */
  private knownHostsFile(): string {
    if (this.options.knownHostsFile) return this.options.knownHostsFile;
    return join(dataDir(this.options.config.env.DATABASE_URL, this.options.config.env), 'known_hosts');
  }

  private async run(deploy: FullDeploy, entry: Active): Promise<void> {
    const { events, logger } = this.options;
    const signal = entry.controller.signal;
    let plan: Plan;
    try {
      plan = planDeploy(this.options.config, deploy.app, deploy.environment);
    } catch (err) {
      await this.end(deploy, 'failed', (err as Error).message, [], null);
      return;
    }
    const log = new DeployLog(deploy.id, { events, masker: this.options.masker, writer: this.writer });
    const place = placeOf(deploy);

    // What ships: the commits between the SHA live now and this one (best effort, never blocks the deploy).
    const notes = [...(this.notes.get(deploy.id) ?? [])];
    let commits: CommitList | null = null;
    // For a deploy that waited in the queue, what is live now may be what the deploy ahead of it shipped.
    const live = (await this.deploys.current(deploy.app, deploy.environment))?.sha ?? null;
    if (live !== deploy.previousSha) await this.deploys.setPreviousSha(deploy.id, live);
    const previousSha = live;
    // When the shipped commit was made, where DORA lead time starts: looked up beside the deploy, not before it
    // (the first lookup may clone the mirror), and waited for, a while, before the deploy is marked finished.
    const commitTime = deploy.kind === 'deploy' && !deploy.commitAt ? this.recordCommitTime(plan, deploy) : Promise.resolve();
    if (deploy.kind === 'deploy' && previousSha && previousSha !== deploy.sha) {
      commits = await this.revisions.commits(plan, previousSha, deploy.sha, 10).catch((err: Error) => {
        notes.push(`commit list unavailable: ${err.message}`);
        return null;
      });
    }
    void this.sink.started(place, deploy, { hostCount: deploy.hosts.length, commits, previousSha, notes });
    log.system(
      null,
      `#${deploy.id} ${deployTitle(deploy)}: ${deploy.hosts.length} host(s), release ${deploy.releaseId}, requested by ${deploy.requester.name}`,
    );

    let githubId: number | null = null;
    try {
      githubId = await this.revisions.createDeployment(plan, {
        sha: deploy.sha,
        environment: deploy.environment,
        description: `${deploy.kind === 'rollback' ? 'Rollback' : 'Deploy'} #${deploy.id} by ${deploy.requester.githubLogin ?? deploy.requester.name} via Shepherd`,
      });
      if (githubId !== null) {
        await this.deploys.setGithubDeployment(deploy.id, githubId);
        await this.githubStatus(plan, githubId, 'in_progress', deploy.id);
      }
    } catch (err) {
      log.system(null, `GitHub deployment not recorded: ${(err as Error).message}`);
    }

    // Hosts by stage, as planned when the deploy was asked for.
    const stages = new Map<number, FullDeploy['hosts']>();
    for (const h of deploy.hosts) stages.set(h.stage, [...(stages.get(h.stage) ?? []), h]);
    const stageList = [...stages.entries()].sort((a, b) => a[0] - b[0]).map(([, hosts]) => hosts);
    const transport = this.transportFor(plan, log);
    const outcomes = new Map<number, HostOutcome>();
    const total = deploy.hosts.length;
    let done = 0;
    let failures = 0;
    let stopReason: string | null = null;

    for (const [index, stage] of stageList.entries()) {
      if (stopReason || signal.aborted) break;
      const canary = stageList.length > 1 && index === 0;
      await pool(stage, plan.concurrency, async (row) => {
        if (stopReason || signal.aborted) return;
        const outcome = await this.runHost(deploy, row, plan, transport, log, signal);
        outcomes.set(row.id, outcome);
        done++;
        if (outcome.state === 'failed') {
          failures++;
          if (canary) stopReason ??= `canary ${row.host} failed (${outcome.reason})`;
          else if (failures > plan.maxFailures) stopReason ??= `${row.host}: ${outcome.reason}`;
        }
        this.sink.hostFinished(
          deploy.id,
          { done, total, failed: failures },
          outcome.state === 'failed' ? { host: row.host, reason: outcome.reason ?? 'failed' } : undefined,
        );
      });
    }

    const state: DeployState = signal.aborted ? 'cancelled' : stopReason ? 'failed' : 'succeeded';
    const error = signal.aborted ? `cancelled by ${entry.cancelledBy ?? 'someone'}` : stopReason;
    await this.deploys.skipPendingHosts(deploy.id, state === 'cancelled' ? 'cancelled' : 'skipped');

    // A deploy that did not succeed leaves no host on its release: switch the ones that moved back.
    if (state !== 'succeeded' && plan.rollbackOnFailure) {
      const switched = deploy.hosts.filter((h) => outcomes.get(h.id)?.switched);
      if (switched.length > 0) log.system(null, `switching ${switched.length} host(s) back to their previous release`);
      await pool(switched, plan.concurrency, async (row) => {
        await this.switchBack(row, plan, transport, log, outcomes.get(row.id)?.previous ?? null);
      });
    }
    const failedHosts = deploy.hosts.filter((h) => outcomes.get(h.id)?.state === 'failed').map((h) => h.host);
    if (state === 'succeeded' && failedHosts.length > 0) log.system(null, `${failedHosts.length} host(s) failed, within max_failures ${plan.maxFailures}`);
    log.system(null, `#${deploy.id} ${state}${error ? `: ${error}` : ''}`);
    await settleWithin(commitTime, COMMIT_TIME_GRACE_MS);
    await this.end(deploy, state, error, failedHosts, githubId, plan);
    logger.info({ deployId: deploy.id, state, error }, 'deploy ended');
  }

  /** Deploy.commitAt ← the committer date of the deployed SHA (GitHub or git). Never throws. */
  private async recordCommitTime(plan: Plan, deploy: FullDeploy): Promise<void> {
    try {
      const at = await this.revisions.commitTime(plan, deploy.sha);
      if (at) await this.deploys.setCommitAt(deploy.id, at);
    } catch (err) {
      this.options.logger.warn({ err, deployId: deploy.id }, 'commit time unknown: lead time will count from the request');
    }
  }

  /** Stores the outcome (after every line), frees the lock, tells GitHub and the channel. */
  private async end(deploy: FullDeploy, state: DeployState, error: string | null, failedHosts: string[], githubId: number | null, plan?: Plan): Promise<void> {
    await this.writer.drain();
    if (state === 'queued' || state === 'running') throw new Error(`cannot end a deploy as ${state}`);
    await this.deploys.finish(deploy.id, state, error);
    await this.options.store.locks.releaseForDeploy(deploy.id);
    this.options.events.publish({ type: 'state', deployId: deploy.id, state, error });
    if (githubId !== null && plan) {
      const ghState: DeploymentState = state === 'succeeded' ? 'success' : state === 'failed' ? 'failure' : 'error';
      await this.githubStatus(plan, githubId, ghState, deploy.id, error ?? undefined).catch((err) =>
        this.options.logger.warn({ err }, 'GitHub deployment status not posted'),
      );
    }
    // The final chat line waits its turn in the room (rate limit); the deploy itself is over now.
    const final = await this.deploys.get(deploy.id);
    if (final) void this.sink.finished(final, failedHosts).catch(() => {});
  }

  private async githubStatus(plan: Plan, githubId: number, state: DeploymentState, deployId: number, description?: string): Promise<void> {
    await this.revisions.setDeploymentStatus(plan, githubId, state, deployUrl(this.options.config.webBaseUrl, deployId), description);
  }

  /** One host: connect, release dir, steps, healthcheck, switch, prune. Never throws. */
  private async runHost(
    deploy: FullDeploy,
    row: FullDeploy['hosts'][number],
    plan: Plan,
    transport: Transport,
    log: DeployLog,
    signal: AbortSignal,
  ): Promise<HostOutcome> {
    const { events } = this.options;
    const host = row.host;
    const outcome: HostOutcome = { state: 'failed', reason: null, switched: false, previous: null };
    // The finally block records `outcome`, so every exit path updates it rather than returning a copy.
    const cancelled = (reason: string) => Object.assign(outcome, { state: 'cancelled' as const, reason });
    await this.deploys.updateHost(row.id, { state: 'running', startedAt: new Date() });
    events.publish({ type: 'host', deployId: deploy.id, host, state: 'running' });
    const out = log.host(host);
    let session: Session | undefined;
    try {
      log.system(host, `connecting (${plan.transport})`);
      try {
        session = await transport.connect(plannedHost(row), plan.connectTimeoutMs);
      } catch (err) {
        // A refused host key is its own reason ("host key of ... changed ..."), not a connection problem.
        outcome.reason = err instanceof HostKeyRefused ? err.message : `cannot connect: ${(err as Error).message}`;
        return outcome;
      }
      if (signal.aborted) return cancelled('cancelled');
      const releases = new HostReleases(session, plan.deployTo, plan.stepTimeoutMs, signal);

      if (deploy.kind === 'rollback') {
        outcome.previous = await releases.currentRelease();
        await this.deploys.updateHost(row.id, { previousRelease: outcome.previous });
        if (outcome.previous === deploy.releaseId) {
          log.system(host, `already on release ${deploy.releaseId}`);
          outcome.state = 'succeeded';
          return outcome;
        }
        if (!(await releases.exists(deploy.releaseId))) {
          outcome.reason = `release ${deploy.releaseId} is no longer on this host`;
          return outcome;
        }
      } else {
        const prepared = await releases.prepare(deploy.releaseId);
        if (!prepared.ok) {
          outcome.reason = prepared.reason;
          return outcome;
        }
        outcome.previous = prepared.previous;
        await this.deploys.updateHost(row.id, { previousRelease: prepared.previous });
        const env = {
          SHEPHERD_APP: deploy.app,
          SHEPHERD_ENV: deploy.environment,
          SHEPHERD_REF: deploy.ref,
          SHEPHERD_SHA: deploy.sha,
          SHEPHERD_REPO_URL: plan.repoUrl,
          SHEPHERD_RELEASE_DIR: releases.releaseDir(deploy.releaseId),
          SHEPHERD_DEPLOY_ID: String(deploy.id),
          SHEPHERD_HOST: host,
        };
        const steps = [
          ...plan.steps.map((s, i) => ({ script: s, name: `step ${i + 1}/${plan.steps.length}` })),
          ...(plan.healthcheck ? [{ script: plan.healthcheck, name: 'healthcheck' }] : []),
        ];
        for (const step of steps) {
          if (signal.aborted) return cancelled('cancelled');
          log.system(host, `$ ${step.script}`);
          const result = await session.run({
            script: step.script,
            cwd: releases.releaseDir(deploy.releaseId),
            env,
            timeoutMs: plan.stepTimeoutMs,
            signal,
            onOutput: out.onOutput,
          });
          out.end();
          if (result.cancelled) return cancelled(`cancelled during ${step.name}`);
          if (result.code !== 0 || result.timedOut) {
            outcome.reason = `${step.name} ${result.timedOut ? describeResult(result, plan.stepTimeoutMs) : `failed (${describeResult(result)})`}: ${abbreviate(step.script)}`;
            log.system(host, `✗ ${outcome.reason}`);
            return outcome;
          }
        }
      }
      // Last chance to stop before anything users see changes.
      if (signal.aborted) return cancelled('cancelled');
      const switched = await releases.switchTo(deploy.releaseId);
      if (!switched.ok) {
        outcome.reason = `could not switch current (${switched.reason})`;
        return outcome;
      }
      outcome.switched = true;
      log.system(host, `current → releases/${deploy.releaseId}`);
      if (deploy.kind === 'deploy') {
        const pruned = await releases.prune(plan.keepReleases, [deploy.releaseId, outcome.previous]);
        if (!pruned.ok) log.system(host, `could not remove old releases: ${pruned.reason}`);
      }
      outcome.state = 'succeeded';
      return outcome;
    } catch (err) {
      outcome.reason = `Shepherd failed on this host: ${(err as Error).message}`;
      return outcome;
    } finally {
      out.end();
      await session?.close().catch(() => {});
      if (outcome.reason && outcome.state !== 'succeeded') log.system(host, `✗ ${outcome.reason}`);
      await this.deploys.updateHost(row.id, { state: outcome.state, error: outcome.reason, finishedAt: new Date() }).catch(() => {});
      events.publish({ type: 'host', deployId: deploy.id, host, state: outcome.state, error: outcome.reason });
    }
  }

  private async switchBack(row: FullDeploy['hosts'][number], plan: Plan, transport: Transport, log: DeployLog, previous: string | null): Promise<void> {
    const host = row.host;
    let session: Session | undefined;
    try {
      session = await transport.connect(plannedHost(row), plan.connectTimeoutMs);
      const releases = new HostReleases(session, plan.deployTo, plan.stepTimeoutMs);
      const r = await releases.switchBack(previous);
      if (!r.ok) throw new Error(r.reason);
      log.system(host, previous ? `current → releases/${previous} (rolled back)` : 'current removed (there was no release before)');
      await this.deploys.updateHost(row.id, { state: 'rolled_back' });
      this.options.events.publish({ type: 'host', deployId: row.deployId, host, state: 'rolled_back' });
    } catch (err) {
      log.system(host, `✗ could not switch back: ${(err as Error).message}`);
    } finally {
      await session?.close().catch(() => {});
    }
  }
}

/** How long a finished deploy still waits for its commit time (a slow clone records it later, unwaited). */
const COMMIT_TIME_GRACE_MS = 30_000;

/** Resolves when `promise` settles or after `ms`, whichever is first. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Runs fn over items, at most `limit` at once, in order of items. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}

function placeOf(d: Pick<FullDeploy, 'id' | 'provider' | 'room' | 'threadRef'>): DeployPlace {
  return { id: d.id, provider: d.provider, room: d.room, threadRef: d.threadRef };
}

/** A stored host row → how to reach it (the label is `host` or `host:port`). */
function plannedHost(row: { host: string; port: number; user: string | null; stage: number }): PlannedHost {
  let name = row.host.endsWith(`:${row.port}`) ? row.host.slice(0, -`:${row.port}`.length) : row.host;
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  return { label: row.host, host: name, port: row.port, user: row.user ?? undefined, stage: row.stage };
}

function abbreviate(script: string): string {
  const first = script.split('\n')[0] ?? '';
  return first.length > 60 ? `${first.slice(0, 57)}…` : first;
}
