/**
 * The audit rows of commands, written off the reply path: the bot hands a row over once the command has
 * answered, and the rows that came in meanwhile are written together, in one statement, on the next turn of
 * the event loop. flush() (called at stop, before the database closes) writes whatever is still waiting, so
 * no row is lost to a graceful stop.
 *
 *   const queue = new AuditQueue(store.audit, logger);
 *   await queue.add({ userId: 1, identity: 'irc:alice', room: '#deploys', command: 'karma', text: 'karma', outcome: 'ok' });
 *   await queue.flush(); // at stop
 */
import type { Logger } from 'pino';
import type { AuditEntry } from './audit.js';

interface Pending {
  entry: AuditEntry;
  written: () => void;
}

export class AuditQueue {
  private pending: Pending[] = [];
  private scheduled = false;
  private writing: Promise<void> = Promise.resolve();
  /** Seam for tests: writes wait for this (a test holds it to see a row still queued when the process stops). */
  hold: Promise<void> = Promise.resolve();

  constructor(
    private readonly audit: { recordMany(entries: readonly AuditEntry[]): Promise<void> },
    private readonly logger: Pick<Logger, 'error'>,
  ) {}

  /** Queues one row; resolves once it is written (or could not be: then the error is logged, never thrown). */
  add(entry: AuditEntry): Promise<void> {
    return new Promise((written) => {
      this.pending.push({ entry, written });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Writes every row queued so far; resolves when they (and any write already running) are done. */
  flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    // One write at a time, in order: a batch starts after the one before it.
    this.writing = this.writing.then(async () => {
      if (batch.length === 0) return;
      await this.hold;
      try {
        await this.audit.recordMany(batch.map((p) => p.entry));
      } catch (err) {
        this.logger.error({ err, rows: batch.length }, 'could not write the audit rows');
      } finally {
        for (const p of batch) p.written();
      }
    });
    return this.writing;
  }
}
