/**
 * Chat events already taken (Slack's event_id). Slack redelivers an event it thinks was not acknowledged, to
 * any of the app's Socket Mode connections, so after a failover another instance may get it again; the insert
 * is the check (a unique key), so exactly one instance takes each event id.
 *
 *   if (!(await events.claim('slack', body.event_id))) return; // another instance (or this one) has it
 */
import type { Db } from './db.js';

/** Slack retries an event for minutes; ids are kept a day, then forgotten (every PRUNE_EVERY claims). */
const KEEP_MS = 24 * 60 * 60 * 1000;
const PRUNE_EVERY = 500;

export class ChatEvents {
  private claims = 0;

  constructor(private readonly db: Db) {}

  /** Records the event; false when its id was recorded before (by any instance). */
  async claim(provider: string, eventId: string, now = new Date()): Promise<boolean> {
    if (++this.claims % PRUNE_EVERY === 0) await this.prune(new Date(now.getTime() - KEEP_MS)).catch(() => 0);
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
