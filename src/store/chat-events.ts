/**
 * Chat events already taken (Slack's event_id). Slack redelivers an event it thinks was not acknowledged, to
 * any of the app's Socket Mode connections, so after a failover another instance may get it again; the insert
 * is the check (a unique key), so exactly one instance takes each event id.
 *
 *   if (!(await events.claim('slack', body.event_id))) return; // another instance (or this one) has it
 */
import type { Db } from './db.js';

export class ChatEvents {
  constructor(private readonly db: Db) {}

  /** Records the event; false when its id was recorded before (by any instance). */
  async claim(provider: string, eventId: string, now = new Date()): Promise<boolean> {
    try {
      await this.db.chatEvent.create({ data: { provider, eventId, receivedAt: now } });
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') return false;
      throw err;
    }
  }

  /** Forgets event ids older than `before` (Slack retries within minutes, not days). */
  async prune(before: Date): Promise<number> {
    const { count } = await this.db.chatEvent.deleteMany({ where: { receivedAt: { lt: before } } });
    return count;
  }
}
