/**
 * Leases on connections only one instance may open at a time (the IRC connection: one nick, one reader of the
 * channel). A lease is one row per name; its holder renews `expiresAt` and anyone may take it once that has
 * passed. Each step is one conditional write, so two instances never both come away holding it.
 *
 *   if (await leases.acquire('irc', instanceId, 20_000)) ... // held until now + 20 s unless renewed
 *   await leases.release('irc', instanceId);                   // at a graceful stop: the next takes it at once
 */
import type { Db } from './db.js';

export class ChatLeases {
  constructor(private readonly db: Db) {}

  /**
   * Renews the lease when `holder` has it, takes it when it is free or expired; 'renewed' | 'taken', or null
   * when another holder's lease is still running. Clocks of the instances are compared (run NTP), as for heartbeats.
   */
  async acquire(name: string, holder: string, ttlMs: number, now = new Date()): Promise<'renewed' | 'taken' | null> {
    const expiresAt = new Date(now.getTime() + ttlMs);
    const renewed = await this.db.chatLease.updateMany({ where: { name, holder }, data: { expiresAt } });
    if (renewed.count === 1) return 'renewed';
    const taken = await this.db.chatLease.updateMany({ where: { name, expiresAt: { lt: now } }, data: { holder, expiresAt, acquiredAt: now } });
    if (taken.count === 1) return 'taken';
    try {
      await this.db.chatLease.create({ data: { name, holder, expiresAt, acquiredAt: now } });
      return 'taken';
    } catch (err) {
      // Someone created it first (the primary key refused ours): theirs it is.
      if ((err as { code?: string }).code === 'P2002') return null;
      throw err;
    }
  }

  /** Gives the lease up if `holder` has it (true when it did). */
  async release(name: string, holder: string): Promise<boolean> {
    const { count } = await this.db.chatLease.deleteMany({ where: { name, holder } });
    return count === 1;
  }

  /** The current holder and expiry, or null when nobody holds it. */
  async holder(name: string): Promise<{ holder: string; expiresAt: Date } | null> {
    return this.db.chatLease.findUnique({ where: { name }, select: { holder: true, expiresAt: true } });
  }
}
