/**
 * The scheduler: what runs where and when. It records deploy requests (the lock taken with the deploy row in
 * one transaction; the rest queue in the database and start in order), claims queued deploys for this
 * instance, heartbeats the ones it runs, interrupts deploys whose owner stopped heartbeating (at start and
 * every interval), and cancels: locally, or through the database for a deploy another instance owns.
 * Each deploy it claims runs as a deploy run (deploy-run.ts). It publishes DeployEvents only; sinks (chat,
 * GitHub, viewer) subscribe in main.ts.
 *
 * Several instances on one database: any of them records a request; whichever claims a queued deploy first
 * runs it (the claim takes the environment's lock row and moves the deploy to running in one transaction,
 * serialised per environment, see store/deploys.ts). Each instance looks at the queue on its own heartbeat, when
 * another instance says (through the notifier) that a deploy ended or was queued, and checks for dead owners
 * four times per interval, so a dead instance's deploys are interrupted about 3 intervals after its last beat.
 *
 *   const scheduler = new Scheduler({ config, store, events, masker, lines, github, gitCacheDir, logger });
 *   await scheduler.recover(); scheduler.start();
 *   const r = await scheduler.request({ app: 'web', environment: 'staging', ref: 'main', sha, requester, provider: 'irc', room });
 *   await scheduler.cancel(r.deploy.id, 'bob');   // 'stopping' | 'dequeued' | 'requested' | ...
 *   await scheduler.shutdown(10_000);             // SIGTERM: no new work, runs stopped, the rest interrupted
 */
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Target } from '../adapters/adapter.js';
import type { Config } from '../config.js';
import { expandHome } from '../config.js';
import type { GitHub } from '../github.js';
import { dataDir } from '../store/db.js';
import type { Deploys, FullDeploy, RequestResult } from '../store/deploys.js';
import { KeyedMutex } from '../keyed-mutex.js';
import type { ApproveResult } from '../store/approvals.js';
import type { Store } from '../store/index.js';
import type { LineSink } from '../store/log-lines.js';
import type { Notifier } from '../store/notify.js';
import type { KnownUser } from '../store/users.js';
import { type DeployRunDeps, endDeploy, runDeploy, within } from './deploy-run.js';
import type { DeployEvents } from './events.js';
import { HostKeys } from './host-keys.js';
import { instanceName } from './instance-name.js';
import { LocalTransport } from './local-transport.js';
import { type DeployLog, LogWriter } from './log-pipeline.js';
import type { Masker } from './mask.js';
import { type Plan, planDeploy } from './plan.js';
import { Revisions } from './source.js';
import { loadNodeSsh, SshTransport } from './ssh-transport.js';
import { OWNED_STATES } from './lifecycle.js';
import type { Transport } from './transport.js';

export { instanceName };

/** Points where a test can hold the scheduler to force an interleaving (a race test's seam). */
export type SeamPoint = 'before-claim' | 'before-cancel-queued';

export interface SchedulerOptions {
  config: Readonly<Config>;
  store: Store;
  events: DeployEvents;
  masker: Masker;
  /** Where log lines are written (a LogLineStore on the same database). */
  lines: LineSink;
  github: GitHub | null;
  /** Where git mirrors for ref lookups live when GitHub is not used. */
  gitCacheDir: string;
  logger: Logger;
  /** This process's id in Deploy.ownerId (default host:pid:random). */
  instanceId?: string;
  /** Heartbeat, recovery and queue look every this many ms (default config heartbeat_interval). */
  heartbeatMs?: number;
  /** How hosts of a plan are reached; default ssh or local per the app's `transport`. */
  transportFor?: (plan: Plan) => Transport;
  /** Where host keys learnt on first use are recorded (default: known_hosts next to the database). */
  knownHostsFile?: string;
  /** The clock for approval windows (default the machine's); tests inject one to expire a window. */
  now?: () => Date;
  /**
   * Where heartbeats and dead-owner checks go (default: `store.deploys`): main.ts gives a store on connections of
   * their own (OpenedDatabase.liveness) so that a busy pool never delays a heartbeat.
   */
  liveness?: Deploys;
  /** Wake-ups from other instances: a deploy ended or was queued there, so the queue may move here. */
  notifier?: Notifier;
  /** Called (and awaited) at the race-prone points; tests hold it to force an order. */
  seam?: (point: SeamPoint, deployId: number) => Promise<void> | void;
}

