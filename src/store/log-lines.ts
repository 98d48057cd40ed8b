/**
 * Writes deploy log lines straight to SQLite on a connection of its own: a deploy can print hundreds of
 * thousands of lines, and prepared multi-row inserts are several times faster than going through Prisma.
 * Each batch is one transaction. Storing is most of what the log pipeline costs (500k lines: ~600 ms of SQLite).
 * A worker thread for it was tried twice: on two busy cores it used 5–15% more CPU, ~40 MiB more memory and was
 * no faster (the copies to the thread cost what the overlap saves).
 *
 *   const lines = new LogLineStore('/var/lib/shepherd/shepherd.db');
 *   await lines.insert([{ deployId: 3, seq: 1, host: 'web-1', stream: 'stdout', text: 'ok', at: new Date() }]);
 */
import Database from 'better-sqlite3';
import type { StoredLine } from './deploys.js';

/** Rows per multi-row VALUES statement: 6 parameters each, well under SQLite's 32766-variable limit. */
const ROWS_PER_STATEMENT = 100;
/** Consecutive lines of one host and stream from which one json_each statement beats binding them row by row. */
const MIN_RUN = 4;
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
  private runInsert: Database.Statement | undefined;
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
      // Lines of one output chunk share deploy, host, stream and time and have consecutive seqs: such a run is
      // one INSERT … SELECT over json_each(texts), which SQLite expands in C. Binding six parameters per row
      // costs more than the insert itself (500k lines: ~615 ms as runs vs ~940 ms as 100-row VALUES).
      // Short runs (interleaved hosts printing a line at a time) go through multi-row VALUES instead.
      const single: StoredLine[] = [];
      let i = 0;
      while (i < lines.length) {
        const first = lines[i] as StoredLine;
        const t = first.at.getTime();
        let end = i + 1;
        while (end < lines.length) {
          const l = lines[end] as StoredLine;
          if (l.seq !== first.seq + (end - i) || l.deployId !== first.deployId || l.host !== first.host || l.stream !== first.stream || l.at.getTime() !== t)
            break;
          end++;
        }
        if (end - i >= MIN_RUN) {
          this.flushSingle(single);
          const texts: string[] = new Array(end - i);
          for (let j = i; j < end; j++) texts[j - i] = (lines[j] as StoredLine).text;
          this.runStatement().run(first.deployId, first.seq, first.host, first.stream, this.stamp(first.at), JSON.stringify(texts));
        } else for (let j = i; j < end; j++) single.push(lines[j] as StoredLine);
        i = end;
      }
      this.flushSingle(single);
    })();
  }

  /** Writes the rows collected one by one (at most ROWS_PER_STATEMENT per statement) and empties the list. */
  private flushSingle(rows: StoredLine[]): void {
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const end = Math.min(rows.length, i + ROWS_PER_STATEMENT);
      const params: unknown[] = [];
      for (let j = i; j < end; j++) {
        const l = rows[j] as StoredLine;
        params.push(l.deployId, l.seq, l.host, l.stream, l.text, this.stamp(l.at));
      }
      this.statement(end - i).run(params);
    }
    rows.length = 0;
  }

  private runStatement(): Database.Statement {
    // seq + key: json_each numbers the array's elements from 0, in order.
    this.runInsert ??= this.db.prepare(
      'INSERT INTO "LogLine" ("deployId", "seq", "host", "stream", "text", "at") SELECT ?, ? + "key", ?, ?, "value", ? FROM json_each(?)',
    );
    return this.runInsert;
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
