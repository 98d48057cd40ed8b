/**
 * Approvals of deploys that wait for them (`approvals: N` on the environment): who approved, the move to
 * `queued` once enough did, and the expiry of the approval window. Every state change is a conditional write
 * through the lifecycle (awaiting_approval → queued | cancelled), so an approval racing the expiry has one winner.
 *
 *   const r = await approvals.approve(12, bob.id, now); // { outcome: 'ready', count: 1, needed: 1 }
 *   const expired = await approvals.expire(now);        // [12] — cancelled: approval expired
 */
import { fromStates } from '../deploy/lifecycle.js';
import type { Audit } from './audit.js';
import { type Db, retryBusy } from './db.js';

export type ApproveResult =
  /** Recorded; `ready`: that was the last one needed, the deploy is queued now. */
  | { outcome: 'recorded' | 'ready'; count: number; needed: number }
  | { outcome: 'already'; count: number; needed: number }
  | { outcome: 'not-waiting'; state: string }
  | { outcome: 'expired' }
  | { outcome: 'unknown' };

/** The reason an expired deploy ends with. */
export const APPROVAL_EXPIRED = 'approval expired';

const person = { select: { id: true, name: true, identities: { select: { provider: true, externalId: true, handle: true } } } } as const;

export class Approvals {
  /** `audit`: where an expiry is recorded as the approvals gate's decision (absent: not recorded). */
  constructor(
    private readonly db: Db,
    private readonly audit?: Pick<Audit, 'recordDecision'>,
  ) {}

  /** Records `userId`'s approval of deploy `deployId` (the caller checked who may) and queues it once enough did. */
  async approve(deployId: number, userId: number, now: Date = new Date()): Promise<ApproveResult> {
    return retryBusy(() =>
      this.db.$transaction(async (tx): Promise<ApproveResult> => {
        const deploy = await tx.deploy.findUnique({ where: { id: deployId } });
        if (!deploy) return { outcome: 'unknown' };
        if (deploy.state !== 'awaiting_approval') return { outcome: 'not-waiting', state: deploy.state };
        if (deploy.approvalExpiresAt && deploy.approvalExpiresAt <= now) return { outcome: 'expired' };
        const needed = deploy.approvalsNeeded;
        const mine = await tx.approval.findUnique({ where: { deployId_userId: { deployId, userId } } });
        if (mine) return { outcome: 'already', count: await tx.approval.count({ where: { deployId } }), needed };
        await tx.approval.create({ data: { deployId, userId, createdAt: now } });
        const count = await tx.approval.count({ where: { deployId } });
        if (count < needed) return { outcome: 'recorded', count, needed };
        const { count: moved } = await tx.deploy.updateMany({
          where: { id: deployId, state: { in: fromStates('queued') } },
          data: { state: 'queued', approvalExpiresAt: null },
        });
        return moved === 1 ? { outcome: 'ready', count, needed } : { outcome: 'not-waiting', state: 'queued' };
      }),
    );
  }

  /** Who approved each deploy, oldest first: for `deploys`, `status <id>` and the viewer. */
  async of(deployIds: number[]) {
    const rows = await this.db.approval.findMany({ where: { deployId: { in: deployIds } }, orderBy: { id: 'asc' }, include: { user: person } });
    const by = new Map<number, (typeof rows)[number]['user'][]>();
    for (const r of rows) by.set(r.deployId, [...(by.get(r.deployId) ?? []), r.user]);
    return by;
  }

  /** Deploys whose approval window has passed become `cancelled` ("approval expired"); returns their ids. */
  async expire(now: Date = new Date()): Promise<number[]> {
    const due = await this.db.deploy.findMany({
      where: { state: 'awaiting_approval', approvalExpiresAt: { lte: now } },
      select: { id: true, app: true, environment: true, approvalsNeeded: true, _count: { select: { approvals: true } } },
    });
    const ended: number[] = [];
    for (const { id, app, environment, approvalsNeeded, _count } of due) {
      const { count } = await this.db.deploy.updateMany({
        where: { id, state: 'awaiting_approval', approvalExpiresAt: { lte: now } },
        data: { state: 'cancelled', error: APPROVAL_EXPIRED, finishedAt: now },
      });
      if (count === 1) {
        await this.db.deployHost.updateMany({ where: { deployId: id, state: 'pending' }, data: { state: 'cancelled' } });
        ended.push(id);
        await this.audit
          ?.recordDecision({
            userId: null,
            identity: 'shepherd',
            app,
            environment,
            deployId: id,
            gate: 'approvals',
            decision: 'expired',
            detail: `${APPROVAL_EXPIRED} (${_count.approvals}/${approvalsNeeded} approvals): cancelled`,
            at: now,
          })
          .catch(() => {}); // the cancel stands; the trail is best effort like the bot's own rows
      }
    }
    return ended;
  }
}
