/**
 * Deploy history for viewer tests, written with the real Prisma client, and a stand-in for a running deploy
 * that behaves like the engine towards the viewer: every line is published on DeployEvents first and stored
 * as a LogLine row in a batch a little later.
 *
 *   const d = await seedDeploy(store, { state: 'running', hosts: ['web-1', 'web-2'] });
 *   const run = new SimulatedRun(store, events, d.id);
 *   run.line('web-1', 'npm ci'); await run.flush();
 */
import type { DeployEvents, LogStream } from '../../src/deploy/events.js';
import type { Store } from '../../src/store/index.js';
import { toChunks } from '../../src/store/log-lines.js';
import { TEST_DB } from '../support/db.js';

export interface SeedOptions {
  app?: string;
  environment?: string;
  ref?: string;
  sha?: string;
  state?: string;
  kind?: string;
  requester?: string;
  hosts?: string[];
  hostState?: string;
  createdAt?: Date;
  startedAt?: Date | null;
  finishedAt?: Date | null;
  commitAt?: Date | null;
  error?: string | null;
}

let userSeq = 0;

export async function seedDeploy(store: Store, o: SeedOptions = {}) {
  const requester = await store.users.identify({ provider: 'irc', id: o.requester ?? 'alice', handle: o.requester ?? 'alice' });
  const createdAt = o.createdAt ?? new Date();
  const deploy = await store.db.deploy.create({
    data: {
      app: o.app ?? 'web',
      environment: o.environment ?? 'staging',
      ref: o.ref ?? 'main',
      sha: o.sha ?? 'a'.repeat(40),
      state: o.state ?? 'running',
      kind: o.kind ?? 'deploy',
      requesterId: requester.id,
      room: '#deploys',
      releaseId: `r${Date.now()}${++userSeq}`,
      error: o.error ?? null,
      createdAt,
      startedAt: o.startedAt === undefined ? createdAt : o.startedAt,
      finishedAt: o.finishedAt ?? null,
      commitAt: o.commitAt ?? null,
    },
  });
  for (const [i, host] of (o.hosts ?? ['web-1', 'web-2']).entries()) {
    await store.db.deployHost.create({
      data: {
        deployId: deploy.id,
        host,
        port: 22,
        stage: i === 0 ? 0 : 1,
        state: o.hostState ?? (o.state === 'succeeded' ? 'succeeded' : 'running'),
        startedAt: createdAt,
      },
    });
  }
  return deploy;
}

/**
 * Stores `count` lines at once (seq 1..count), hosts in turn, for big-log tests. Multi-row INSERTs: Prisma's
 * createMany takes ~15 s for 100k rows here, this takes a fraction of that.
 */
export async function seedLines(store: Store, deployId: number, count: number, hosts = ['web-1', 'web-2'], text = (seq: number) => `line ${seq}`) {
  // Cut into chunks as the log store does (hosts in turn: a chunk per line). SQLite: the ISO text Prisma's
  // SQLite adapter stores, `?` placeholders; PostgreSQL: a Date, `$n`.
  const pg = TEST_DB === 'postgresql';
  const now = new Date();
  const at = pg ? now : now.toISOString().replace('Z', '+00:00');
  const ROWS = 2000;
  for (let start = 1; start <= count; start += ROWS) {
    const end = Math.min(count, start + ROWS - 1);
    const lines = Array.from({ length: end - start + 1 }, (_, i) => ({
      deployId,
      seq: start + i,
      host: hosts[(start + i) % hosts.length] ?? null,
      stream: 'stdout',
      text: text(start + i),
      at: now,
    }));
    const chunks = toChunks(lines);
    const values = chunks.flatMap((c) => [c.deployId, c.firstSeq, c.lastSeq, c.host, c.stream, c.text, at]);
    const rows = chunks.map((_, i) => (pg ? `(${[1, 2, 3, 4, 5, 6, 7].map((k) => `$${i * 7 + k}`).join(', ')})` : '(?, ?, ?, ?, ?, ?, ?)')).join(', ');
    await store.db.$executeRawUnsafe(`INSERT INTO "LogChunk" ("deployId", "firstSeq", "lastSeq", "host", "stream", "text", "at") VALUES ${rows}`, ...values);
  }
}

export class SimulatedRun {
  seq: number;
  private pending: { deployId: number; seq: number; host: string | null; stream: string; text: string; at: Date }[] = [];

  constructor(
    private readonly store: Store,
    private readonly events: DeployEvents,
    readonly deployId: number,
    startSeq = 0,
  ) {
    this.seq = startSeq;
  }

  /** Publishes one line now; it reaches the database at the next flush(). */
  line(host: string | null, text: string, stream: LogStream = 'stdout'): number {
    const line = { deployId: this.deployId, seq: ++this.seq, host, stream, text, at: new Date() };
    this.events.publish({ type: 'line', line });
    this.pending.push(line);
    return line.seq;
  }

  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length) await this.store.db.logChunk.createMany({ data: toChunks(batch) });
  }

  async state(state: 'running' | 'succeeded' | 'failed' | 'cancelled', error?: string): Promise<void> {
    await this.flush();
    await this.store.db.deploy.update({
      where: { id: this.deployId },
      data: { state, error: error ?? null, ...(state === 'running' ? {} : { finishedAt: new Date() }) },
    });
    this.events.publish({ type: 'state', deployId: this.deployId, state, error: error ?? null });
  }

  async host(host: string, state: 'succeeded' | 'failed', error?: string): Promise<void> {
    await this.store.db.deployHost.updateMany({ where: { deployId: this.deployId, host }, data: { state, error: error ?? null, finishedAt: new Date() } });
    this.events.publish({ type: 'host', deployId: this.deployId, host, state, error: error ?? null });
  }
}