export interface DeployRequest {
  app: string;
  environment: string;
  ref: string;
  sha: string;
  kind?: 'deploy' | 'rollback';
  /** A rollback names the release to switch back to (as known when asked; the run picks it again at start). */
  releaseId?: string;
  requester: Pick<KnownUser, 'id'>;
  provider: string;
  room: Target;
  force?: boolean;
  /** Shown in the start message: what was skipped or is worth knowing. */
  notes?: string[];
  /** What the approvals gate decided (runGates' `approvals`): the deploy waits for them; absent or null: it does not. */
  approvals?: { needed: number; windowMs: number } | null | undefined;
}

/**
 * stopping: this instance is stopping it; dequeued: it was queued and will not run; requested: another live
 * instance runs it and is asked (through the database) to stop it; already-stopping; finished; unknown.
 */
export type CancelResult = 'stopping' | 'dequeued' | 'requested' | 'already-stopping' | 'finished' | 'unknown';

interface Active {
  id: number;
  controller: AbortController;
  stop: { state: 'cancelled' | 'interrupted'; error: string } | null;
  done: Promise<void>;
  /** Every host switched and the validation window runs: a cancel ends the checks and keeps the release. */
  validating: boolean;
}

/** How long after start() the modules deploys need are loaded (prepare()): past the start's own busy moment. */
const PREPARE_AFTER_MS = 1000;

