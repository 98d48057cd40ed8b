/**
 * People and their chat identities. identify() is called for every message: it creates the user on first
 * sight and keeps the handle fresh.
 *
 *   const who = await users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
 */
import type { ChatIdentity } from '../chat/types.js';
import type { Db } from './db.js';
import { dateOf, queryRows, sql } from './sql.js';

export type { ChatIdentity } from '../chat/types.js';

export interface KnownUser {
  id: number;
  name: string;
  githubLogin: string | null;
  /**
   * When githubLogin was proven through GitHub (iam github, device flow); null: linked, not verified. Absent
   * where a store selects only a name to show (treated as not verified).
   */
  githubVerifiedAt?: Date | null;
  karma: number | null;
  identities: { provider: string; externalId: string; handle: string }[];
}

/** identify()'s joined row: the identity asked about, its user, and one of that user's identities. */
interface IdentityRow {
  identityId: number;
  seen: string;
  id: number;
  name: string;
  githubLogin: string | null;
  githubVerifiedAt: unknown;
  karma: number | null;
  provider: string;
  externalId: string;
  handle: string;
}

const withIdentities = { identities: { select: { provider: true, externalId: true, handle: true } } } as const;

export class Users {
  constructor(private readonly db: Db) {}

  /**
   * The user behind a chat identity, created on first sight. Every message asks, so the usual case (known, same
   * handle) is one joined read, never cached: a role granted or a GitHub login verified by another instance on
   * the same database shows on the very next command.
   */
  async identify(who: ChatIdentity): Promise<KnownUser> {
    const rows = await queryRows<IdentityRow>(
      this.db,
      sql`SELECT i."id" AS "identityId", i."handle" AS "seen", u."id", u."name", u."githubLogin", u."githubVerifiedAt", u."karma",
            o."provider", o."externalId", o."handle"
          FROM "Identity" i JOIN "User" u ON u."id" = i."userId" JOIN "Identity" o ON o."userId" = u."id"
          WHERE i."provider" = ${who.provider} AND i."externalId" = ${who.id}
          ORDER BY o."id"`,
    );
    const first = rows[0];
    if (first) {
      const user: KnownUser = {
        id: first.id,
        name: first.name,
        githubLogin: first.githubLogin,
        githubVerifiedAt: dateOf(first.githubVerifiedAt),
        karma: first.karma,
        identities: rows.map((r) => ({ provider: r.provider, externalId: r.externalId, handle: r.handle })),
      };
      if (first.seen !== who.handle) {
        await this.db.identity.update({ where: { id: first.identityId }, data: { handle: who.handle, lastSeenAt: new Date() } });
        const identity = user.identities.find((i) => i.provider === who.provider && i.externalId === who.id);
        if (identity) identity.handle = who.handle;
      }
      return user;
    }
    try {
      return await this.db.user.create({
        data: { name: who.handle, identities: { create: { provider: who.provider, externalId: who.id, handle: who.handle } } },
        include: withIdentities,
      });
    } catch (err) {
      // Two first messages from the same person at once: the other one created it.
      if ((err as { code?: string }).code === 'P2002') return this.identify(who);
      throw err;
    }
  }

  async byId(id: number): Promise<KnownUser | null> {
    return this.db.user.findUnique({ where: { id }, include: withIdentities });
  }

  /**
   * Finds who '@name' means: a linked GitHub login, then an identity on the asker's network (id or handle),
   * then a handle on any network, then a GitHub-only user of that login. Case-insensitive. null when nobody
   * matches or the name is ambiguous.
   */
  async resolve(mention: string, provider?: string): Promise<KnownUser | null> {
    const name = mention.replace(/^@/, '').replace(/[:,]$/, '');
    if (!name) return null;
    // Quoted names and CAST: the same SQL must read alike on SQLite and PostgreSQL (which folds bare names).
    const byLogin = await this.db.$queryRaw<{ id: number }[]>`SELECT "id" FROM "User" WHERE lower("githubLogin") = lower(CAST(${name} AS TEXT)) LIMIT 1`;
    const loginUser = byLogin[0] ? await this.byId(byLogin[0].id) : null;
    if (loginUser && loginUser.identities.length > 0) return loginUser;
    const rows = await this.db.$queryRaw<{ userId: number; provider: string }[]>`
      SELECT DISTINCT "userId", "provider" FROM "Identity"
      WHERE lower("externalId") = lower(CAST(${name} AS TEXT)) OR lower("handle") = lower(CAST(${name} AS TEXT))`;
    const local = [...new Set(rows.filter((r) => r.provider === provider).map((r) => r.userId))];
    const any = [...new Set(rows.map((r) => r.userId))];
    const pick = local.length === 1 ? local[0] : local.length === 0 && any.length === 1 ? any[0] : undefined;
    // A chat user of that name comes before a GitHub-only user (a PR author nobody linked yet) of that login.
    return pick === undefined ? loginUser : this.byId(pick);
  }

