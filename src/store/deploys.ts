/**
 * Deploys in the database: the deploy row, its hosts, its log lines, and the queue. Asking for a deploy and
 * taking the environment's lock happen in one transaction (Shipit #693: check-then-write gave double deploys);
 * the unique (app, environment) index on Lock backs it up across processes.
 *
 *   const r = await deploys.request({ app: 'web', environment: 'staging', ref: 'main', sha, ... });
 *   if (r.outcome === 'queued') reply(`queued behind #${r.ahead.id}`);
 */
import { type Db, retryBusy } from './db.js';
import { inList, queryRows, sql } from './sql.js';
import type { HeldLock } from './locks.js';
import { ALL_APPS } from './locks.js';
import { LogLines } from './log-lines.js';
import {
  type DeployState,
  type FinalDeployState,
  fromStates,
  type HostState,
  hostFromStates,
  OWNED_STATES,
  type ValidationOutcome,
} from '../deploy/lifecycle.js';
import { type MaskText, maskPatterns } from '../deploy/mask.js';
import { serializeEnvironment, tryEnvironment } from './serialize.js';

// The state names are the lifecycle table's: one definition for the engine, the store and the viewer.
export type { DeployState, FinalDeployState, HostState };

export interface NewDeploy {
  app: string;
  environment: string;
  ref: string;
  sha: string;
  previousSha?: string | null | undefined;
  kind: 'deploy' | 'rollback';
  requesterId: number;
  provider: string;
  room: string;
  threadRef?: string | null | undefined;
  force?: boolean | undefined;
  /** Set for a rollback (the release to switch back to); a deploy gets `<UTC timestamp>-<id>`. */
  releaseId?: string | undefined;
  hosts: { label: string; port: number; user?: string | undefined; stage: number }[];
  /** `approvals: N` of the environment: the deploy waits (awaiting_approval, no lock) until N approve or it expires. */
  approvals?: { needed: number; expiresAt: Date } | undefined;
}

const person = { select: { id: true, name: true, githubLogin: true, identities: { select: { provider: true, externalId: true, handle: true } } } } as const;
const full = { hosts: { orderBy: { id: 'asc' } }, requester: person } as const;

export type DeployRow = NonNullable<Awaited<ReturnType<Db['deploy']['findUnique']>>>;
export type DeployHostRow = NonNullable<Awaited<ReturnType<Db['deployHost']['findUnique']>>>;
export type FullDeploy = DeployRow & {
  hosts: DeployHostRow[];
  requester: { id: number; name: string; githubLogin: string | null; identities: { provider: string; externalId: string; handle: string }[] };
};

export type RequestResult =
  | { outcome: 'started'; deploy: FullDeploy }
  | { outcome: 'queued'; deploy: FullDeploy; ahead: FullDeploy; position: number }
  /** Waits for approvals (holds no lock yet); `approve deploy <id>` queues it. */
  | { outcome: 'awaiting'; deploy: FullDeploy }
  /** A lock taken by hand blocks deploys: nothing was recorded. */
  | { outcome: 'locked'; held: HeldLock };

export interface StoredLine {
  deployId: number;
  seq: number;
  host: string | null;
  stream: string;
  text: string;
  at: Date;
}

const includeHolder = { holder: { select: { id: true, name: true, identities: { select: { provider: true, externalId: true, handle: true } } } } } as const;

function conflicts(app: string, environment: string) {
  return { environment, app: { in: [app, ALL_APPS] } };
}

