/**
 * Deploys in the database: the deploy row, its hosts, its log lines, and the queue. Asking for a deploy and
 * taking the environment's lock happen in one transaction (Shipit #693: check-then-write gave double deploys);
 * the unique (app, environment) index on Lock backs it up across processes.
 *
 *   const r = await deploys.request({ app: 'web', environment: 'staging', ref: 'main', sha, ... });
 *   if (r.outcome === 'queued') reply(`queued behind #${r.ahead.id}`);
 */
import type { Db } from './db.js';
import type { HeldLock } from './locks.js';
import { ALL_APPS } from './locks.js';
import { serializeEnvironment } from './serialize.js';
import type { DeployState, HostState } from '../deploy/events.js';

// The state names are the event stream's: one definition for the engine, the store and the viewer.
export type { DeployState, HostState };

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
  constructor(private readonly db: Db) {}

  /**
   * Records a deploy and, in the same transaction, takes the environment's lock when it is free and nobody is
   * queued before it. Held by another deploy → queued. Held by hand → nothing recorded, 'locked'.
   */
  async request(input: NewDeploy, now = new Date()): Promise<RequestResult> {
    let result: { outcome: 'started' | 'queued' | 'locked'; id?: number; aheadId?: number; position?: number; held?: HeldLock };
    try {
      result = await this.db.$transaction(async (tx) => {
        await serializeEnvironment(this.db, tx, input.environment);
        const held = await tx.lock.findFirst({ where: conflicts(input.app, input.environment), include: includeHolder, orderBy: { id: 'asc' } });
        if (held && held.deployId === null) return { outcome: 'locked' as const, held };
        const created = await tx.deploy.create({
          data: {
            app: input.app,
            environment: input.environment,
            ref: input.ref,
            sha: input.sha,
            previousSha: input.previousSha ?? null,
            kind: input.kind,
            state: 'queued',
            requesterId: input.requesterId,
            provider: input.provider,
            room: input.room,
            threadRef: input.threadRef ?? null,
            force: input.force ?? false,
            releaseId: input.releaseId ?? '',
            createdAt: now,
            hosts: { create: input.hosts.map((h) => ({ host: h.label, port: h.port, user: h.user ?? null, stage: h.stage, state: 'pending' })) },
          },
        });
        if (!input.releaseId) await tx.deploy.update({ where: { id: created.id }, data: { releaseId: `${releaseStamp(now)}-${created.id}` } });
        const waiting = await tx.deploy.findMany({
          where: { app: input.app, environment: input.environment, state: 'queued', id: { lt: created.id } },
          orderBy: { id: 'desc' },
          select: { id: true },
        });
        if (held || waiting.length > 0) {
          return { outcome: 'queued' as const, id: created.id, aheadId: waiting[0]?.id ?? (held?.deployId as number), position: waiting.length + 1 };
        }
        await tx.lock.create({ data: { app: input.app, environment: input.environment, holderId: input.requesterId, deployId: created.id } });
        await tx.deploy.update({ where: { id: created.id }, data: { state: 'running', startedAt: now, heartbeatAt: now } });
        return { outcome: 'started' as const, id: created.id };
      });
    } catch (err) {
      // Another process took the lock between our read and write: the unique index refused the second
      // lock row and the whole transaction (deploy row included) rolled back. Asking again queues it.
      if ((err as { code?: string }).code === 'P2002') return this.request(input, now);
      throw err;
    }
    if (result.outcome === 'locked') return { outcome: 'locked', held: result.held as HeldLock };
    const deploy = (await this.get(result.id as number)) as FullDeploy;
    if (result.outcome === 'started') return { outcome: 'started', deploy };
    const ahead = (await this.get(result.aheadId as number)) as FullDeploy;
    return { outcome: 'queued', deploy, ahead, position: result.position as number };
  }

  /**
   * Starts a queued deploy if it is first in line for its environment and the lock is free: takes the lock
   * and marks it running in one transaction. false when it has to keep waiting.
   */
  async startQueued(id: number, now = new Date()): Promise<boolean> {
    try {
      return await this.db.$transaction(async (tx) => {
        const deploy = await tx.deploy.findUnique({ where: { id } });
        if (deploy?.state !== 'queued') return false;
        await serializeEnvironment(this.db, tx, deploy.environment);
        const earlier = await tx.deploy.count({ where: { app: deploy.app, environment: deploy.environment, state: 'queued', id: { lt: id } } });
        if (earlier > 0) return false;
        const held = await tx.lock.findFirst({ where: conflicts(deploy.app, deploy.environment) });
        if (held) return false;
        await tx.lock.create({ data: { app: deploy.app, environment: deploy.environment, holderId: deploy.requesterId, deployId: id } });
        const { count } = await tx.deploy.updateMany({ where: { id, state: 'queued' }, data: { state: 'running', startedAt: now, heartbeatAt: now } });
        return count === 1;
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') return false;
      throw err;
    }
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

  /** Ends a deploy (only from queued/running, so a late writer cannot resurrect a finished one). */
  async finish(id: number, state: Exclude<DeployState, 'queued' | 'running'>, error: string | null, now = new Date()): Promise<boolean> {
    const { count } = await this.db.deploy.updateMany({ where: { id, state: { in: ['queued', 'running'] } }, data: { state, error, finishedAt: now } });
    return count === 1;
  }

  async setGithubDeployment(id: number, githubDeploymentId: number): Promise<void> {
    await this.db.deploy.update({ where: { id }, data: { githubDeploymentId } });
  }

  async setPreviousSha(id: number, previousSha: string | null): Promise<void> {
    await this.db.deploy.update({ where: { id }, data: { previousSha } });
  }

  /** When the deployed commit was made (its committer date): where DORA lead time starts. */
  async setCommitAt(id: number, commitAt: Date): Promise<void> {
    await this.db.deploy.update({ where: { id }, data: { commitAt } });
  }

  async updateHost(
    hostId: number,
    data: Partial<{ state: HostState; error: string | null; previousRelease: string | null; startedAt: Date; finishedAt: Date }>,
  ): Promise<void> {
    await this.db.deployHost.update({ where: { id: hostId }, data });
  }

  /** Marks every host still pending (never started) with `state`. */
  async skipPendingHosts(deployId: number, state: HostState = 'skipped'): Promise<void> {
    await this.db.deployHost.updateMany({ where: { deployId, state: 'pending' }, data: { state } });
  }

  async heartbeat(ids: number[], now = new Date()): Promise<void> {
    if (ids.length === 0) return;
    await this.db.deploy.updateMany({ where: { id: { in: ids }, state: 'running' }, data: { heartbeatAt: now } });
  }

  /**
   * At start: deploys left running by a process that died become interrupted, their hosts that were mid-way
   * too, and their locks are freed. Returns them so their channels can be told.
   */
  async recoverRunning(now = new Date()): Promise<FullDeploy[]> {
    const running = await this.db.deploy.findMany({ where: { state: 'running' }, include: full });
    const recovered: FullDeploy[] = [];
    for (const d of running) {
      await this.db.$transaction([
        this.db.deploy.updateMany({
          where: { id: d.id, state: 'running' },
          data: { state: 'interrupted', finishedAt: now, error: 'the bot stopped while this deploy ran' },
        }),
        this.db.deployHost.updateMany({ where: { deployId: d.id, state: { in: ['pending', 'running'] } }, data: { state: 'cancelled', error: 'interrupted' } }),
        this.db.lock.deleteMany({ where: { deployId: d.id } }),
      ]);
      recovered.push({ ...d, state: 'interrupted', finishedAt: now });
    }
    return recovered;
  }

  async lines(deployId: number, options: { afterSeq?: number; host?: string; limit?: number } = {}) {
    return this.db.logLine.findMany({
      where: { deployId, seq: { gt: options.afterSeq ?? 0 }, ...(options.host !== undefined ? { host: options.host } : {}) },
      orderBy: { seq: 'asc' },
      take: options.limit ?? 10_000,
    });
  }

  async lineCount(deployId: number): Promise<number> {
    return this.db.logLine.count({ where: { deployId } });
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
    return this.db.deploy.findMany({ where: { state: { in: ['running', 'queued'] } }, orderBy: { id: 'asc' }, include: full });
  }

  /** The deploy whose release is live in app/environment now: the latest that succeeded. */
  async current(app: string, environment: string): Promise<DeployRow | null> {
    return this.db.deploy.findFirst({ where: { app, environment, state: 'succeeded' }, orderBy: { id: 'desc' } });
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
