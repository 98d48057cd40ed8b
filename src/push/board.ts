/**
 * The push as the board shows it: `push status` (confirmed and waiting authors, picks in and out), read by the
 * status command and the web dashboard.
 *
 *   const { push, confirmed, waiting } = await new PushBoard(core).status();
 */
import { ACTIVE_PUSH_STATES, type PickRow, type PushRow } from '../store/push.js';
import { type PushCore, uniqueUsers } from './core.js';

export interface PushStatus {
  push: PushRow | null;
  picks: PickRow[];
  confirmed: PickRow['author'][];
  waiting: PickRow['author'][];
}

/** One push's picks by outcome, for the dashboard: asked for, approved (at any point before ship), conflicted, shipped. */
export interface PushTally {
  id: number;
  name: string;
  state: string;
  requested: number;
  approved: number;
  conflicted: number;
  shipped: number;
}

/** Picks that were approved, whatever happened to them after (picked, conflicted on ship, shipped). */
const APPROVED_ONCE = new Set(['approved', 'picked', 'conflict', 'shipped']);

/** Counts a push's picks (see PushTally). */
export function tally(push: PushRow, picks: Pick<PickRow, 'state'>[]): PushTally {
  return {
    id: push.id,
    name: push.branch ? `push ${push.id} (${push.branch})` : `push ${push.id}`,
    state: push.state,
    requested: picks.length,
    approved: picks.filter((p) => APPROVED_ONCE.has(p.state)).length,
    conflicted: picks.filter((p) => p.state === 'conflict').length,
    shipped: picks.filter((p) => p.state === 'shipped').length,
  };
}

export class PushBoard {
  constructor(private readonly core: PushCore) {}

  private get store() {
    return this.core.store;
  }

  /** The app's last `limit` pushes, newest first, each with its picks counted. */
  async recent(limit = 5): Promise<PushTally[]> {
    const pushes = await this.core.options.store.db.push.findMany({ where: { app: this.core.app }, orderBy: { id: 'desc' }, take: limit });
    return Promise.all(pushes.map(async (p) => tally(p as PushRow, await this.store.picks(p.id))));
  }

  /** `push status`: confirmed and waiting authors, picks in and out. */
  async status(): Promise<PushStatus> {
    // One light read first: with no push yet (most of the day for most teams) that is all `status` costs. The
    // latest push, when it is still going on, is the current one (a new push is opened only when none is).
    const latest = await this.store.latestState(this.core.app);
    if (!latest) return { push: null, picks: [], confirmed: [], waiting: [] };
    const push = ACTIVE_PUSH_STATES.includes(latest.state)
      ? await this.store.get(latest.id)
      : ((await this.core.current()) ?? (await this.store.latest(this.core.app)));
    if (!push) return { push: null, picks: [], confirmed: [], waiting: [] };
    const picks = await this.store.picks(push.id);
    const confirmations = await this.store.confirmations(push.id);
    const confirmedIds = new Set(confirmations.map((c) => c.userId));
    const authors = uniqueUsers(picks.filter((p) => p.state === 'approved').map((p) => p.author));
    return {
      push,
      picks,
      confirmed: uniqueUsers(confirmations.map((c) => c.user)),
      waiting: push.state === 'confirming' || push.state === 'open' ? authors.filter((a) => !confirmedIds.has(a.id)) : [],
    };
  }
}
