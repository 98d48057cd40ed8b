/**
 * The daily push in the database: pushes, their cherry-pick requests and the authors' "I'm here" confirmations.
 * State changes are conditional updates (from → to), so two release managers acting at once cannot both win.
 *
 *   const push = await pushes.openOrCurrent('web', now);      // carries deferred picks of earlier pushes over
 *   const r = await pushes.addPick({ pushId: push.id, subject: '#12', ... });
 *   await pushes.movePicks([r.pick.id], ['requested'], 'approved', { decidedById: rm.id, decidedAt: now });
 */
import type { Db } from './db.js';
import { queryRows, sql } from './sql.js';

export type PushState = 'open' | 'confirming' | 'shipping' | 'shipped' | 'aborted';
export type PickState = 'requested' | 'approved' | 'rejected' | 'picked' | 'conflict' | 'deferred' | 'shipped';

/** Pushes that are still going on (at most one per app). */
export const ACTIVE_PUSH_STATES: PushState[] = ['open', 'confirming', 'shipping'];

const person = {
  select: { id: true, name: true, githubLogin: true, karma: true, identities: { select: { provider: true, externalId: true, handle: true } } },
} as const;
const pickInclude = { requester: person, author: person, decidedBy: person } as const;

export type PushRow = NonNullable<Awaited<ReturnType<Db['push']['findUnique']>>>;
export type PickRow = NonNullable<Awaited<ReturnType<PushStore['pick']>>>;
export type Person = PickRow['author'];

export interface NewPick {
  pushId: number;
  subject: string;
  prNumber: number | null;
  sha: string;
  title: string;
  url: string | null;
  requesterId: number;
  authorId: number;
  authorName: string;
  additions: number;
  deletions: number;
  files: number;
  comments: number | null;
  reviewComments: number | null;
  risk?: number | null;
  riskReasons?: string | null;
  requestedAt: Date;
}

export type AddPickResult = { ok: true; pick: PickRow } | { ok: false; existing: PickRow };

export class PushStore {
  constructor(private readonly db: Db) {}

  /** The push going on for `app`, if any. */
  async current(app: string): Promise<PushRow | null> {
    return this.db.push.findFirst({ where: { app, state: { in: ACTIVE_PUSH_STATES } }, orderBy: { id: 'desc' } });
  }

  /** The id and state of the most recent push of `app` (one light read: `status` asks on every call). */
  async latestState(app: string): Promise<{ id: number; state: PushState } | null> {
    const [row] = await queryRows<{ id: number; state: PushState }>(
      this.db,
      sql`SELECT "id", "state" FROM "Push" WHERE "app" = ${app} ORDER BY "id" DESC LIMIT 1`,
    );
    return row ?? null;
  }

  /** The most recent push of `app`, whatever its state. */
  async latest(app: string): Promise<PushRow | null> {
    return this.db.push.findFirst({ where: { app }, orderBy: { id: 'desc' } });
  }

  async get(id: number): Promise<PushRow | null> {
    return this.db.push.findUnique({ where: { id } });
  }

  /**
   * The current push, or a new `open` one. A new push takes over every deferred pick of earlier pushes as a
   * fresh request (same requester, author, size and request time), so nothing that was put off is forgotten.
   */
  async openOrCurrent(app: string, now: Date): Promise<{ push: PushRow; carried: PickRow[] }> {
    return this.db.$transaction(async (tx) => {
      const current = await tx.push.findFirst({ where: { app, state: { in: ACTIVE_PUSH_STATES } }, orderBy: { id: 'desc' } });
      if (current) return { push: current, carried: [] };
      const push = await tx.push.create({ data: { app, state: 'open', createdAt: now } });
      const deferred = await tx.cherryPick.findMany({
        where: { state: 'deferred', carriedTo: { is: null }, push: { app } },
        orderBy: [{ requestedAt: 'asc' }, { id: 'asc' }],
      });
      const carried: PickRow[] = [];
      const seen = new Set<string>();
      for (const d of deferred) {
        // Two deferrals of the same change (re-requested meanwhile) become one request.
        if (seen.has(d.subject)) continue;
        seen.add(d.subject);
        carried.push(
          await tx.cherryPick.create({
            data: {
              pushId: push.id,
              subject: d.subject,
              prNumber: d.prNumber,
              sha: d.sha,
              title: d.title,
              url: d.url,
              requesterId: d.requesterId,
              authorId: d.authorId,
              authorName: d.authorName,
              additions: d.additions,
              deletions: d.deletions,
              files: d.files,
              comments: d.comments,
              reviewComments: d.reviewComments,
              risk: d.risk,
              riskReasons: d.riskReasons,
              state: 'requested',
              carriedFromId: d.id,
              requestedAt: d.requestedAt,
            },
            include: pickInclude,
          }),
        );
      }
      return { push, carried };
    });
  }

