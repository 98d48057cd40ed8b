/**
 * Writes deploy log lines straight to SQLite on a connection of its own: a deploy can print hundreds of
 * thousands of lines, and multi-row prepared inserts are several times faster than going through Prisma.
 * Each batch is one transaction. (A worker thread was tried: on two busy cores it was slower and bigger.)
 *
 *   const lines = new LogLineStore('/var/lib/shepherd/shepherd.db');
 *   await lines.insert([{ deployId: 3, seq: 1, host: 'web-1', stream: 'stdout', text: 'ok', at: new Date() }]);
 */
import Database from 'better-sqlite3';
import type { StoredLine } from './deploys.js';

/** Rows per INSERT statement: 6 parameters each, well under SQLite's 32766-variable limit. */
const ROWS_PER_STATEMENT = 500;
/** How long a batch keeps retrying while another connection holds the write lock. */
const BUSY_GIVE_UP_MS = 30_000;

export interface LineSink {
  /** Stores the lines in one transaction; resolves once committed, rejects with the reason when not. */
  insert(lines: readonly StoredLine[]): Promise<void>;
  close(): Promise<void>;
}

export class LogLineStore implements LineSink {
  private readonly db: Database.Database;
  private readonly statements = new Map<number, Database.Statement>();
  private lastTime = Number.NaN;
  private lastStamp = '';

  constructor(path: string) {
    this.db = new Database(path);
    // Never wait for the lock here: Prisma's interactive transactions run on this same thread, so a blocking
    // wait could never end. A busy database is retried a little later instead (see insert).
    this.db.pragma('busy_timeout = 0');
    // WAL + NORMAL: a commit does not wait for fsync (the file stays consistent; a power cut may lose the last
    // batches). Per connection, so only log writing trades that durability for throughput.
    this.db.pragma('synchronous = NORMAL');
  }

  async insert(lines: readonly StoredLine[]): Promise<void> {
    if (lines.length === 0) return;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        this.write(lines);
        return;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if ((code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED') || Date.now() - started > BUSY_GIVE_UP_MS) throw err;
        await new Promise((r) => setTimeout(r, Math.min(100, 5 * attempt)));
      }
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private write(lines: readonly StoredLine[]): void {
    this.db.transaction(() => {
      for (let i = 0; i < lines.length; i += ROWS_PER_STATEMENT) {
        const end = Math.min(lines.length, i + ROWS_PER_STATEMENT);
        const params: unknown[] = [];
        for (let j = i; j < end; j++) {
          const l = lines[j] as StoredLine;
          params.push(l.deployId, l.seq, l.host, l.stream, l.text, this.stamp(l.at));
        }
        this.statement(end - i).run(params);
      }
    })();
  }

  /** Prisma's SQLite adapter stores DateTime as ISO 8601 with +00:00: write the same so Prisma reads it back.
   * Lines of one burst share their millisecond, so each distinct time is formatted once. */
  private stamp(at: Date): string {
    const t = at.getTime();
    if (t !== this.lastTime) {
      this.lastTime = t;
      this.lastStamp = at.toISOString().replace('Z', '+00:00');
    }
    return this.lastStamp;
  }

  private statement(rows: number): Database.Statement {
    let stmt = this.statements.get(rows);
    if (!stmt) {
      const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?)').join(', ');
      stmt = this.db.prepare(`INSERT INTO "LogLine" ("deployId", "seq", "host", "stream", "text", "at") VALUES ${values}`);
      this.statements.set(rows, stmt);
    }
    return stmt;
  }
}
