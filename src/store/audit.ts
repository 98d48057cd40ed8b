/**
 * The audit trail: one row per command the bot received.
 *
 *   await audit.record({ userId: 1, identity: 'irc:alice', room: '#deploys', command: 'lock', text: 'lock staging', outcome: 'ok' });
 */
import { type MaskText, maskPatterns } from '../deploy/mask.js';
import type { Db } from './db.js';

export type Outcome = 'ok' | 'refused' | 'error' | 'unknown';

export interface AuditEntry {
  userId: number | null;
  identity: string;
  room: string;
  command: string;
  text: string;
  outcome: Outcome;
  detail?: string | null | undefined;
  at?: Date | undefined;
}

export class Audit {
  /** `mask`: what users typed and error details are masked before they are stored (a token pasted in chat). */
  constructor(
    private readonly db: Db,
    private readonly mask: MaskText = maskPatterns,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    const { at, ...rest } = entry;
    await this.db.auditEvent.create({
      data: {
        ...rest,
        text: this.mask(entry.text).slice(0, 2000),
        detail: entry.detail ? this.mask(entry.detail).slice(0, 2000) : null,
        createdAt: at ?? new Date(),
      },
    });
  }

  async recent(limit = 20) {
    return this.db.auditEvent.findMany({ orderBy: { id: 'desc' }, take: limit });
  }
}
