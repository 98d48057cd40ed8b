/**
 * Push karma: 1..5 stars per user, every change recorded with who and why.
 *
 *   await karma.change({ userId, actorId, kind: 'unlike', reason: 'broke the build' }); // { before: 4, after: 3 }
 */
import { type MaskText, maskPatterns } from '../deploy/mask.js';
import type { Db } from './db.js';
import { dateOf, foldIdentities, type IdentityColumns, queryRows, requiredDate, sql } from './sql.js';
import type { KnownUser } from './users.js';

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
    const [user] = await queryRows<{ karma: number | null }>(this.db, sql`SELECT "karma" FROM "User" WHERE "id" = ${userId}`);
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

  /** The last `limit` changes of a user's karma, newest first, each with who made it (one joined read). */
  async history(userId: number, limit = 5): Promise<KarmaHistoryEntry[]> {
    const rows = await queryRows<HistoryRow>(
      this.db,
      sql`SELECT e."id", e."userId", e."actorId", e."kind", e."before", e."after", e."reason", e."createdAt",
            a."name" AS "actorName", a."githubLogin" AS "actorLogin", a."githubVerifiedAt" AS "actorVerifiedAt", a."karma" AS "actorKarma",
            ai."provider", ai."externalId", ai."handle"
          FROM (SELECT * FROM "KarmaEvent" WHERE "userId" = ${userId} ORDER BY "id" DESC LIMIT ${limit}) e
          JOIN "User" a ON a."id" = e."actorId"
          LEFT JOIN "Identity" ai ON ai."userId" = a."id"
          ORDER BY e."id" DESC, ai."id"`,
    );
    return foldIdentities(
      rows,
      (r): KarmaHistoryEntry => ({
        id: r.id,
        userId: r.userId,
        actorId: r.actorId,
        kind: r.kind,
        before: r.before,
        after: r.after,
        reason: r.reason,
        createdAt: requiredDate(r.createdAt),
        actor: {
          id: r.actorId,
          name: r.actorName,
          githubLogin: r.actorLogin,
          githubVerifiedAt: dateOf(r.actorVerifiedAt),
          karma: r.actorKarma,
          identities: [],
        },
      }),
      (entry) => entry.actor.identities,
    );
  }
}

/** One change of karma and the person who made it. */
export interface KarmaHistoryEntry {
  id: number;
  userId: number;
  actorId: number;
  kind: string;
  before: number;
  after: number;
  reason: string | null;
  createdAt: Date;
  actor: KnownUser;
}

/** A KarmaHistoryEntry as the joined read returns it: the actor flattened into columns, the date as the driver gives it. */
interface HistoryRow extends Omit<KarmaHistoryEntry, 'createdAt' | 'actor'>, IdentityColumns {
  createdAt: unknown;
  actorName: string;
  actorLogin: string | null;
  actorVerifiedAt: unknown;
  actorKarma: number | null;
}
