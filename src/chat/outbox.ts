/**
 * The chat outbox between instances: an instance that must say something on a network it is not connected
 * to (IRC, where only the lease holder is) writes it to the database; the holder delivers the rows in order,
 * each once (taken and marked delivered in one conditional write, src/store/chat-outbox.ts), and a new holder
 * goes on with whatever nobody marked. PostgreSQL's LISTEN/NOTIFY wakes the holder at once (a pg connection
 * of its own); a poll every `pollMs` is the fallback for a lost notification or a broken listening connection.
 *
 *   const outbox = new ChatOutbox({ store, network: 'irc', instanceId, notify, listenUrl, logger });
 *   await outbox.write({ room: '#deploys', text: 'deploy #3 succeeded' });        // on any instance
 *   outbox.startDelivering((row) => irc.send({ room: row.room, asker: row.asker }, row.text)); // on the holder
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { ChatOutboxStore, OutboxRow } from '../store/chat-outbox.js';

/** The PostgreSQL notification channel writers notify and the holder listens on. */
export const OUTBOX_CHANNEL = 'shepherd_chat_outbox';

/** Delivered rows are kept a day (to look into what was said), removed by the holder about hourly. */
const KEEP_DELIVERED_MS = 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface ChatOutboxOptions {
  store: ChatOutboxStore;
  /** The network whose messages this outbox carries ('irc'). */
  network: string;
  /** Recorded as deliveredBy on the rows this instance delivers. */
  instanceId: string;
  /** Wakes the holder after a write (PostgreSQL: pg_notify); absent: the holder finds it by polling. */
  notify?: ((channel: string, payload: string) => Promise<void>) | undefined;
  /** PostgreSQL URL to LISTEN on while delivering; absent: polling only. */
  listenUrl?: string | undefined;
  /** Poll interval while delivering (default 2 s). */
  pollMs?: number | undefined;
  logger: Logger;
}

export type Deliver = (row: OutboxRow) => Promise<unknown>;

export class ChatOutbox {
  /** Writes leave one at a time, so this instance's messages keep their order in the table. */
  private writing: Promise<unknown> = Promise.resolve();
  private deliver: Deliver | undefined;
  private draining: Promise<void> | undefined;
  /** A wake-up came while a drain was running: run once more after it. */
  private again = false;
  private poll: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private prunedAt = 0;

  constructor(private readonly options: ChatOutboxOptions) {}

  /** Adds a message for the holder to say (after every earlier write of this instance); resolves to its row id. */
  write(message: { room: string; asker?: string | undefined; text: string }): Promise<number> {
    const written = this.writing.then(async () => {
      const id = await this.options.store.add({ network: this.options.network, ...message });
      // A lost notification costs at most one poll interval, never the message: the row is already committed.
      await this.options
        .notify?.(OUTBOX_CHANNEL, this.options.network)
        .catch((err: unknown) =>
          this.options.logger.warn({ err: (err as Error).message }, 'could not notify the chat outbox; the holder will find the message by polling'),
        );
      return id;
    });
    this.writing = written.catch(() => {});
    return written;
  }

  /**
   * Starts delivering waiting and future rows through `deliver`, one at a time in id order; resolves once the
   * rows waiting now are through (so a new holder says the backlog before anything of its own).
   */
  startDelivering(deliver: Deliver): Promise<void> {
    this.deliver = deliver;
    this.poll = setInterval(() => void this.wake(), this.options.pollMs ?? 2_000);
    this.poll.unref();
    void this.listen();
    return this.wake();
  }

  /** Stops delivering (the row being said is finished first); LISTEN connection closed. */
  async stopDelivering(): Promise<void> {
    this.deliver = undefined;
    if (this.poll) clearInterval(this.poll);
    if (this.relisten) clearTimeout(this.relisten);
    this.poll = undefined;
    this.relisten = undefined;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
    await this.draining;
  }

  /** Waits for the writes this instance started so far (tests, shutdown). */
  async flushed(): Promise<void> {
    await this.writing;
  }

  /** Runs a drain now, or once more after the running one; resolves when the table is empty for us. */
  wake(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    const run = (async () => {
      do {
        this.again = false;
        await this.drain();
      } while (this.again && this.deliver);
    })().finally(() => {
      this.draining = undefined;
    });
    this.draining = run;
    return run;
  }

  private async drain(): Promise<void> {
    if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = Date.now();
      await this.options.store.prune(new Date(Date.now() - KEEP_DELIVERED_MS)).catch(() => 0);
    }
    for (;;) {
      const deliver = this.deliver;
      if (!deliver) return;
      let row: OutboxRow | null;
      try {
        row = await this.options.store.take(this.options.network, this.options.instanceId);
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message }, 'could not read the chat outbox; trying again at the next poll');
        return;
      }
      if (!row) return;
      // Marked delivered already: a failure here loses this message rather than saying it twice.
      await deliver(row).catch((err: unknown) =>
        this.options.logger.error({ err: (err as Error).message, id: row.id, room: row.room }, 'could not deliver a message from the chat outbox'),
      );
    }
  }

  /** LISTEN on a connection of our own; reconnects (and catches up) after it breaks. */
  private async listen(): Promise<void> {
    const url = this.options.listenUrl;
    if (!url || !this.deliver || this.listener) return;
    // Loaded here, so that a SQLite start does not pay for pg.
    const { default: postgres } = await import('pg');
    if (!this.deliver || this.listener) return;
    const client = new postgres.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    this.listener = client;
    const retry = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      void client.end().catch(() => {});
      if (!this.deliver) return;
      this.relisten = setTimeout(() => {
        this.relisten = undefined;
        void this.listen();
      }, this.options.pollMs ?? 2_000);
      this.relisten.unref();
    };
    client.on('error', (err) => {
      this.options.logger.warn({ err: err.message }, 'chat outbox: the LISTEN connection broke; polling until it is back');
      retry();
    });
    client.on('end', retry);
    client.on('notification', (msg) => {
      if (msg.channel === OUTBOX_CHANNEL && msg.payload === this.options.network) void this.wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      // Whatever was written while we were not listening.
      void this.wake();
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'chat outbox: could not LISTEN; polling until it works');
      retry();
    }
  }
}
