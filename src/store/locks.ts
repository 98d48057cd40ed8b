/**
 * Environment locks: who holds an environment, why, since when. app '*' holds that environment of every app.
 * Taking a lock is one transaction, and the unique (app, environment) index backs it up, so of two people
 * racing for an environment exactly one wins (Shipit #693: check-then-write gave double deploys).
 *
 *   const r = await locks.acquire({ app: '*', environment: 'staging', holderId: 7, reason: 'db migration' });
 *   if (!r.ok) console.log(`held by ${r.held.holderId}`);
 */
import { type MaskText, maskPatterns } from '../deploy/mask.js';
import { type Db, retryBusy } from './db.js';
import { serializeEnvironment } from './serialize.js';
import { foldIdentities, type IdentityColumns, queryRows, requiredDate, sql } from './sql.js';

export const ALL_APPS = '*';

export interface LockRequest {
  app: string;
  environment: string;
  holderId: number;
  reason?: string | null | undefined;
  deployId?: number | null | undefined;
  /** When it was taken (the bot's clock); default now. */
  at?: Date | undefined;
}

export interface HeldLock {
  id: number;
  app: string;
  environment: string;
  holderId: number;
  reason: string | null;
  deployId: number | null;
  createdAt: Date;
  holder: { id: number; name: string; identities: { provider: string; externalId: string; handle: string }[] };
}

export type UnlockResult = { ok: true; lock: HeldLock } | { ok: false; heldByDeploy: number | null; lock: HeldLock | null };

/** `unlock` met a deploy's lock: what to tell the user. */
export function heldByDeployRefusal(scope: string, deployId: number): string {
  return `${scope} is held by deploy #${deployId} — \`cancel ${deployId}\` to stop it; its lock is freed when it ends`;
}

export type AcquireResult = { ok: true; lock: HeldLock } | { ok: false; held: HeldLock };

const includeHolder = { holder: { select: { id: true, name: true, identities: { select: { provider: true, externalId: true, handle: true } } } } } as const;

/** Locks that stand in the way of `app` in `environment` ('*' conflicts with every app's lock there). */
function conflictsWith(app: string, environment: string) {
  return app === ALL_APPS ? { environment } : { environment, app: { in: [app, ALL_APPS] } };
}

function lockData(request: LockRequest, mask: MaskText) {
  return {
    app: request.app,
    environment: request.environment,
    holderId: request.holderId,
    reason: request.reason ? mask(request.reason) : null,
    deployId: request.deployId ?? null,
    createdAt: request.at ?? new Date(),
  };
}

export class Locks {
  /** `mask`: reasons are what users typed, masked before they are stored. */
  constructor(
    private readonly db: Db,
    private readonly mask: MaskText = maskPatterns,
  ) {}

  async acquire(request: LockRequest): Promise<AcquireResult> {
    try {
      return await retryBusy(() =>
        this.db.$transaction(async (tx) => {
          await serializeEnvironment(this.db, tx, request.environment);
          const held = await tx.lock.findFirst({ where: conflictsWith(request.app, request.environment), include: includeHolder, orderBy: { id: 'asc' } });
          if (held) return { ok: false as const, held };
          const lock = await tx.lock.create({
            data: lockData(request, this.mask),
            include: includeHolder,
          });
          return { ok: true as const, lock };
        }),
      );
    } catch (err) {
      if ((err as { code?: string }).code !== 'P2002') throw err;
      const held = await this.blocking(request.app, request.environment);
      if (!held) throw err;
      return { ok: false, held };
    }
  }

  /** The lock that would stop `app` in `environment`, if any. */
  async blocking(app: string, environment: string): Promise<HeldLock | null> {
    return this.db.lock.findFirst({ where: conflictsWith(app, environment), include: includeHolder, orderBy: { id: 'asc' } });
  }

  async get(app: string, environment: string): Promise<HeldLock | null> {
    return this.db.lock.findUnique({ where: { app_environment: { app, environment } }, include: includeHolder });
  }

  /**
   * Frees a lock taken by hand (`unlock`): only a manual lock (no deploy) on exactly this scope is removed, so a
   * deploy that took the environment meanwhile keeps its lock. `heldByDeploy` says which deploy holds it.
   */
  async unlock(app: string, environment: string, lockId?: number): Promise<UnlockResult> {
    // Given the id the user saw, a manual lock someone else took meanwhile is not removed either.
    const lock = await this.db.lock.findFirst({ where: { app, environment, deployId: null, ...(lockId ? { id: lockId } : {}) }, include: includeHolder });
    if (lock) {
      const { count } = await this.db.lock.deleteMany({ where: { id: lock.id, deployId: null } });
      if (count === 1) return { ok: true, lock };
    }
    const now = await this.get(app, environment);
    if (now?.deployId) return { ok: false, heldByDeploy: now.deployId, lock: now };
    return { ok: false, heldByDeploy: null, lock: now };
  }

  /** Hands an existing lock to someone else in one step (lock!). */
  async takeOver(lock: HeldLock, request: LockRequest): Promise<HeldLock> {
    return retryBusy(() =>
      this.db.$transaction(async (tx) => {
        await serializeEnvironment(this.db, tx, request.environment);
        await tx.lock.deleteMany({ where: { id: lock.id } });
        return tx.lock.create({
          data: lockData(request, this.mask),
          include: includeHolder,
        });
      }),
    );
  }

  /** Every lock, by environment then app, with its holder (one joined read: `status` shows them). */
  async list(): Promise<HeldLock[]> {
    const rows = await queryRows<LockRow>(
      this.db,
      sql`SELECT l."id", l."app", l."environment", l."holderId", l."reason", l."deployId", l."createdAt", h."name",
            i."provider", i."externalId", i."handle"
          FROM "Lock" l JOIN "User" h ON h."id" = l."holderId" LEFT JOIN "Identity" i ON i."userId" = h."id"
          ORDER BY l."environment", l."app", l."id", i."id"`,
    );
    return foldIdentities(
      rows,
      (r): HeldLock => ({
        id: r.id,
        app: r.app,
        environment: r.environment,
        holderId: r.holderId,
        reason: r.reason,
        deployId: r.deployId,
        createdAt: requiredDate(r.createdAt),
        holder: { id: r.holderId, name: r.name, identities: [] },
      }),
      (lock) => lock.holder.identities,
    );
  }
}

/** A HeldLock as the joined read returns it: the holder flattened into columns, the date as the driver gives it. */
interface LockRow extends Omit<HeldLock, 'createdAt' | 'holder'>, IdentityColumns {
  createdAt: unknown;
  name: string;
}
