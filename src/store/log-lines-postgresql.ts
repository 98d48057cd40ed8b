/**
 * Writes deploy log lines to PostgreSQL on a small pool of its own: a whole batch is one INSERT … SELECT FROM
 * unnest(six arrays), so a batch of any size is one round trip with six parameters, in one transaction.
 *
 *   const lines = new PgLogLineStore('postgresql://shepherd@127.0.0.1/shepherd');
 *   await lines.insert([{ deployId: 3, seq: 1, host: 'web-1', stream: 'stdout', text: 'ok', at: new Date() }]);
 */
import pg from 'pg';
import type { StoredLine } from './deploys.js';
import type { LineSink } from './log-lines.js';

const INSERT = `INSERT INTO "LogLine" ("deployId", "seq", "host", "stream", "text", "at")
  SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[], $6::timestamp(3)[])`;

export class PgLogLineStore implements LineSink {
  private readonly pool: pg.Pool;

  constructor(url: string) {
    // Two connections: one batch writing while the next is prepared is all the log writer ever asks for.
    this.pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000 });
    this.pool.on('error', () => {}); // an idle connection dropped (server restart): the pool opens a new one
  }

  async insert(lines: readonly StoredLine[]): Promise<void> {
    if (lines.length === 0) return;
    const n = lines.length;
    const deployIds = new Array<number>(n);
    const seqs = new Array<number>(n);
    const hosts = new Array<string | null>(n);
    const streams = new Array<string>(n);
    const texts = new Array<string>(n);
    const ats = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const l = lines[i] as StoredLine;
      deployIds[i] = l.deployId;
      seqs[i] = l.seq;
      hosts[i] = l.host;
      streams[i] = l.stream;
      // PostgreSQL text cannot hold NUL (SQLite can); a program printing one still gets its line stored.
      texts[i] = l.text.includes('\0') ? l.text.replaceAll('\0', '\uFFFD') : l.text;
      // timestamp(3) without time zone holding UTC, as Prisma writes DateTime; the 'Z' is ignored on input.
      ats[i] = l.at.toISOString();
    }
    // A single statement is its own transaction: the batch is stored whole or not at all.
    await this.pool.query(INSERT, [deployIds, seqs, hosts, streams, texts, ats]);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
