/**
 * People and their chat identities. identify() is called for every message: it creates the user on first
 * sight and keeps the handle fresh.
 *
 *   const who = await users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
 */
import type { Db } from './db.js';

export interface ChatIdentity {
  provider: 'shell' | 'irc' | 'slack';
  /** Stable id on that network: Slack user id, IRC account (or nick), shell user name. */
  id: string;
  /** What people call them there: Slack display name, IRC nick, shell user name. */
  handle: string;
}

export interface KnownUser {
  id: number;
  name: string;
  githubLogin: string | null;
  karma: number | null;
  identities: { provider: string; externalId: string; handle: string }[];
}

const withIdentities = { identities: { select: { provider: true, externalId: true, handle: true } } } as const;

export class Users {
  constructor(private readonly db: Db) {}

  /** The user behind a chat identity, created on first sight. */
  async identify(who: ChatIdentity): Promise<KnownUser> {
    const found = await this.db.identity.findUnique({
      where: { provider_externalId: { provider: who.provider, externalId: who.id } },
      select: { id: true, handle: true, user: { include: withIdentities } },
    });
    if (found) {
      if (found.handle !== who.handle) {
        await this.db.identity.update({ where: { id: found.id }, data: { handle: who.handle, lastSeenAt: new Date() } });
        const identity = found.user.identities.find((i) => i.provider === who.provider && i.externalId === who.id);
        if (identity) identity.handle = who.handle;
      }
      return found.user;
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
   * then a handle on any network. Case-insensitive. null when nobody matches or the name is ambiguous.
   */
  async resolve(mention: string, provider?: string): Promise<KnownUser | null> {
    const name = mention.replace(/^@/, '').replace(/[:,]$/, '');
    if (!name) return null;
    // Quoted names and CAST: the same SQL must read alike on SQLite and PostgreSQL (which folds bare names).
    const byLogin = await this.db.$queryRaw<{ id: number }[]>`SELECT "id" FROM "User" WHERE lower("githubLogin") = lower(CAST(${name} AS TEXT)) LIMIT 1`;
    if (byLogin[0]) return this.byId(byLogin[0].id);
    const rows = await this.db.$queryRaw<{ userId: number; provider: string }[]>`
      SELECT DISTINCT "userId", "provider" FROM "Identity"
      WHERE lower("externalId") = lower(CAST(${name} AS TEXT)) OR lower("handle") = lower(CAST(${name} AS TEXT))`;
    const local = [...new Set(rows.filter((r) => r.provider === provider).map((r) => r.userId))];
    const any = [...new Set(rows.map((r) => r.userId))];
    const pick = local.length === 1 ? local[0] : local.length === 0 && any.length === 1 ? any[0] : undefined;
    return pick === undefined ? null : this.byId(pick);
  }

  /** Links a GitHub login; refuses one already linked to somebody else. */
  async linkGithub(userId: number, login: string): Promise<{ ok: true } | { ok: false; holder: KnownUser }> {
    const lower = login.toLowerCase();
    const holder = await this.resolveLogin(lower);
    if (holder && holder.id !== userId) return { ok: false, holder };
    await this.db.user.update({ where: { id: userId }, data: { githubLogin: lower } });
    return { ok: true };
  }

  async resolveLogin(login: string): Promise<KnownUser | null> {
    return this.db.user.findUnique({ where: { githubLogin: login.toLowerCase() }, include: withIdentities });
  }
}
