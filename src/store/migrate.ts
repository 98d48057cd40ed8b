/**
 * Applies prisma/migrations/<timestamp>_<name>/migration.sql in order and records each in _prisma_migrations
 * exactly as `prisma migrate deploy` does (same table, same sha256 checksum), so either tool can take over.
 * We apply them ourselves because Prisma's migrate engine is a separate download that offline machines lack.
 *
 *   const applied = applyMigrations(new Database('data/shepherd.db'), 'prisma/migrations');
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

/** Applies what is pending; returns the names applied. Throws MigrationError on a failed or edited migration. */
export function applyMigrations(db: Database, dir: string): string[] {
  db.exec(MIGRATIONS_TABLE);
  const recorded = db
    .prepare('SELECT migration_name AS name, checksum, finished_at AS finishedAt, rolled_back_at AS rolledBackAt FROM _prisma_migrations')
    .all() as { name: string; checksum: string; finishedAt: unknown; rolledBackAt: unknown }[];
  const done = new Map(recorded.filter((r) => r.rolledBackAt === null).map((r) => [r.name, r]));

  const failed = recorded.find((r) => r.finishedAt === null && r.rolledBackAt === null);
  if (failed) throw new MigrationError(`migration ${failed.name} failed earlier; fix the database, then mark it with \`prisma migrate resolve\``);

  const applied: string[] = [];
  for (const migration of readMigrations(dir)) {
    const previous = done.get(migration.name);
    if (previous) {
      if (previous.checksum !== migration.checksum) {
        throw new MigrationError(`migration ${migration.name} was edited after it was applied (checksum differs); add a new migration instead`);
      }
      continue;
    }
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