export class Scheduler {
  readonly revisions: Revisions;
  readonly writer: LogWriter;
  readonly instanceId: string;
  readonly heartbeatMs: number;
  private readonly active = new Map<number, Active>();
  private readonly notes = new Map<number, string[]>();
  /** This process's requests, one at a time per environment: waiting ones must not each hold a pooled connection. */
  private readonly deciding = new KeyedMutex();
  private timer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private offNotifier: (() => void) | undefined;
  private draining: Promise<void> = Promise.resolve();
  private beating: Promise<void> | null = null;
  private recovering: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    this.revisions = new Revisions(options.github, options.gitCacheDir);
    this.writer = new LogWriter(options.lines, options.logger);
    this.instanceId = options.instanceId ?? instanceName();
    this.heartbeatMs = options.heartbeatMs ?? options.config.heartbeat_interval ?? 10_000;
  }

  /**
   * Loads ahead what a deploy of the configured apps needs (the SSH client when an app deploys over SSH, and the
   * log store's writing thread on SQLite: ~100–150 ms of CPU to start, which a deploy would otherwise spend while
   * its hosts connect), so the first deploy after a start does not wait for it: start() does this a moment after
   * the bot is up. Never throws (a module that fails to load fails the deploy that needs it, with its reason).
   */
  async prepare(): Promise<void> {
    this.writer.warm();
    if (Object.values(this.options.config.apps).some((app) => app.transport !== 'local')) await loadNodeSsh().catch(() => undefined);
  }

  private get deploys() {
    return this.options.store.deploys;
  }

  private get liveness(): Deploys {
    return this.options.liveness ?? this.options.store.deploys;
  }

  /** A deploy whose heartbeat is older than this is taken for dead: 3 intervals. */
  get staleMs(): number {
    return 3 * this.heartbeatMs;
  }

  /**
   * Every interval: heartbeat our deploys (and pick up cancels asked of us), then interrupt stale ones and start
   * queued ones. The heartbeat never waits for the queue work (a claim can wait on a busy environment or
   * database): a late heartbeat would let other instances take this one's live deploys for dead.
   */
  start(): void {
    if (this.timer || this.stopped) return;
    setTimeout(() => void this.prepare(), PREPARE_AFTER_MS).unref();
    this.timer = setInterval(() => {
      void this.beat();
      void this.recoverRound();
    }, this.heartbeatMs);
    this.timer.unref();
    // Dead owners are looked for between heartbeats too (one cheap query): found at most a quarter interval late.
    this.watchTimer = setInterval(() => void this.watch(), Math.max(25, Math.floor(this.heartbeatMs / 4)));
    this.watchTimer.unref();
    this.offNotifier ??= this.options.notifier?.listen('deploy', (n) => {
      if (n.origin === this.options.notifier?.origin) return;
      const state = String(n.data.state ?? '');
      // An environment may have come free there, or a deploy was queued there that may start here.
      if (state !== 'running' && state !== 'awaiting_approval') void this.drain();
    });
  }

  /** Between heartbeats: interrupt deploys of dead owners (not while a recovery round runs, which does the same). */
  private async watch(): Promise<void> {
    if (this.recovering || this.stopped) return;
    try {
      if ((await this.interruptStale()).length > 0) await this.drain();
    } catch (err) {
      this.options.logger.debug({ err }, 'stale check failed; next round');
    }
  }

  /** Interrupts dead owners' deploys and frees stranded locks; what it returns means "drain the queue now". */
  private async interruptStale(): Promise<FullDeploy[]> {
    const recovered = await this.liveness.interruptStale(this.staleMs, { self: this.instanceId });
    const freed = await this.liveness.freeStrandedLocks();
    if (freed > 0) {
      this.options.logger.warn({ freed }, 'freed locks still held for deploys that had ended');
      if (recovered.length === 0) await this.drain();
    }
    for (const d of recovered) {
      this.options.events.publish({ type: 'state', deployId: d.id, state: 'interrupted', error: d.error });
      this.options.events.publish({ type: 'ended', deployId: d.id, deploy: d, failedHosts: [], recovered: true });
    }
    return recovered;
  }

  /** One round of heartbeat, then recovery and queue. */
  async tick(): Promise<void> {
    await this.beat();
    await this.recoverRound();
  }

  /** Heartbeat of this instance's deploys (never two at once); acts on cancels asked through the database. */
  private beat(): Promise<void> {
    this.beating ??= (async () => {
      try {
        const asked = await this.liveness.heartbeat(this.instanceId);
        for (const { id, by } of asked) this.cancelLocal(id, by);
        // A deploy another instance took for dead (this one stalled 3 intervals) is no longer ours: stop it.
        const ids = this.running();
        const owned = await this.liveness.ownedRunning(this.instanceId, ids);
        for (const id of ids) {
          const entry = this.active.get(id);
          if (owned.has(id) || !entry || entry.controller.signal.aborted) continue;
          entry.stop = { state: 'interrupted', error: 'taken for dead by another instance' };
          entry.controller.abort();
        }
      } catch (err) {
        this.options.logger.warn({ err }, 'heartbeat failed');
      } finally {
        this.beating = null;
      }
    })();
    return this.beating;
  }

  /** Recovery and queue (never two rounds at once). */
  private recoverRound(): Promise<void> {
    this.recovering ??= (async () => {
      try {
        await this.recover();
      } catch (err) {
        this.options.logger.warn({ err }, 'recovery round failed');
      } finally {
        this.recovering = null;
      }
    })();
    return this.recovering;
  }

  /**
   * Deploys whose owner stopped heartbeating (3 intervals) become interrupted, their locks freed, the end
   * published (the chat sink tells their channel). Then queued deploys may start. Safe beside live instances.
   */
  async recover(): Promise<FullDeploy[]> {
    if (this.stopped) return [];
    const recovered = await this.interruptStale();
    // Approval windows that passed (read from the database, so a restart does not forget them).
    for (const id of await this.options.store.approvals.expire(this.now())) {
      const d = await this.deploys.get(id);
      this.options.events.publish({ type: 'state', deployId: id, state: 'cancelled', error: d?.error ?? null });
      if (d) this.options.events.publish({ type: 'ended', deployId: id, deploy: d, failedHosts: [] });
    }
    await this.drain();
    return recovered;
  }

  /**
   * Records a deploy and starts it, or queues it behind the deploy holding the environment. A lock taken by
   * hand refuses it ('locked', nothing recorded). Throws a user-readable Error for an unknown app/environment
   * or while this instance is stopping.
   */
  async request(input: DeployRequest): Promise<RequestResult> {
    if (this.stopped) throw new Error('Shepherd is stopping: ask again once it is back');
    const plan = planDeploy(this.options.config, input.app, input.environment);
    const current = await this.deploys.current(input.app, input.environment);
    // approvals: the gates decided (src/gates/gates.ts approvalsGate); the window starts now.
    const need = input.approvals;
    const approvals = need && need.needed > 0 ? { needed: need.needed, expiresAt: new Date(this.now().getTime() + need.windowMs) } : undefined;
    const result = await this.deciding.run(input.environment, () =>
      this.deploys.request(
        {
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
          approvals,
        },
        undefined,
        this.instanceId,
      ),
    );
    if (result.outcome !== 'locked') {
      if (input.notes?.length) this.notes.set(result.deploy.id, input.notes);
      const state = result.outcome === 'started' ? 'running' : result.outcome === 'awaiting' ? 'awaiting_approval' : 'queued';
      this.options.events.publish({ type: 'state', deployId: result.deploy.id, state });
    }
    if (result.outcome === 'started') this.launch(result.deploy);
    if (result.outcome === 'queued' && result.deploy.kind === 'rollback') await this.rollbackOverValidation(result.deploy);
    return result;
  }

  /**
   * A rollback asked while a deploy of its environment validates takes precedence: the validation stops (the
   * release stays until the rollback switches it), the lock goes to the rollback queued behind it.
   */
  private async rollbackOverValidation(rollback: FullDeploy): Promise<void> {
    const validating = await this.deploys.validating(rollback.app, rollback.environment);
    if (!validating || validating.id > rollback.id) return;
    this.options.events.publish({
      type: 'note',
      deployId: validating.id,
      text: `⏪ rollback #${rollback.id} by ${rollback.requester.name} takes precedence: the validation of #${validating.id} stops and the rollback runs`,
    });
    await this.cancel(validating.id, `rollback #${rollback.id} by ${rollback.requester.name}`);
  }

  /**
   * Records a release manager's approval (the command checked who may); the last one needed queues the deploy,
   * which then starts as any queued deploy does.
   */
  async approve(id: number, userId: number): Promise<ApproveResult> {
    const r = await this.options.store.approvals.approve(id, userId, this.now());
    if (r.outcome === 'ready') {
      this.options.events.publish({ type: 'state', deployId: id, state: 'queued' });
      await this.drain();
    }
    return r;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /**
   * Stops a running deploy (no new host starts, running steps are killed, switched hosts go back) or drops a
   * queued one. A deploy another instance runs is asked to stop through the database.
   */
  async cancel(id: number, by: string): Promise<CancelResult> {
    if (this.active.has(id)) return this.cancelLocal(id, by);
    let d = await this.deploys.get(id);
    if (!d) return 'unknown';
    if (d.state === 'queued' || d.state === 'awaiting_approval') {
      await this.options.seam?.('before-cancel-queued', id);
      if (await this.deploys.cancelQueued(id, `cancelled by ${by} before it started`)) {
        this.notes.delete(id);
        this.options.events.publish({ type: 'state', deployId: id, state: 'cancelled', error: `cancelled by ${by}` });
        const final = await this.deploys.get(id);
        if (final) this.options.events.publish({ type: 'ended', deployId: id, deploy: final, failedHosts: [] });
        void this.drain();
        return 'dequeued';
      }
      // Lost the race: it started meanwhile (here or elsewhere), or ended. Cancel it where it is now.
      if (this.active.has(id)) return this.cancelLocal(id, by);
      d = await this.deploys.get(id);
      if (!d) return 'unknown';
    }
    if ((OWNED_STATES as readonly string[]).includes(d.state)) {
      if (await this.deploys.requestCancel(id, by)) {
        // Claimed by this instance but not launched yet: the launch sees the request; else the owner's heartbeat does.
        if (d.ownerId === this.instanceId) void this.tick();
        return 'requested';
      }
      const now = (await this.deploys.get(id))?.state;
      return now && (OWNED_STATES as readonly string[]).includes(now) ? 'already-stopping' : 'finished';
    }
    return 'finished';
  }

  private cancelLocal(id: number, by: string): CancelResult {
    const entry = this.active.get(id);
    if (!entry) return 'finished';
    if (entry.controller.signal.aborted) return 'already-stopping';
    entry.stop = { state: 'cancelled', error: `cancelled by ${by}` };
    entry.controller.abort();
    const text = entry.validating
      ? `🛑 stopping the validation of #${id} for ${by}: the new release stays`
      : `🛑 cancelling #${id} for ${by}: no new host starts, running steps are being stopped`;
    this.options.events.publish({ type: 'note', deployId: id, text });
    return 'stopping';
  }

  /** Ids of the deploys this process is running. */
  running(): number[] {
    return [...this.active.keys()];
  }

  /** Resolves when deploy `id` (if this process runs it) has ended. */
  async waitFor(id: number): Promise<void> {
    await this.active.get(id)?.done;
  }

  /** Resolves when nothing runs here, nothing queued can start, and every sink is done (used before exiting). */
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
    await this.options.events.flushed();
  }

  /** Starts queued deploys whose environment is free, oldest first. Serialised: one drain at a time. */
  drain(): Promise<void> {
    this.draining = this.draining.then(async () => {
      if (this.stopped) return;
      try {
        for (const head of await this.deploys.queueHeads()) {
          if (this.active.has(head.id)) continue;
          await this.options.seam?.('before-claim', head.id);
          if (this.stopped) return;
          if (!(await this.deploys.claim(head.id, this.instanceId))) continue;
          const d = await this.deploys.get(head.id);
          if (!d) continue;
          this.options.events.publish({ type: 'state', deployId: d.id, state: 'running' });
          this.launch(d);
        }
      } catch (err) {
        this.options.logger.error({ err }, 'could not start queued deploys');
      }
    });
    return this.draining;
  }

  /**
   * Graceful stop: no new work; every running deploy is stopped as `cancel` stops it (steps killed, switched
   * hosts back) and recorded `interrupted`; what has not ended after `graceMs` is recorded interrupted here
   * (locks freed, end published). Then waits (bounded) for the sinks, e.g. the chat messages, to go out.
   */
  async shutdown(graceMs: number): Promise<FullDeploy[]> {
    this.stopped = true;
    this.stopTimers();
    const error = 'Shepherd was stopped while this deploy ran';
    for (const entry of this.active.values()) {
      if (entry.controller.signal.aborted) continue;
      entry.stop = { state: 'interrupted', error };
      entry.controller.abort();
    }
    await within(Promise.allSettled([...this.active.values()].map((a) => a.done)), graceMs);
    const left = [...this.active.keys()];
    const interrupted = left.length ? await this.deploys.interruptOwned(this.instanceId, left, `${error} (not ended within the grace period)`) : [];
    for (const d of interrupted) {
      this.options.events.publish({ type: 'state', deployId: d.id, state: 'interrupted', error: d.error });
      this.options.events.publish({ type: 'ended', deployId: d.id, deploy: d, failedHosts: [] });
    }
    await within(this.writer.drain(), graceMs);
    await within(this.options.events.flushed(), graceMs);
    return interrupted;
  }

  /** Stops the timers; running deploys go on until they end (see idle() and shutdown()). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTimers();
    await this.writer.drain();
  }

  private stopTimers(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.timer = undefined;
    this.watchTimer = undefined;
    this.offNotifier?.();
    this.offNotifier = undefined;
  }

  private launch(deploy: FullDeploy): void {
    const entry: Active = { id: deploy.id, controller: new AbortController(), stop: null, done: Promise.resolve(), validating: false };
    // Every running step of every host listens on this one signal: `concurrency` of them, possibly hundreds.
    setMaxListeners(0, entry.controller.signal);
    this.active.set(deploy.id, entry);
    // A cancel that reached the database between the claim and now.
    if (deploy.cancelRequestedAt) this.cancelLocal(deploy.id, deploy.cancelRequestedBy ?? 'someone');
    const notes = this.notes.get(deploy.id) ?? [];
    entry.done = runDeploy(this.runDeps(), {
      deploy,
      signal: entry.controller.signal,
      stopped: () => entry.stop ?? { state: 'cancelled', error: 'cancelled by someone' },
      notes,
      onValidating: () => {
        entry.validating = true;
      },
    })
      .catch(async (err) => {
        this.options.logger.error({ err, deployId: deploy.id }, 'deploy crashed');
        await endDeploy(this.runDeps(), deploy, 'failed', `Shepherd failed: ${(err as Error).message}`, []).catch(() => {});
      })
      .finally(() => {
        this.active.delete(deploy.id);
        this.notes.delete(deploy.id);
        void this.drain();
      });
  }

  private runDeps(): DeployRunDeps {
    return {
      config: this.options.config,
      store: this.options.store,
      events: this.options.events,
      masker: this.options.masker,
      writer: this.writer,
      revisions: this.revisions,
      logger: this.options.logger,
      owner: this.instanceId,
      transportFor: (plan, log) => this.transportFor(plan, log),
    };
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
}
