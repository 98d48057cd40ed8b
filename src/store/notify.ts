/**
 * Wake-ups between Shepherd instances: "deploy 12 has lines up to 340", "deploy 12 is now succeeded". A
 * notification is only a hint to look again; the database stays the truth (line numbers, deploy states), so a
 * lost or doubled notification costs a little latency, never a wrong answer. PostgreSQL carries them between
 * processes with LISTEN/NOTIFY (notify-postgresql.ts); on SQLite (one process, or several that poll) they stay
 * in this process.
 *
 *   const notifier = await openNotifier(config.env.DATABASE_URL, logger);
 *   const off = notifier.listen('deploy', (n) => console.log(n.origin, n.data));
 *   await notifier.notify('deploy', { id: 12, state: 'succeeded' });
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { databaseKind } from './db.js';

/** lines: { d: [[deployId, lastStoredSeq], …] }; deploy: { id, state, error?, lastSeq? }; question: { id } (answered). */
export type Topic = 'lines' | 'deploy' | 'question';

export interface Notification {
  /** The instance that sent it (Notifier.origin of the sender). */
  origin: string;
  data: Record<string, unknown>;
}

export interface Notifier {
  /** This process's name in the notifications it sends. */
  readonly origin: string;
  /** Whether notifications reach other processes (false: in-process only; others must poll). */
  readonly crossProcess: boolean;
  /** Tells every instance, this one included. Never throws: a lost hint is made good by polling. */
  notify(topic: Topic, data: Record<string, unknown>): Promise<void>;
  /** Calls fn for each notification on topic, from any instance. Returns the function that stops it. */
  listen(topic: Topic, fn: (n: Notification) => void): () => void;
  /** Calls fn after the connection was lost and is back: notifications in between may be lost, look again. */
  onReconnect(fn: () => void): () => void;
  close(): Promise<void>;
}

/** Notifications within this process only (SQLite; tests that run several parts in one process). */
export class LocalNotifier implements Notifier {
  readonly crossProcess = false;
  private readonly emitter = new EventEmitter();

  constructor(readonly origin: string = randomUUID()) {
    this.emitter.setMaxListeners(0);
  }

  async notify(topic: Topic, data: Record<string, unknown>): Promise<void> {
    this.emitter.emit(topic, { origin: this.origin, data });
  }

  listen(topic: Topic, fn: (n: Notification) => void): () => void {
    this.emitter.on(topic, fn);
    return () => this.emitter.off(topic, fn);
  }

  onReconnect(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/** The notifier for DATABASE_URL: LISTEN/NOTIFY on PostgreSQL, in-process on SQLite. */
export async function openNotifier(url: string, logger: Logger, origin?: string): Promise<Notifier> {
  if (databaseKind(url) === 'sqlite') return new LocalNotifier(origin);
  const { PgNotifier } = await import('./notify-postgresql.js');
  const notifier = new PgNotifier(url, logger, origin);
  await notifier.start();
  return notifier;
}
