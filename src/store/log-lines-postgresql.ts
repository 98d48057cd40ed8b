/**
 * Writes deploy log chunks (see log-lines.ts: the same cut, the same table) to PostgreSQL on a small pool of its
 * own: a whole batch is one INSERT … SELECT FROM unnest(seven arrays), one round trip, one transaction.
 * Reading goes through LogLines (log-lines.ts), the same for both databases.
 *
 *   const lines = new PgLogLineStore('postgresql://shepherd@127.0.0.1/shepherd');
 *   await lines.insert([{ deployId: 3, seq: 1, host: 'web-1', stream: 'stdout', text: 'ok', at: new Date() }]);
 */
import pg from 'pg';
import type { StoredLine } from './deploys.js';
import { assertDisjoint, type LineSink, type NewChunk, overlap, toChunks } from './log-lines.js';

/** All chunks, or none when a stored chunk holds any of their lines (an index probe on lastSeq per chunk). */
const INSERT = `WITH c AS (
    SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::timestamp(3)[])
      AS c("deployId", "firstSeq", "lastSeq", "host", "stream", "text", "at")
  ), stored AS (
    SELECT c."firstSeq", c."lastSeq" FROM c JOIN "LogChunk" l
      ON l."deployId" = c."deployId" AND l."lastSeq" >= c."firstSeq" AND l."firstSeq" <= c."lastSeq" LIMIT 1
  )
  INSERT INTO "LogChunk" ("deployId", "firstSeq", "lastSeq", "host", "stream", "text", "at")
  SELECT * FROM c WHERE NOT EXISTS (SELECT 1 FROM stored)`;

export class PgLogLineStore implements LineSink {
  private readonly pool: pg.Pool;

  constructor(url: string) {
    // Two connections: one batch writing while the next is prepared is all the log writer ever asks for.
    this.pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000 });
    this.pool.on('error', () => {}); // an idle connection dropped (server restart): the pool opens a new one
  }

  insert(lines: readonly StoredLine[]): Promise<void> {
    return this.insertChunks(toChunks(lines));
  }

  async insertChunks(chunks: readonly NewChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    assertDisjoint(chunks);
    const n = chunks.length;
    const columns = { deployIds: new Array<number>(n), firsts: new Array<number>(n), lasts: new Array<number>(n) };
    const hosts = new Array<string | null>(n);
    const streams = new Array<string>(n);
    const texts = new Array<string>(n);
    const ats = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const c = chunks[i] as NewChunk;
      columns.deployIds[i] = c.deployId;
      columns.firsts[i] = c.firstSeq;
      columns.lasts[i] = c.lastSeq;
      hosts[i] = c.host;
      streams[i] = c.stream;
      // PostgreSQL text cannot hold NUL (SQLite can); a program printing one still gets its line stored.
      texts[i] = c.text.includes('\0') ? c.text.replaceAll('\0', '\uFFFD') : c.text;
      // timestamp(3) without time zone holding UTC, as Prisma writes DateTime; the 'Z' is ignored on input.
      ats[i] = c.at.toISOString();
    }
    // A single statement is its own transaction: the batch is stored whole or not at all.
    const r = await this.pool.query(INSERT, [columns.deployIds, columns.firsts, columns.lasts, hosts, streams, texts, ats]);
    if (r.rowCount !== n) throw overlap(chunks[0] as NewChunk);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