  /** Moves a push from one of `from` to `to` (with extra fields); false when it was not in `from` any more. */
  async movePush(id: number, from: PushState[], to: PushState, data: Partial<Omit<PushRow, 'id' | 'state'>> = {}): Promise<boolean> {
    const { count } = await this.db.push.updateMany({ where: { id, state: { in: from } }, data: { ...data, state: to } });
    return count === 1;
  }

  /** Marks the confirmation window of a confirming push closed; false when it already was (a racing timer). */
  async closeWindow(id: number, at: Date): Promise<boolean> {
    const { count } = await this.db.push.updateMany({ where: { id, state: 'confirming', deferredAt: null }, data: { deferredAt: at } });
    return count === 1;
  }

  /**
   * Claims one reminder of a confirming push: remindedAt moves from `previous` (what the caller read) to `at`
   * in one conditional write, so of several instances whose timers read the same push exactly one reminds.
   */
  async claimReminder(id: number, previous: Date | null, at: Date): Promise<boolean> {
    const { count } = await this.db.push.updateMany({ where: { id, state: 'confirming', deferredAt: null, remindedAt: previous }, data: { remindedAt: at } });
    return count === 1;
  }

  async updatePush(id: number, data: Partial<Omit<PushRow, 'id' | 'state'>>): Promise<void> {
    await this.db.push.update({ where: { id }, data });
  }

  /** Adds a request; one per subject per push (the unique index decides races). */
  async addPick(pick: NewPick): Promise<AddPickResult> {
    try {
      return { ok: true, pick: await this.db.cherryPick.create({ data: { ...pick, state: 'requested' }, include: pickInclude }) };
    } catch (err) {
      if ((err as { code?: string }).code !== 'P2002') throw err;
      const existing = await this.db.cherryPick.findUnique({ where: { pushId_subject: { pushId: pick.pushId, subject: pick.subject } }, include: pickInclude });
      if (!existing) throw err;
      return { ok: false, existing };
    }
  }

  async pick(id: number) {
    return this.db.cherryPick.findUnique({ where: { id }, include: pickInclude });
  }

  /** A push's picks in request order (the order they are cherry-picked in). */
  async picks(pushId: number, states?: PickState[]): Promise<PickRow[]> {
    return this.db.cherryPick.findMany({
      where: { pushId, ...(states ? { state: { in: states } } : {}) },
      include: pickInclude,
      orderBy: [{ requestedAt: 'asc' }, { id: 'asc' }],
    });
  }

  /** Moves the given picks that are in one of `from` to `to`; returns how many moved. */
  async movePicks(
    ids: number[],
    from: PickState[],
    to: PickState,
    data: Partial<Pick<PickRow, 'reason' | 'decidedById' | 'decidedAt' | 'conflictFiles' | 'pickedSha'>> = {},
  ): Promise<number> {
    if (ids.length === 0) return 0;
    const { count } = await this.db.cherryPick.updateMany({ where: { id: { in: ids }, state: { in: from } }, data: { ...data, state: to } });
    return count;
  }

  /** Records "I'm here"; false when this user had already confirmed for this push. */
  async confirm(pushId: number, userId: number, at: Date): Promise<boolean> {
    try {
      await this.db.confirmation.create({ data: { pushId, userId, createdAt: at } });
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') return false;
      throw err;
    }
  }

  async confirmations(pushId: number) {
    return this.db.confirmation.findMany({ where: { pushId }, include: { user: person }, orderBy: { id: 'asc' } });
  }

  /** Every pick (any push) of this commit, either as requested or as the copy made on a push branch. */
  async picksOfCommit(sha: string): Promise<(PickRow & { push: PushRow })[]> {
    return this.db.cherryPick.findMany({
      where: { OR: [{ sha }, { pickedSha: sha }] },
      include: { ...pickInclude, push: true },
      orderBy: { id: 'desc' },
    });
  }

  /** Every pick of a PR number (any push), newest first. */
  async picksOfPr(prNumber: number, app: string): Promise<(PickRow & { push: PushRow })[]> {
    return this.db.cherryPick.findMany({ where: { prNumber, push: { app } }, include: { ...pickInclude, push: true }, orderBy: { id: 'desc' } });
  }

  /** Pushes that have a branch (for "which push contains this rev"), newest first. */
  async withBranches(app: string, limit = 10): Promise<PushRow[]> {
    return this.db.push.findMany({ where: { app, branch: { not: null }, state: { not: 'aborted' } }, orderBy: { id: 'desc' }, take: limit });
  }

  /** Branch names already used by pushes of this app. */
  async branchTaken(app: string, branch: string): Promise<boolean> {
    return (await this.db.push.count({ where: { app, branch } })) > 0;
  }
}
