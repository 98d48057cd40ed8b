/**
 * On-call shifts per team. A release manager sets the rotation (`oncall set`); anyone can take the pager for a
 * while (`oncall take`), an override that ends by itself. Now = the newest override in force, else the newest
 * rotation shift in force; next = who holds it when that ends, or the next scheduled shift.
 *
 *   await oncall.set({ team: 'web', userId: 3, setById: 1, startsAt: now, endsAt: null });
 *   const { now: who, next } = await oncall.lookup('web', new Date());
 */
import type { Db } from './db.js';

export interface Shift {
  id: number;
  team: string;
  kind: string;
  startsAt: Date;
  endsAt: Date | null;
  user: { id: number; name: string; identities: { provider: string; externalId: string; handle: string }[] };
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
  async lookup(team: string, now: Date): Promise<{ now: Shift | null; next: Shift | null; nextAt: Date | null }> {
    const current = await this.holder(team, now);
    const upcoming = await this.db.onCall.findFirst({ where: { team, startsAt: { gt: now } }, orderBy: { startsAt: 'asc' }, include: includeUser });
    let nextAt: Date | null = current?.endsAt ?? null;
    if (upcoming && (!nextAt || upcoming.startsAt < nextAt)) nextAt = upcoming.startsAt;
    let next = nextAt ? await this.holder(team, nextAt) : null;
    if (next && current && next.id === current.id) next = null;
    return { now: current, next, nextAt: next ? nextAt : (current?.endsAt ?? null) };
  }

  /** The configured teams plus every team that has ever had a shift, sorted. */
  async teams(configured: readonly string[] = []): Promise<string[]> {
    const rows = await this.db.onCall.findMany({ distinct: ['team'], select: { team: true } });
    return [...new Set([...configured, ...rows.map((r) => r.team)])].sort();
  }
}