  /**
   * Links a GitHub login, not verified (it grants no roles until verifyGithub). Refuses a login linked to somebody
   * else in chat; linking the login one already holds keeps its verification. A GitHub-only user (created by
   * githubUser() for a PR author not in chat yet) is taken over: their picks, karma and history move here.
   */
  async linkGithub(userId: number, login: string): Promise<{ ok: true; verified: boolean } | { ok: false; holder: KnownUser }> {
    const lower = login.toLowerCase();
    const holder = await this.resolveLogin(lower);
    if (holder && holder.id !== userId && (holder.identities.length > 0 || holder.githubVerifiedAt)) return { ok: false, holder };
    if (holder && holder.id === userId) return { ok: true, verified: Boolean(holder.githubVerifiedAt) };
    await this.db.$transaction(async (tx) => {
      if (holder) await takeOver(tx, holder, userId);
      await tx.user.update({ where: { id: userId }, data: { githubLogin: lower, githubVerifiedAt: null } });
    });
    return { ok: true, verified: false };
  }

  /**
   * Records that GitHub proved `login` is this user's. An unverified link of somebody else to that login is
   * dropped (it was only a claim), a GitHub-only user of that login is taken over; a login verified by somebody
   * else is refused. One transaction, so two verifications of one login cannot both win.
   */
  async verifyGithub(userId: number, login: string, at: Date): Promise<{ ok: true } | { ok: false; holder: KnownUser }> {
    const lower = login.toLowerCase();
    return this.db.$transaction(async (tx) => {
      const holder = await tx.user.findUnique({ where: { githubLogin: lower }, include: withIdentities });
      if (holder && holder.id !== userId) {
        if (holder.githubVerifiedAt) return { ok: false as const, holder };
        if (holder.identities.length === 0) await takeOver(tx, holder, userId);
        else await tx.user.update({ where: { id: holder.id }, data: { githubLogin: null } });
      }
      await tx.user.update({ where: { id: userId }, data: { githubLogin: lower, githubVerifiedAt: at } });
      return { ok: true as const };
    });
  }

  /**
   * The user behind a GitHub login, created without chat identities when nobody linked it yet, so a PR
   * author's karma and picks are theirs before they ever talk to the bot.
   *
   *   const dave = await users.githubUser('dave-gh'); // dave.identities.length === 0 until `iam github dave-gh`
   */
  async githubUser(login: string): Promise<KnownUser> {
    const found = await this.resolveLogin(login);
    if (found) return found;
    try {
      return await this.db.user.create({ data: { name: login, githubLogin: login.toLowerCase() }, include: withIdentities });
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') return this.githubUser(login);
      throw err;
    }
  }

  async resolveLogin(login: string): Promise<KnownUser | null> {
    return this.db.user.findUnique({ where: { githubLogin: login.toLowerCase() }, include: withIdentities });
  }
}

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** A GitHub-only user's picks, karma and on-call rows move to `userId`, and the GitHub-only user goes. */
async function takeOver(tx: Tx, holder: KnownUser & { karma?: number | null }, userId: number): Promise<void> {
  await tx.cherryPick.updateMany({ where: { authorId: holder.id }, data: { authorId: userId } });
  await tx.karmaEvent.updateMany({ where: { userId: holder.id }, data: { userId } });
  await tx.onCall.updateMany({ where: { userId: holder.id }, data: { userId } });
  await tx.user.delete({ where: { id: holder.id } });
  if (holder.karma != null) await tx.user.update({ where: { id: userId }, data: { karma: holder.karma } });
}
