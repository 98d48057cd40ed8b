/**
 * On-call shifts per team. A release manager sets the rotation (`oncall set`); anyone can take the pager for a
 * while (`oncall take`), an override that ends by itself. Now = the newest override in force, else the newest
 * rotation shift in force; next = who holds it when that ends, or the next scheduled shift.
 *
 *   await oncall.set({ team: 'web', userId: 3, setById: 1, startsAt: now, endsAt: null });
 *   const { now: who, next } = await oncall.lookup('web', new Date());
 */
import type { Db } from './db.js';
import { dateOf, foldIdentities, type IdentityColumns, inList, queryRows, requiredDate, sql } from './sql.js';

export interface Shift {
  id: number;
  team: string;
  kind: string;
  startsAt: Date;
  endsAt: Date | null;
  user: { id: number; name: string; identities: { provider: string; externalId: string; handle: string }[] };
}

/** Who holds a team now, who next and from when (see OnCallStore.lookup). */
export interface OnCallNow {
  now: Shift | null;
  next: Shift | null;
  nextAt: Date | null;
}

type ShiftRow = Omit<Shift, 'user'> & { userId: number };

/** holder()'s rule over rows already read: the newest override in force at `at`, else the newest rotation shift. */
function holderOf(rows: readonly ShiftRow[], at: Date): ShiftRow | null {
  const newest = (kind: string) =>
    rows
      .filter((r) => r.kind === kind && r.startsAt <= at && (r.endsAt === null || r.endsAt > at))
      .sort((a, b) => b.startsAt.getTime() - a.startsAt.getTime() || b.id - a.id)[0] ?? null;
  return newest('override') ?? newest('rotation');
}

export interface NewShift {
  team: string;
  userId: number;
  setById: number;
  startsAt: Date;
  endsAt: Date | null;
}

const includeUser = { user: { select: { id: true, name: true, identities: { select: { provider: true, externalId: true, handle: true } } } } } as const;

export class OnCallStore {
  constructor(private readonly db: Db) {}

  async set(shift: NewShift): Promise<Shift> {
    return this.db.onCall.create({ data: { ...shift, kind: 'rotation' }, include: includeUser });
  }

  async take(shift: NewShift): Promise<Shift> {
    return this.db.onCall.create({ data: { ...shift, kind: 'override' }, include: includeUser });
  }

  /** Who holds `team` at `at`, ignoring shifts that start later. */
  async holder(team: string, at: Date): Promise<Shift | null> {
    const inForce = { team, startsAt: { lte: at }, OR: [{ endsAt: null }, { endsAt: { gt: at } }] };
    return (
      (await this.db.onCall.findFirst({ where: { ...inForce, kind: 'override' }, orderBy: [{ startsAt: 'desc' }, { id: 'desc' }], include: includeUser })) ??
      (await this.db.onCall.findFirst({ where: { ...inForce, kind: 'rotation' }, orderBy: [{ startsAt: 'desc' }, { id: 'desc' }], include: includeUser }))
    );
  }

  /** Now and next for a team. `next` is null when nobody is scheduled after the current shift. */
  async lookup(team: string, now: Date): Promise<OnCallNow> {
    return (await this.lookupMany([team], now)).get(team) ?? { now: null, next: null, nextAt: null };
  }

  /**
   * lookup() for several teams in three statements whatever their number (`status` shows every team): the
   * shifts not over by `now` (the only ones that can hold a team now or later), then their people. The rules
   * are holder()'s: the newest override in force, else the newest rotation shift in force.
   *
   *   const byTeam = await oncall.lookupMany(['web', 'infra'], new Date()); // byTeam.get('web')?.now
   */
  async lookupMany(teams: readonly string[], now: Date): Promise<Map<string, OnCallNow>> {
    const raw = teams.length
      ? await queryRows<Omit<ShiftRow, 'startsAt' | 'endsAt'> & { startsAt: unknown; endsAt: unknown }>(
          this.db,
          sql`SELECT "id", "team", "kind", "startsAt", "endsAt", "userId" FROM "OnCall"
              WHERE "team" IN (${inList(teams)}) AND ("endsAt" IS NULL OR "endsAt" > ${now}) ORDER BY "id"`,
        )
      : [];
    const rows: ShiftRow[] = raw.map((r) => ({ ...r, startsAt: requiredDate(r.startsAt), endsAt: dateOf(r.endsAt) }));
    const picked = new Map<string, { now: ShiftRow | null; next: ShiftRow | null; nextAt: Date | null }>();
    for (const team of teams) {
      const own = rows.filter((r) => r.team === team);
      const current = holderOf(own, now);
      // The first shift to start later (any kind); equal starts: the older row, as the database lists them.
      const upcoming = own.filter((r) => r.startsAt > now).sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime() || a.id - b.id)[0];
      let nextAt: Date | null = current?.endsAt ?? null;
      if (upcoming && (!nextAt || upcoming.startsAt < nextAt)) nextAt = upcoming.startsAt;
      let next = nextAt ? holderOf(own, nextAt) : null;
      if (next && current && next.id === current.id) next = null;
      picked.set(team, { now: current, next, nextAt: next ? nextAt : (current?.endsAt ?? null) });
    }
    const ids = [...new Set([...picked.values()].flatMap((p) => [p.now?.userId, p.next?.userId]).filter((id): id is number => id !== undefined))];
    const users = await people(this.db, ids);
    const shift = (r: ShiftRow | null): Shift | null => {
      const user = r && users.get(r.userId);
      return r && user ? { id: r.id, team: r.team, kind: r.kind, startsAt: r.startsAt, endsAt: r.endsAt, user } : null;
    };
    return new Map([...picked].map(([team, p]) => [team, { now: shift(p.now), next: shift(p.next), nextAt: p.nextAt }]));
  }

  /** The configured teams plus every team that has ever had a shift, sorted. */
  async teams(configured: readonly string[] = []): Promise<string[]> {
    const rows = await queryRows<{ team: string }>(this.db, sql`SELECT DISTINCT "team" FROM "OnCall"`);
    return [...new Set([...configured, ...rows.map((r) => r.team)])].sort();
  }
}

/** Users by id with their chat identities, in one joined read (none asked: no read). */
async function people(db: Db, ids: readonly number[]): Promise<Map<number, Shift['user']>> {
  if (ids.length === 0) return new Map();
  const rows = await queryRows<{ id: number; name: string } & IdentityColumns>(
    db,
    sql`SELECT u."id", u."name", i."provider", i."externalId", i."handle"
        FROM "User" u LEFT JOIN "Identity" i ON i."userId" = u."id" WHERE u."id" IN (${inList(ids)}) ORDER BY u."id", i."id"`,
  );
  const users = foldIdentities(
    rows,
    (r): Shift['user'] => ({ id: r.id, name: r.name, identities: [] }),
    (u) => u.identities,
  );
  return new Map(users.map((u) => [u.id, u]));
}
