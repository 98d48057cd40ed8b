/**
 * Applies prisma/migrations/<timestamp>_<name>/migration.sql (SQLite) or prisma/migrations-postgresql/… in
 * order and records each in _prisma_migrations exactly as `prisma migrate deploy` does (same table, same
 * sha256 checksum), so either tool can take over. We apply them ourselves because Prisma's migrate engine is a
 * separate download that offline machines lack.
 *
 *   const applied = applyMigrations(new Database('data/shepherd.db'), 'prisma/migrations');
 *   const appliedPg = await applyPostgresMigrations(pgClient, 'prisma/migrations-postgresql');
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(dir: string): MigrationFile[] {
  if (!existsSync(dir)) throw new MigrationError(`no migrations folder at ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

interface Recorded {
  name: string;
  checksum: string;
  finishedAt: unknown;
  rolledBackAt: unknown;
}

const SELECT_RECORDED = 'SELECT migration_name AS name, checksum, finished_at AS "finishedAt", rolled_back_at AS "rolledBackAt" FROM _prisma_migrations';

/** The migrations still to apply, in order. Throws MigrationError on a failed or edited migration. */
function pending(recorded: Recorded[], dir: string): MigrationFile[] {
  const done = new Map(recorded.filter((r) => r.rolledBackAt === null).map((r) => [r.name, r]));
  const failed = recorded.find((r) => r.finishedAt === null && r.rolledBackAt === null);
  if (failed) throw new MigrationError(`migration ${failed.name} failed earlier; fix the database, then mark it with \`prisma migrate resolve\``);
  return readMigrations(dir).filter((migration) => {
    const previous = done.get(migration.name);
    if (previous && previous.checksum !== migration.checksum) {
      throw new MigrationError(`migration ${migration.name} was edited after it was applied (checksum differs); add a new migration instead`);
    }
    return !previous;
  });
}

/** Applies what is pending; returns the names applied. Throws MigrationError on a failed or edited migration. */
export function applyMigrations(db: Database, dir: string): string[] {
  db.exec(MIGRATIONS_TABLE);
  const recorded = db.prepare(SELECT_RECORDED).all() as Recorded[];
  const applied: string[] = [];
  for (const migration of pending(recorded, dir)) {
    const id = randomUUID();
    const started = Date.now();
    db.prepare('INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, 0)').run(
      id,
      migration.checksum,
      migration.name,
      started,
    );
    try {
      db.transaction(() => {
        db.exec(migration.sql);
        db.prepare('UPDATE _prisma_migrations SET finished_at = ?, applied_steps_count = 1 WHERE id = ?').run(Date.now(), id);
      })();
    } catch (err) {
      db.prepare('UPDATE _prisma_migrations SET logs = ? WHERE id = ?').run(String((err as Error).message), id);
      throw new MigrationError(`migration ${migration.name} failed: ${(err as Error).message}`);
    }
    applied.push(migration.name);
  }
  return applied;
}

/** The table as Prisma creates it on PostgreSQL. */
const POSTGRES_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** Any key, as long as it is always the same: instances starting together take turns migrating. */
const MIGRATION_LOCK_KEY = 72_707_369;

/** The part of a pg client this needs (pg.Client or a pooled client). */
export interface SqlClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * PostgreSQL: the same, holding an advisory lock so that several instances starting at once apply each
 * migration once; each migration runs in a transaction (DDL is transactional there).
 */
export async function applyPostgresMigrations(db: SqlClient, dir: string): Promise<string[]> {
  await db.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await db.query(POSTGRES_MIGRATIONS_TABLE);
    const { rows } = await db.query(SELECT_RECORDED);
    const applied: string[] = [];
    for (const migration of pending(rows as Recorded[], dir)) {
      const id = randomUUID();
      await db.query('INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)', [
        id,
        migration.checksum,
        migration.name,
      ]);
      try {
        await db.query('BEGIN');
        await db.query(migration.sql);
        await db.query('UPDATE _prisma_migrations SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [id]);
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK').catch(() => {});
        await db.query('UPDATE _prisma_migrations SET logs = $1 WHERE id = $2', [String((err as Error).message), id]);
        throw new MigrationError(`migration ${migration.name} failed: ${(err as Error).message}`);
      }
      applied.push(migration.name);
    }
    return applied;
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
  }
}
