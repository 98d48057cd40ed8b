/**
 * LISTEN/NOTIFY between instances on one PostgreSQL: one connection of its own listens on one channel per
 * topic (and sends, so one instance's notifications arrive in the order it sent them). A dropped connection is
 * opened again with a growing pause, and listeners are told (onReconnect) so they look at the database again.
 *
 *   const n = new PgNotifier('postgresql://shepherd@127.0.0.1/shepherd', logger); await n.start();
 *   n.listen('lines', ({ data }) => wake(data)); await n.notify('lines', { d: [[12, 340]] });
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Notification, Notifier, Topic } from './notify.js';

const TOPICS: Topic[] = ['lines', 'deploy', 'question'];
const channel = (topic: Topic) => `shepherd_${topic}`;
/** PostgreSQL refuses payloads of 8000 bytes or more. */
const MAX_PAYLOAD = 7_900;

export class PgNotifier implements Notifier {
  readonly crossProcess = true;
  private readonly emitter = new EventEmitter();
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client | null> | null = null;
  private closed = false;
  private sending: Promise<void> = Promise.resolve();
  private retryMs = 100;
  private everConnected = false;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    readonly origin: string = randomUUID(),
  ) {
    this.emitter.setMaxListeners(0);
  }

  /** Connects and listens (the first time must work: the database was just opened). */
  async start(): Promise<void> {
    const client = await this.connect();
    if (!client) throw new Error('could not listen for notifications');
  }

  /**
   * The channel and payload of a notification, for a statement on another connection to send with pg_notify:
   * PostgreSQL delivers it when that statement's transaction commits (see log-lines-postgresql.ts). null when it
   * is too large to send.
   */
  envelope(topic: Topic, data: Record<string, unknown>): { channel: string; payload: string } | null {
    const payload = JSON.stringify({ o: this.origin, d: data });
    // PostgreSQL counts bytes (UTF-8), not characters.
    if (payload.length > MAX_PAYLOAD / 3 && Buffer.byteLength(payload) > MAX_PAYLOAD) {
      this.logger.warn({ topic, bytes: Buffer.byteLength(payload) }, 'notification too large; dropped (others poll)');
      return null;
    }
    return { channel: channel(topic), payload };
  }

  async notify(topic: Topic, data: Record<string, unknown>): Promise<void> {
    const envelope = this.envelope(topic, data);
    if (!envelope) return;
    // One query at a time on the connection (pg deprecates overlapping queries on one client), in order.
    const send = this.sending.then(async () => {
      try {
        const client = this.client ?? (await this.connect());
        await client?.query('SELECT pg_notify($1, $2)', [envelope.channel, envelope.payload]);
      } catch (err) {
        this.logger.debug({ err, topic }, 'notification not sent; other instances will poll');
      }
    });
    this.sending = send;
    return send;
  }

  listen(topic: Topic, fn: (n: Notification) => void): () => void {
    this.emitter.on(topic, fn);
    return () => this.emitter.off(topic, fn);
  }

  onReconnect(fn: () => void): () => void {
    this.emitter.on('reconnect', fn);
    return () => this.emitter.off('reconnect', fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.emitter.removeAllListeners();
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private connect(): Promise<pg.Client | null> {
    this.connecting ??= (async () => {
      while (!this.closed) {
        const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 });
        client.on('error', () => this.lost(client));
        client.on('end', () => this.lost(client));
        client.on('notification', (m) => this.received(m));
        try {
          await client.connect();
          for (const topic of TOPICS) await client.query(`LISTEN ${channel(topic)}`);
          if (this.closed) {
            await client.end().catch(() => {});
            return null;
          }
          this.client = client;
          this.retryMs = 100;
          if (this.everConnected) this.emitter.emit('reconnect');
          this.everConnected = true;
          return client;
        } catch (err) {
          await client.end().catch(() => {});
          if (!this.everConnected) throw err;
          this.logger.debug({ err }, 'notification connection not back yet');
          await new Promise((r) => setTimeout(r, this.retryMs).unref());
          this.retryMs = Math.min(5_000, this.retryMs * 2);
        }
      }
      return null;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.closed) return;
    this.logger.warn('notification connection lost; reconnecting');
    void this.connect().catch(() => {});
  }

  private received(m: pg.Notification): void {
    const topic = TOPICS.find((t) => channel(t) === m.channel);
    if (!topic || !m.payload) return;
    try {
      const parsed = JSON.parse(m.payload) as { o: string; d: Record<string, unknown> };
      this.emitter.emit(topic, { origin: parsed.o, data: parsed.d });
    } catch {
      // Not ours (someone else NOTIFYing on our channel name): ignored.
    }
  }
}
