/**
 * One environment's lock and queue decisions, one at a time. SQLite runs write transactions one after
 * another anyway; PostgreSQL (READ COMMITTED) lets two run side by side, so a deploy asked at the same moment
 * as another could miss it and queue behind the wrong one. A transaction-scoped advisory lock on the
 * environment restores SQLite's order there, and holds across instances sharing the database.
 *
 *   await this.db.$transaction(async (tx) => { await serializeEnvironment(this.db, tx, 'staging'); … });
 */
import type { Db } from './db.js';

const postgres = new WeakSet<object>();

/** Marks a client as PostgreSQL (db-postgresql.ts does, for each client it opens). */
export function markPostgres(db: Db): void {
  postgres.add(db);
}

/** Whether db is a PostgreSQL client (marked by db-postgresql.ts); otherwise it is SQLite. */
export function isPostgres(db: Db): boolean {
  return postgres.has(db);
}

export async function serializeEnvironment(db: Db, tx: Pick<Db, '$executeRaw'>, environment: string): Promise<void> {
  if (!postgres.has(db)) return;
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`shepherd:environment:${environment}`}))`;
}

/**
 * The same lock without waiting (SKIP LOCKED's way): false when another transaction is deciding this environment
 * right now, so a claim can leave it to that one (or to the next look at the queue) instead of holding a
 * connection while it waits. SQLite: always true (its writes are one at a time anyway).
 *
 *   if (!(await tryEnvironment(this.db, tx, 'staging'))) return false;
 */
export async function tryEnvironment(db: Db, tx: Pick<Db, '$queryRaw'>, environment: string): Promise<boolean> {
  if (!postgres.has(db)) return true;
  const [row] = await tx.$queryRaw<{ ok: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtext(${`shepherd:environment:${environment}`})) AS ok`;
  return row?.ok === true;
}
