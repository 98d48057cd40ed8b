/**
 * Writes deploy log chunks (see log-lines.ts: the same cut, the same table) to PostgreSQL from a thread of its
 * own, on one connection of its own: a whole batch is one INSERT … SELECT FROM (VALUES one row per chunk), one
 * round trip, one transaction. The event loop only hands over each batch (its texts copied once); pg builds the
 * protocol message (~3 copies of every text while its buffer grows) and parses the answer in the thread. One
 * connection takes the batches in the order given, so the log writer may hand over the next before the last is
 * stored (`ordered`). Reading goes through LogLines (log-lines.ts), the same for both databases.
 *
 *   const lines = new PgLogLineStore('postgresql://shepherd@127.0.0.1/shepherd');
 *   await lines.insert([{ deployId: 3, seq: 1, host: 'web-1', stream: 'stdout', text: 'ok', at: new Date() }]);
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { StoredLine } from './deploys.js';
import { assertDisjoint, type LineSink, type NewChunk, overlap, toChunks } from './log-lines.js';

/**
 * All chunks, or none when a stored chunk holds any of their lines (an index probe on lastSeq per chunk): n rows
 * of seven parameters each. Each text travels as a parameter of its own, as the client has it: no array literal
 * to escape on this side and to parse on the server (unnest of a text[] cost more CPU here than the insert).
 */
function insertStatement(n: number): string {
  const rows: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const p = i * 7;
    rows[i] = `($${p + 1}::int, $${p + 2}::int, $${p + 3}::int, $${p + 4}::text, $${p + 5}::text, $${p + 6}::text, $${p + 7}::timestamp(3))`;
  }
  return `WITH c ("deployId", "firstSeq", "lastSeq", "host", "stream", "text", "at") AS (VALUES ${rows.join(', ')}
  ), stored AS (
    SELECT c."firstSeq", c."lastSeq" FROM c JOIN "LogChunk" l
      ON l."deployId" = c."deployId" AND l."lastSeq" >= c."firstSeq" AND l."firstSeq" <= c."lastSeq" LIMIT 1
  )
  INSERT INTO "LogChunk" ("deployId", "firstSeq", "lastSeq", "host", "stream", "text", "at")
  SELECT * FROM c WHERE NOT EXISTS (SELECT 1 FROM stored)`;
}

/**
 * The writing thread: one connection (a pool of one, which queues the batches in the order they came). Its
 * commits do not wait for the server's WAL fsync (synchronous_commit off, for this connection only: one fsync per
 * batch was most of the time a 500k-line log took); a server crash may lose the last batches (at most ~3 ×
 * wal_writer_delay), never corrupts anything: the trade the SQLite writer makes with NORMAL. Plain JavaScript
 * evaluated in the thread, so it runs the same from the sources (tsx, vitest) and from the build.
 */
const WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const pg = require(workerData.driver);
const pool = new pg.Pool({ connectionString: workerData.url, max: 1, connectionTimeoutMillis: 5000, options: '-c synchronous_commit=off' });
pool.on('error', () => {}); // an idle connection dropped (server restart): the pool opens a new one
parentPort.on('message', (m) => {
  if (m.close) {
    pool.end().catch(() => {}).finally(() => parentPort.postMessage({ closed: true }));
    return;
  }
  pool.query(m.sql, m.values).then(
    (r) => parentPort.postMessage({ id: m.id, rowCount: r.rowCount }),
    (err) => parentPort.postMessage({ id: m.id, error: { message: String(err && err.message), code: err && err.code } }),
  );
});`;

export class PgLogLineStore implements LineSink {
  /** One connection in one thread: batches are committed in the order handed over. */
  readonly ordered = true;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void; chunks: readonly NewChunk[] }>();
  private closed = false;

  constructor(private readonly url: string) {}

  insert(lines: readonly StoredLine[]): Promise<void> {
    return this.insertChunks(toChunks(lines));
  }

  async insertChunks(chunks: readonly NewChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    if (this.closed) throw new Error('the log line store is closed');
    assertDisjoint(chunks);
    const n = chunks.length;
    const values: (string | number | null)[] = new Array(n * 7);
    for (let i = 0; i < n; i++) {
      const c = chunks[i] as NewChunk;
      const p = i * 7;
      values[p] = c.deployId;
      values[p + 1] = c.firstSeq;
      values[p + 2] = c.lastSeq;
      values[p + 3] = c.host;
      values[p + 4] = c.stream;
      // PostgreSQL text cannot hold NUL (SQLite can); a program printing one still gets its line stored.
      values[p + 5] = c.text.includes('\0') ? c.text.replaceAll('\0', '\uFFFD') : c.text;
      // timestamp(3) without time zone holding UTC, as Prisma writes DateTime; the 'Z' is ignored on input.
      values[p + 6] = c.at.toISOString();
    }
    const worker = this.thread();
    const id = this.nextId++;
    const done = new Promise<void>((resolve, reject) => this.waiting.set(id, { resolve, reject, chunks }));
    // Only while a batch is being written does the thread keep the process alive.
    if (this.waiting.size === 1) worker.ref();
    // A single statement is its own transaction: the batch is stored whole or not at all.
    worker.postMessage({ id, sql: insertStatement(n), values });
    return done;
  }

  async close(): Promise<void> {
    this.closed = true;
    // Batches handed over are written first (the thread answers in order, so the last answer comes last).
    await Promise.allSettled(
      [...this.waiting.values()].map(
        (w) =>
          new Promise<void>((r) => {
            const { resolve, reject } = w;
            w.resolve = () => {
              resolve();
              r();
            };
            w.reject = (err) => {
              reject(err);
              r();
            };
          }),
      ),
    );
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    // The connection is closed as PostgreSQL expects (a Terminate message), then the thread ends.
    worker.ref();
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.on('message', (m: { closed?: boolean }) => {
        if (m.closed) void worker.terminate();
      });
      worker.postMessage({ close: true });
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const driver = createRequire(import.meta.url).resolve('pg');
    const worker = new Worker(WRITER, { eval: true, workerData: { driver, url: this.url } });
    worker.unref();
    worker.on('message', (m: { id?: number; rowCount?: number; error?: { message: string; code?: string } }) => {
      const w = m.id === undefined ? undefined : this.waiting.get(m.id);
      if (!w || m.id === undefined) return;
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) worker.unref();
      if (m.error) return w.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      if (m.rowCount !== w.chunks.length) return w.reject(overlap(w.chunks[0] as NewChunk));
      w.resolve();
    });
    // The thread died (it crashed): what it was writing is lost, the next batch starts a new one.
    const died = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`the log writing thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}
