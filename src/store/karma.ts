/**
 * Push karma: 1..5 stars per user, every change recorded with who and why.
 *
 *   await karma.change({ userId, actorId, kind: 'unlike', reason: 'broke the build' }); // { before: 4, after: 3 }
 */
import { type MaskText, maskPatterns } from '../deploy/mask.js';
import type { Db } from './db.js';

export const MIN_STARS = 1;
export const MAX_STARS = 5;

export type KarmaKind = 'like' | 'unlike' | 'reset';

export interface KarmaChange {
  userId: number;
  actorId: number;
  kind: KarmaKind;
  reason?: string | undefined;
  /** When (the bot's clock); default now. */
  at?: Date | undefined;
}

export class Karma {
  constructor(
    private readonly db: Db,
    private readonly initial: number,
    /** Reasons are what users typed: masked before they are stored. */
    private readonly mask: MaskText = maskPatterns,
  ) {}

  async stars(userId: number): Promise<number> {
    const user = await this.db.user.findUnique({ where: { id: userId }, select: { karma: true } });
    return user?.karma ?? this.initial;
  }

  /** Applies a change atomically: read, bound to 1..5, write, record. */
  async change(change: KarmaChange): Promise<{ before: number; after: number }> {
    return this.db.$transaction(async (tx) => {
      const user = await tx.user.findUniqueOrThrow({ where: { id: change.userId }, select: { karma: true } });
      const before = user.karma ?? this.initial;
      const wanted = change.kind === 'reset' ? this.initial : before + (change.kind === 'like' ? 1 : -1);
      const after = Math.min(MAX_STARS, Math.max(MIN_STARS, wanted));
      await tx.user.update({ where: { id: change.userId }, data: { karma: after } });
      await tx.karmaEvent.create({
        data: {
          userId: change.userId,
          actorId: change.actorId,
          kind: change.kind,
          before,
          after,
          reason: change.reason ? this.mask(change.reason) : null,
          createdAt: change.at ?? new Date(),
        },
      });
      return { before, after };
    });
  }

  async history(userId: number, limit = 5) {
    return this.db.karmaEvent.findMany({
      where: { userId },
      orderBy: { id: 'desc' },
      take: limit,
      include: { actor: { include: { identities: { select: { provider: true, externalId: true, handle: true } } } } },
    });
  }
}
