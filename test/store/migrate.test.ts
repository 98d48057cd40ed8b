import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/store/db.js';
import { applyMigrations, MigrationError, readMigrations } from '../../src/store/migrate.js';

function scratch() {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-migrate-'));
  const migrations = join(dir, 'migrations');
  cpSync(MIGRATIONS_DIR, migrations, { recursive: true });
  return { db: new Database(join(dir, 'db.sqlite')), migrations };
}

function addMigration(dir: string, name: string, sql: string) {
  mkdirSync(join(dir, name));
  writeFileSync(join(dir, name, 'migration.sql'), sql);
}

describe('applyMigrations', () => {
  it('applies every migration once, in order, and nothing on the next start', () => {
    const { db, migrations } = scratch();
    const names = readMigrations(migrations).map((m) => m.name);
    expect(applyMigrations(db, migrations)).toEqual(names);
    expect(applyMigrations(db, migrations)).toEqual([]);
    addMigration(migrations, '29990101000000_later', 'CREATE TABLE "Later" ("id" INTEGER NOT NULL PRIMARY KEY);');
    expect(applyMigrations(db, migrations)).toEqual(['29990101000000_later']);
    const recorded = db.prepare('SELECT migration_name FROM _prisma_migrations ORDER BY started_at, migration_name').all() as { migration_name: string }[];
    expect(recorded.map((r) => r.migration_name)).toEqual([...names, '29990101000000_later']);
  });

  it('refuses to start on a migration edited after it was applied', () => {
    const { db, migrations } = scratch();
    applyMigrations(db, migrations);
    const first = readMigrations(migrations)[0]!;
    writeFileSync(join(migrations, first.name, 'migration.sql'), `${first.sql}\n-- edited\n`);
    expect(() => applyMigrations(db, migrations)).toThrow(/was edited after it was applied/);
  });

  it('records a failed migration, keeps the database as it was, and refuses to go on until it is resolved', () => {
    const { db, migrations } = scratch();
    applyMigrations(db, migrations);
    addMigration(migrations, '29990101000000_broken', 'CREATE TABLE "Half" ("id" INTEGER);\nTHIS IS NOT SQL;');
    expect(() => applyMigrations(db, migrations)).toThrow(MigrationError);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'Half'").get()).toBeUndefined();
    const row = db.prepare("SELECT finished_at, logs FROM _prisma_migrations WHERE migration_name = '29990101000000_broken'").get() as {
      finished_at: unknown;
      logs: string;
    };
    expect(row.finished_at).toBeNull();
    expect(row.logs).toMatch(/syntax error/);
    expect(() => applyMigrations(db, migrations)).toThrow(/failed earlier.*prisma migrate resolve/);
  });
});