/** '20261122T101530Z' style, but only digits so release names sort by time: '20261122101530'. */
export function releaseStamp(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export class Deploys {
  /** `mask`: every error text is masked here, on its way into the database (it quotes failing commands). */
  private readonly logs: LogLines;

  constructor(
    private readonly db: Db,
    private readonly mask: MaskText = maskPatterns,
  ) {
    this.logs = new LogLines(db);
  }

  /**
   * Records a deploy and, in the same transaction, takes the environment's lock when it is free and nobody is
   * queued before it. Held by another deploy → queued. Held by hand → nothing recorded, 'locked'.
   * `now` (default: the clock) is when it was asked; when it starts, startedAt is read once the lock is seen free.
   */
  async request(input: NewDeploy, now?: Date, owner: string | null = null): Promise<RequestResult> {
    const asked = now ?? new Date();
    let result: { outcome: 'started' | 'queued' | 'locked' | 'awaiting'; id?: number; aheadId?: number; position?: number; held?: HeldLock };
    try {
      result = await retryBusy(() =>
        this.db.$transaction(async (tx) => {
          await serializeEnvironment(this.db, tx, input.environment);
          const held = await tx.lock.findFirst({ where: conflicts(input.app, input.environment), include: includeHolder, orderBy: { id: 'asc' } });
          if (held && held.deployId === null) return { outcome: 'locked' as const, held };
          const awaiting = (input.approvals?.needed ?? 0) > 0;
          const created = await tx.deploy.create({
            data: {
              app: input.app,
              environment: input.environment,
              ref: input.ref,
              sha: input.sha,
              previousSha: input.previousSha ?? null,
              kind: input.kind,
              state: awaiting ? 'awaiting_approval' : 'queued',
              approvalsNeeded: awaiting ? (input.approvals?.needed ?? 0) : 0,
              approvalExpiresAt: awaiting ? (input.approvals?.expiresAt ?? null) : null,
              requesterId: input.requesterId,
              provider: input.provider,
              room: input.room,
              threadRef: input.threadRef ?? null,
              force: input.force ?? false,
              releaseId: input.releaseId ?? '',
              createdAt: asked,
              hosts: { create: input.hosts.map((h) => ({ host: h.label, port: h.port, user: h.user ?? null, stage: h.stage, state: 'pending' })) },
            },
          });
          if (!input.releaseId) await tx.deploy.update({ where: { id: created.id }, data: { releaseId: `${releaseStamp(asked)}-${created.id}` } });
          if (awaiting) return { outcome: 'awaiting' as const, id: created.id };
          const waiting = await tx.deploy.findMany({
            where: { app: input.app, environment: input.environment, state: 'queued', id: { lt: created.id } },
            orderBy: { id: 'desc' },
            select: { id: true },
          });
          if (held || waiting.length > 0) {
            return { outcome: 'queued' as const, id: created.id, aheadId: waiting[0]?.id ?? (held?.deployId as number), position: waiting.length + 1 };
          }
          await tx.lock.create({ data: { app: input.app, environment: input.environment, holderId: input.requesterId, deployId: created.id } });
          // Read the clock now, not when asked: waiting for the transaction (a connection, the environment's
          // turn) can outlast the deploy before, and a start must never predate the previous finish.
          const startedAt = now ?? new Date();
          await tx.deploy.updateMany({
            where: { id: created.id, state: { in: fromStates('running') } },
            data: { state: 'running', startedAt, heartbeatAt: startedAt, ownerId: owner },
          });
          return { outcome: 'started' as const, id: created.id };
        }),
      );
    } catch (err) {
      // Another process took the lock between our read and write: the unique index refused the second
      // lock row and the whole transaction (deploy row included) rolled back. Asking again queues it.
      if ((err as { code?: string }).code === 'P2002') return this.request(input, now, owner);
      throw err;
    }
    if (result.outcome === 'locked') return { outcome: 'locked', held: result.held as HeldLock };
    const deploy = (await this.get(result.id as number)) as FullDeploy;
    if (result.outcome === 'started') return { outcome: 'started', deploy };
    if (result.outcome === 'awaiting') return { outcome: 'awaiting', deploy };
    const ahead = (await this.get(result.aheadId as number)) as FullDeploy;
    return { outcome: 'queued', deploy, ahead, position: result.position as number };
  }

  /**
   * Claims a queued deploy for instance `owner` if it is first in line for its environment and the lock is
   * free: takes the lock, marks it running and sets its owner and heartbeat in one transaction, under the
   * environment's advisory lock (taken without waiting: busy means someone else decides it now), so of several
   * instances draining the queue at once exactly one runs it. false when it
   * has to keep waiting, or lost the race (cancelled meanwhile, claimed by another instance). startedAt is
   * `now`, by default the clock read once the lock is seen free.
   */
  async claim(id: number, owner: string, now?: Date): Promise<boolean> {
    try {
      return await retryBusy(() =>
        this.db.$transaction(async (tx) => {
          const deploy = await tx.deploy.findUnique({ where: { id } });
          if (deploy?.state !== 'queued') return false;
          // Another instance (or a request) is deciding this environment now: leave it; whoever ends the
          // deploy ahead, or the next heartbeat, looks at the queue again.
          if (!(await tryEnvironment(this.db, tx, deploy.environment))) return false;
          const earlier = await tx.deploy.count({ where: { app: deploy.app, environment: deploy.environment, state: 'queued', id: { lt: id } } });
          if (earlier > 0) return false;
          const held = await tx.lock.findFirst({ where: conflicts(deploy.app, deploy.environment) });
          if (held) return false;
          // The clock is read here, not when claim() was called: the transaction may have waited (for a
          // connection, for the environment's turn) while the deploy before finished.
          const startedAt = now ?? new Date();
          const { count } = await tx.deploy.updateMany({
            where: { id, state: { in: fromStates('running') } },
            data: { state: 'running', startedAt, heartbeatAt: startedAt, ownerId: owner },
          });
          if (count !== 1) return false;
          await tx.lock.create({ data: { app: deploy.app, environment: deploy.environment, holderId: deploy.requesterId, deployId: id } });
          return true;
        }),
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') return false;
      throw err;
    }
  }

  /** Claims for an anonymous owner (tests and tools that run no heartbeat). */
  async startQueued(id: number, now?: Date): Promise<boolean> {
    return this.claim(id, 'unowned', now);
  }

  async get(id: number): Promise<FullDeploy | null> {
    return this.db.deploy.findUnique({ where: { id }, include: full });
  }

  /** The oldest queued deploy of each (app, environment) that has one. */
  async queueHeads(): Promise<DeployRow[]> {
    const queued = await this.db.deploy.findMany({ where: { state: 'queued' }, orderBy: { id: 'asc' } });
    const seen = new Set<string>();
    return queued.filter((d) => {
      const key = `${d.app}\0${d.environment}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  /**
   * Ends a deploy, only from a state the lifecycle allows (queued → cancelled; running → any end) and, given
   * `owner`, only while that instance still owns it. false: someone else moved it first (e.g. recovery
   * interrupted it); the caller must not act as if it had ended it.
   */
  async finish(
    id: number,
    state: FinalDeployState,
    error: string | null,
    options: { owner?: string; now?: Date; validation?: ValidationOutcome } = {},
  ): Promise<boolean> {
    return (await this.end(id, state, error, options)).won;
  }

  /**
   * finish() and the deploy's lock in one transaction: freed, or with `keepLock` turned into a lock by hand with
   * that reason (lock_after_rollback). One write, so no stop between the two (a SIGKILL, a crash) can leave an
   * ended deploy holding its environment's lock, which nothing would free and the queue would wait on for ever.
   * `keptLock`: the lock was kept (false when the deploy held none any more).
   *
   *   await deploys.end(12, 'succeeded', null, { owner, keepLock: 'rolled back by alice: unlock when fixed' });
   */
  async end(
    id: number,
    state: FinalDeployState,
    error: string | null,
    options: { owner?: string; now?: Date; validation?: ValidationOutcome; keepLock?: string } = {},
  ): Promise<{ won: boolean; keptLock: boolean }> {
    const now = options.now ?? new Date();
    const keepLock = options.keepLock;
    return retryBusy(() =>
      this.db.$transaction(async (tx) => {
        const { count } = await tx.deploy.updateMany({
          where: { id, state: { in: fromStates(state) }, ...(options.owner ? { ownerId: options.owner } : {}) },
          data: { state, error: error && this.mask(error), finishedAt: now, ...(options.validation ? { validation: options.validation } : {}) },
        });
        if (count !== 1) return { won: false, keptLock: false };
        if (keepLock !== undefined) {
          const kept = await tx.lock.updateMany({ where: { deployId: id }, data: { deployId: null, reason: this.mask(keepLock), createdAt: now } });
          return { won: true, keptLock: kept.count > 0 };
        }
        await tx.lock.deleteMany({ where: { deployId: id } });
        return { won: true, keptLock: false };
      }),
    );
  }

  /**
   * running → validating (every host switched; the checks begin), while `owner` still owns it. false: it was
   * ended or taken elsewhere meanwhile.
   */
  async startValidation(id: number, owner: string, now = new Date()): Promise<boolean> {
    const { count } = await this.db.deploy.updateMany({
      where: { id, state: { in: fromStates('validating') }, ownerId: owner },
      data: { state: 'validating', validationStartedAt: now },
    });
    return count === 1;
  }

  /**
   * Drops a queued deploy: queued → cancelled (only from queued: a deploy claimed meanwhile is not touched),
   * its hosts cancelled. false when it was no longer queued.
   */
  async cancelQueued(id: number, error: string, now = new Date()): Promise<boolean> {
    return retryBusy(() =>
      this.db.$transaction(async (tx) => {
        // A deploy awaiting approval has not started either: it is dropped the same way.
        const { count } = await tx.deploy.updateMany({
          where: { id, state: { in: ['queued', 'awaiting_approval'] } },
          data: { state: 'cancelled', error, finishedAt: now },
        });
        if (count !== 1) return false;
        await tx.deployHost.updateMany({ where: { deployId: id, state: { in: hostFromStates('cancelled') } }, data: { state: 'cancelled' } });
        return true;
      }),
    );
  }

  /** Records a cancel for the instance that owns running deploy `id` (it acts on its next heartbeat). */
  async requestCancel(id: number, by: string, now = new Date()): Promise<boolean> {
    const { count } = await this.db.deploy.updateMany({
      where: { id, state: { in: [...OWNED_STATES] }, cancelRequestedAt: null },
      data: { cancelRequestedAt: now, cancelRequestedBy: by },
    });
    return count === 1;
  }

  /** GitHub refused the final deployment status for good: the page and API say so. */
  async markGithubNotUpdated(id: number): Promise<void> {
    await this.db.deploy.updateMany({ where: { id }, data: { githubNotUpdated: true } });
  }

  async setGithubDeployment(id: number, githubDeploymentId: number): Promise<void> {
    await this.db.deploy.update({ where: { id }, data: { githubDeploymentId } });
  }

  /** A rollback that starts later than it was asked for switches to what is the previous release now. */
  async retarget(id: number, target: { ref: string; sha: string; releaseId: string }): Promise<boolean> {
    const { count } = await this.db.deploy.updateMany({ where: { id, state: 'running', kind: 'rollback' }, data: target });
    return count === 1;
  }

  async setPreviousSha(id: number, previousSha: string | null): Promise<void> {
    await this.db.deploy.update({ where: { id }, data: { previousSha } });
  }

  /** When the deployed commit was made (its committer date): where DORA lead time starts. */
  async setCommitAt(id: number, commitAt: Date): Promise<void> {
    await this.db.deploy.update({ where: { id }, data: { commitAt } });
  }

  /**
   * Updates a host row; a state change only from a state the host lifecycle allows. false when the state
   * change lost (the host had moved on, e.g. recovery cancelled it).
   */
  async updateHost(
    hostId: number,
    data: Partial<{ state: HostState; error: string | null; previousRelease: string | null; startedAt: Date; finishedAt: Date }>,
  ): Promise<boolean> {
    const { count } = await this.db.deployHost.updateMany({
      where: { id: hostId, ...(data.state ? { state: { in: hostFromStates(data.state) } } : {}) },
      data: data.error ? { ...data, error: this.mask(data.error) } : data,
    });
    return count === 1;
  }

  /** Marks every host still pending (never started) with `state`. */
  async skipPendingHosts(deployId: number, state: 'skipped' | 'cancelled' = 'skipped'): Promise<void> {
    await this.db.deployHost.updateMany({ where: { deployId, state: 'pending' }, data: { state } });
  }

  /**
   * Instance `owner` is alive: its running deploys' heartbeat ← now. Returns the ids of its deploys that
   * another instance asked to cancel, with who asked.
   */
  async heartbeat(owner: string, now = new Date()): Promise<{ id: number; by: string }[]> {
    await this.db.deploy.updateMany({ where: { ownerId: owner, state: { in: [...OWNED_STATES] } }, data: { heartbeatAt: now } });
    const asked = await this.db.deploy.findMany({
      where: { ownerId: owner, state: { in: [...OWNED_STATES] }, cancelRequestedAt: { not: null } },
      select: { id: true, cancelRequestedBy: true },
    });
    return asked.map((d) => ({ id: d.id, by: d.cancelRequestedBy ?? 'someone' }));
  }

  /** Of `ids`, the ones still running under `owner` (the others were ended elsewhere, e.g. found stale). */
  async ownedRunning(owner: string, ids: number[]): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.deploy.findMany({ where: { id: { in: ids }, state: { in: [...OWNED_STATES] }, ownerId: owner }, select: { id: true } });
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Deploys whose owner stopped heartbeating (heartbeat older than `staleMs`) become interrupted, their hosts
   * that were mid-way cancelled and their locks freed, each in one transaction that only wins while the
   * heartbeat is still stale (an owner that just heartbeated keeps its deploy). Returns the ones it marked.
   */
  async interruptStale(staleMs: number, options: { now?: Date; error?: string; self?: string } = {}): Promise<FullDeploy[]> {
    const now = options.now ?? new Date();
    const error = options.error ?? 'the bot stopped while this deploy ran';
    const cutoff = new Date(now.getTime() - staleMs);
    // The caller's own deploys are alive while it runs them, however late a busy event loop heartbeats.
    const notSelf = options.self ? [{ OR: [{ ownerId: null }, { ownerId: { not: options.self } }] }] : [];
    const stale = { state: { in: fromStates('interrupted') }, AND: [{ OR: [{ heartbeatAt: { lt: cutoff } }, { heartbeatAt: null }] }, ...notSelf] };
    const candidates = await this.db.deploy.findMany({ where: stale, select: { id: true } });
    return this.interrupt(
      candidates.map((c) => c.id),
      stale,
      error,
      now,
    );
  }

  /**
   * Frees locks still held for deploys that have ended. end() makes the final state and the lock one write, but a
   * database written by an older version (the state, then the lock, in two writes) can hold such a lock after a
   * stop between the two, and nothing else would ever free it. Returns how many were freed.
   */
  async freeStrandedLocks(): Promise<number> {
    // One joined read, run every quarter heartbeat: usually no row (a running deploy's lock is not stranded).
    const stranded = await queryRows<{ deployId: number }>(
      this.db,
      sql`SELECT l."deployId" FROM "Lock" l LEFT JOIN "Deploy" d ON d."id" = l."deployId"
          WHERE l."deployId" IS NOT NULL AND (d."id" IS NULL OR d."state" NOT IN (${inList([...OWNED_STATES])}))`,
    );
    if (stranded.length === 0) return 0;
    // An ended deploy never runs again: its lock cannot become live between the read and the delete.
    const { count } = await this.db.lock.deleteMany({ where: { deployId: { in: stranded.map((l) => Number(l.deployId)) } } });
    return count;
  }

  /** This instance gives up its own running deploys (graceful stop): interrupted, hosts cancelled, locks freed. */
  async interruptOwned(owner: string, ids: number[], error: string, now = new Date()): Promise<FullDeploy[]> {
    return this.interrupt(ids, { state: { in: fromStates('interrupted') }, ownerId: owner }, error, now);
  }

  private async interrupt(ids: number[], condition: object, error: string, now: Date): Promise<FullDeploy[]> {
    const done: FullDeploy[] = [];
    for (const id of ids) {
      const won = await retryBusy(() =>
        this.db.$transaction(async (tx) => {
          const { count } = await tx.deploy.updateMany({ where: { id, ...condition }, data: { state: 'interrupted', finishedAt: now, error } });
          if (count !== 1) return false;
          await tx.deployHost.updateMany({
            where: { deployId: id, state: { in: hostFromStates('cancelled') } },
            data: { state: 'cancelled', error: 'interrupted' },
          });
          await tx.lock.deleteMany({ where: { deployId: id } });
          return true;
        }),
      );
      const d = won ? await this.get(id) : null;
      if (d) done.push(d);
    }
    return done;
  }

  /** The deploy's stored lines after `afterSeq` (one host's with `host`), at most `limit`. */
  async lines(deployId: number, options: { afterSeq?: number; host?: string; limit?: number } = {}): Promise<StoredLine[]> {
    const rows = await this.logs.page(deployId, { after: options.afterSeq ?? 0, limit: options.limit ?? 10_000, host: options.host });
    return rows.map((r) => ({ deployId, ...r }));
  }

  async lineCount(deployId: number): Promise<number> {
    return this.logs.count(deployId);
  }

  async recent(filter: { app?: string | undefined; environment?: string | undefined; limit?: number }): Promise<FullDeploy[]> {
    return this.db.deploy.findMany({
      where: { ...(filter.app ? { app: filter.app } : {}), ...(filter.environment ? { environment: filter.environment } : {}) },
      orderBy: { id: 'desc' },
      take: filter.limit ?? 10,
      include: full,
    });
  }

  async active(): Promise<FullDeploy[]> {
    const states = [...OWNED_STATES, 'queued', 'awaiting_approval'];
    // Usually there are none (`status` asks on every call): one indexed read says so before Prisma loads
    // deploys with their hosts and requesters in four statements.
    const any = await queryRows(this.db, sql`SELECT "id" FROM "Deploy" WHERE "state" IN (${inList(states)}) LIMIT 1`);
    if (any.length === 0) return [];
    return this.db.deploy.findMany({ where: { state: { in: states } }, orderBy: { id: 'asc' }, include: full });
  }

  /**
   * The deploy whose release is live in app/environment now: the latest that succeeded, or one whose hosts
   * all switched and were not switched back: validating now, or interrupted while it validated (hosts are
   * left as they are then).
   */
  async current(app: string, environment: string): Promise<DeployRow | null> {
    return this.db.deploy.findFirst({
      where: { app, environment, OR: [{ state: 'succeeded' }, { state: { in: ['validating', 'interrupted'] }, validationStartedAt: { not: null } }] },
      orderBy: { id: 'desc' },
    });
  }

  /** The deploy validating in app/environment now, if any (a rollback asked meanwhile takes precedence over it). */
  async validating(app: string, environment: string): Promise<DeployRow | null> {
    return this.db.deploy.findFirst({ where: { app, environment, state: 'validating' }, orderBy: { id: 'desc' } });
  }

  /**
   * What `rollback` switches to: the newest succeeded deploy (not a rollback) older than the deploy that built
   * the live release, with a different release. null when there is nothing to go back to.
   */
  async rollbackTarget(app: string, environment: string): Promise<{ current: DeployRow; target: DeployRow } | null> {
    const current = await this.current(app, environment);
    if (!current) return null;
    // A rollback's release was built by an earlier deploy: go back from that one.
    const builder =
      current.kind === 'rollback'
        ? ((await this.db.deploy.findFirst({ where: { app, environment, kind: 'deploy', releaseId: current.releaseId }, orderBy: { id: 'asc' } })) ?? current)
        : current;
    const target = await this.db.deploy.findFirst({
      where: { app, environment, state: 'succeeded', kind: 'deploy', id: { lt: builder.id }, releaseId: { not: current.releaseId } },
      orderBy: { id: 'desc' },
    });
    return target ? { current, target } : null;
  }
}
