/**
 * Rows of the chat outbox: messages an instance must say on a network it is not connected to (IRC: only the
 * lease holder is). The sender adds; the holder takes the oldest undelivered row and marks it delivered in the
 * same conditional write, so a row is said at most once even if two instances thought they held the lease; a
 * new holder goes on with the rows nobody marked.
 *
 *   const id = await outbox.add({ network: 'irc', room: '#deploys', text: 'deploy #3 succeeded' });
 *   const row = await outbox.take('irc', instanceId); // null: nothing waiting
 */
import type { Db } from './db.js';

export interface OutboxMessage {
  network: string;
  room: string;
  asker?: string | undefined;
  text: string;
}

export interface OutboxRow extends OutboxMessage {
  id: number;
  createdAt: Date;
}

export class ChatOutboxStore {
  constructor(private readonly db: Db) {}

  async add(message: OutboxMessage): Promise<number> {
    const row = await this.db.chatOutbox.create({
      data: { network: message.network, room: message.room, asker: message.asker ?? null, text: message.text },
      select: { id: true },
    });
    return row.id;
  }

  /**
   * Takes the oldest undelivered row of `network` for `by`, marking it delivered (null when none waits). A row
   * another taker marked first is skipped, so each row comes out of take() once.
   */
  async take(network: string, by: string, now = new Date()): Promise<OutboxRow | null> {
    for (;;) {
      const next = await this.db.chatOutbox.findFirst({ where: { network, deliveredAt: null }, orderBy: { id: 'asc' } });
      if (!next) return null;
      const { count } = await this.db.chatOutbox.updateMany({ where: { id: next.id, deliveredAt: null }, data: { deliveredAt: now, deliveredBy: by } });
      if (count === 1)
        return { id: next.id, network: next.network, room: next.room, asker: next.asker ?? undefined, text: next.text, createdAt: next.createdAt };
    }
  }

  /** Delivered rows older than `before` are removed (they are history nobody reads). */
  async prune(before: Date): Promise<number> {
    const { count } = await this.db.chatOutbox.deleteMany({ where: { deliveredAt: { lt: before } } });
    return count;
  }
}
