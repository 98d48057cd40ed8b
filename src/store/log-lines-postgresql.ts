/**
 * Writes deploy log chunks (see log-lines.ts: the same cut, the same table) to PostgreSQL on a small pool of its
 * own: a whole batch is one INSERT … SELECT FROM (VALUES one row per chunk), one round trip, one transaction, which
 * can also send the NOTIFY announcing the batch (delivered at its commit: no second round trip, no wait for this
 * process to see the commit first).
 * Reading goes through LogLines (log-lines.ts), the same for both databases.
 *
 *   const lines = new PgLogLineStore('postgresql://shepherd@127.0.0.1/shepherd');
 *   await lines.insert([{ deployId: 3, seq: 1, host: 'web-1', stream: 'stdout', text: 'ok', at: new Date() }]);
 */
import pg from 'pg';
import type { StoredLine } from './deploys.js';
import { assertDisjoint, type LineSink, type NewChunk, overlap, toChunks } from './log-lines.js';

/**
 * All chunks, or none when a stored chunk holds any of their lines (an index probe on lastSeq per chunk): n rows
 * of seven parameters each. Each text travels as a parameter of its own, as the client has it: no array literal
 * to escape on this side and to parse on the server (unnest of a text[] cost more CPU here than the insert).
 */
function insertStatement(n: number, notice: boolean): string {
  const rows: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const p = i * 7;
    rows[i] = `($${p + 1}::int, $${p + 2}::int, $${p + 3}::int, $${p + 4}::text, $${p + 5}::text, $${p + 6}::text, $${p + 7}::timestamp(3))`;
  }
  return `WITH c ("deployId", "firstSeq", "lastSeq", "host", "stream", "text", "at") AS (VALUES ${rows.join(', ')}
  ), stored AS (
    SELECT c."firstSeq", c."lastSeq" FROM c JOIN "LogChunk" l
      ON l."deployId" = c."deployId" AND l."lastSeq" >= c."firstSeq" AND l."firstSeq" <= c."lastSeq" LIMIT 1
  ), ins AS (
    INSERT INTO "LogChunk" ("deployId", "firstSeq", "lastSeq", "host", "stream", "text", "at")
    SELECT * FROM c WHERE NOT EXISTS (SELECT 1 FROM stored) RETURNING 1
  )
  SELECT n${notice ? `, CASE WHEN n = ${n} THEN pg_notify($${n * 7 + 1}, $${n * 7 + 2}) END` : ''} FROM (SELECT count(*)::int AS n FROM ins) s`;
}

/** A NOTIFY sent by the statement that stores a batch: delivered when it commits (notify-postgresql.ts envelope). */
export interface CommitNotice {
  channel: string;
  payload: string;
}

export class PgLogLineStore implements LineSink {
  /** insertChunks takes a notice to send on commit, in the same round trip (instance-notify.ts). */
  readonly notifiesOnCommit = true;
  private readonly pool: pg.Pool;

  constructor(url: string) {
    // Two connections: one batch writing while the next is prepared is all the log writer ever asks for.
    // synchronous_commit off, for these connections only: a batch's commit does not wait for the server's WAL
    // fsync (one per batch, most of the time a 500k-line log took). A server crash may lose the last batches
    // (at most ~3 × wal_writer_delay), never corrupts anything: the trade the SQLite writer makes with NORMAL.
    this.pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000, options: '-c synchronous_commit=off' });
    this.pool.on('error', () => {}); // an idle connection dropped (server restart): the pool opens a new one
  }

  insert(lines: readonly StoredLine[]): Promise<void> {
    return this.insertChunks(toChunks(lines));
  }

  async insertChunks(chunks: readonly NewChunk[], notice?: CommitNotice): Promise<void> {
    if (chunks.length === 0) return;
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
    // A single statement is its own transaction: the batch is stored whole or not at all.
    // The notice only when every chunk was stored: readers must find what it announces (or carries).
    if (notice) values.push(notice.channel, notice.payload);
    const r = await this.pool.query<{ n: number }>(insertStatement(n, notice !== undefined), values);
    if (r.rows[0]?.n !== n) throw overlap(chunks[0] as NewChunk);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
