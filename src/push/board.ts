/**
 * The push as the board shows it: `push status` (confirmed and waiting authors, picks in and out), read by the
 * status command and the web dashboard.
 *
 *   const { push, confirmed, waiting } = await new PushBoard(core).status();
 */
import type { PickRow, PushRow } from '../store/push.js';
import { type PushCore, uniqueUsers } from './core.js';

export interface PushStatus {
  push: PushRow | null;
  picks: PickRow[];
  confirmed: PickRow['author'][];
  waiting: PickRow['author'][];
}

export class PushBoard {
  constructor(private readonly core: PushCore) {}

  private get store() {
    return this.core.store;
  }

  /** `push status`: confirmed and waiting authors, picks in and out. */
  async status(): Promise<PushStatus> {
    const push = (await this.core.current()) ?? (await this.store.latest(this.core.app));
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
