/**
 * Freezes set in chat (`freeze <env> [until <time>] <reason>`, `unfreeze <env>`): one in force per
 * environment; a new one replaces it. Freezes from shepherd.yml are config and never stored.
 *
 *   await freezes.set({ environment: 'production', reason: 'incident 4711', until: null, createdById: 1, at: now });
 *   const held = await freezes.inForce(now); // [{ environment, reason, until, createdBy }]
 */
import type { Db } from './db.js';
import { queryRows, sql } from './sql.js';

const person = { select: { id: true, name: true, identities: { select: { provider: true, externalId: true, handle: true } } } } as const;

export interface NewFreeze {
  environment: string;
  reason: string;
  until: Date | null;
  createdById: number;
  at: Date;
}

export type FreezeRow = NonNullable<Awaited<ReturnType<Freezes['get']>>>;

export class Freezes {
  constructor(private readonly db: Db) {}

  async get(id: number) {
    return this.db.freeze.findUnique({ where: { id }, include: { createdBy: person } });
  }

  /** Sets a freeze, ending the one in force for that environment (if any) in the same transaction. */
  async set(input: NewFreeze): Promise<FreezeRow> {
    return this.db.$transaction(async (tx) => {
      await tx.freeze.updateMany({ where: { environment: input.environment, endedAt: null }, data: { endedAt: input.at, endedById: input.createdById } });
      return tx.freeze.create({
        data: { environment: input.environment, reason: input.reason, until: input.until, createdById: input.createdById, createdAt: input.at },
        include: { createdBy: person },
      });
    });
  }

  /** Ends the freeze in force for `environment`; returns it, or null when there was none (or it had run out). */
  async end(environment: string, byId: number, at: Date): Promise<FreezeRow | null> {
    const current = await this.db.freeze.findFirst({
      where: { environment, endedAt: null, OR: [{ until: null }, { until: { gt: at } }] },
      include: { createdBy: person },
      orderBy: { id: 'desc' },
    });
    if (!current) return null;
    const { count } = await this.db.freeze.updateMany({ where: { id: current.id, endedAt: null }, data: { endedAt: at, endedById: byId } });
    return count === 1 ? current : null;
  }

  /** Freezes in force at `at` (not ended, not run out), optionally for one environment. */
  async inForce(at: Date, environment?: string): Promise<FreezeRow[]> {
    // Most of the time nothing is frozen (and `status` and every deploy gate ask): one indexed read says so
    // before Prisma loads freezes with their setters in three statements.
    const only = environment === undefined ? sql`` : sql` AND "environment" = ${environment}`;
    const any = await queryRows(this.db, sql`SELECT "id" FROM "Freeze" WHERE "endedAt" IS NULL AND ("until" IS NULL OR "until" > ${at})${only} LIMIT 1`);
    if (any.length === 0) return [];
    return this.db.freeze.findMany({
      where: { endedAt: null, OR: [{ until: null }, { until: { gt: at } }], ...(environment ? { environment } : {}) },
      include: { createdBy: person },
      orderBy: { id: 'asc' },
    });
  }
}
