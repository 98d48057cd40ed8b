import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIRS, sqlitePath } from '../../src/store/db.js';
import { applyMigrations, applyPostgresMigrations, MigrationError, readMigrations } from '../../src/store/migrate.js';
import { TEST_DB, type TempDatabase, tempDatabase } from '../support/db.js';

interface Scratch {
  migrations: string;
  apply(): Promise<string[]>;
  rows<T>(sql: string): Promise<T[]>;
  tableExists(name: string): Promise<boolean>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A fresh database of this run's kind and a copy of its migrations folder, applied the way start does. */
async function scratch(): Promise<Scratch & { database: TempDatabase }> {
  const database = await tempDatabase();
  const migrations = join(database.dir, 'migrations');
  cpSync(MIGRATIONS_DIRS[TEST_DB], migrations, { recursive: true });
  if (TEST_DB === 'sqlite') {
    const db = new Database(sqlitePath(database.url));
    cleanups.push(async () => {
      db.close();
      await database.drop();
    });
    return {
      database,
      migrations,
      apply: async () => applyMigrations(db, migrations),
      rows: async <T>(sql: string) => db.prepare(sql).all() as T[],
      tableExists: async (name) => db.prepare('SELECT name FROM sqlite_master WHERE name = ?').get(name) !== undefined,
    };
  }
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  cleanups.push(async () => {
    await client.end();
    await database.drop();
  });
  return {
    database,
    migrations,
    apply: () => applyPostgresMigrations(client, migrations),
    rows: async <T>(sql: string) => (await client.query(sql)).rows as T[],
    tableExists: async (name) => (await client.query('SELECT 1 FROM information_schema.tables WHERE table_name = $1', [name])).rows.length > 0,
  };
}

function addMigration(dir: string, name: string, sql: string) {
  mkdirSync(join(dir, name));
  writeFileSync(join(dir, name, 'migration.sql'), sql);
}

describe(`applying migrations (${TEST_DB})`, () => {
  it('applies every migration once, in order, and nothing on the next start', async () => {
    const s = await scratch();
    const names = readMigrations(s.migrations).map((m) => m.name);
    expect(await s.apply()).toEqual(names);
    expect(await s.apply()).toEqual([]);
    addMigration(s.migrations, '29990101000000_later', 'CREATE TABLE "Later" ("id" INTEGER NOT NULL PRIMARY KEY);');
    expect(await s.apply()).toEqual(['29990101000000_later']);
    const recorded = await s.rows<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations ORDER BY started_at, migration_name');
    expect(recorded.map((r) => r.migration_name)).toEqual([...names, '29990101000000_later']);
  });

  it('refuses to start on a migration edited after it was applied', async () => {
    const s = await scratch();
    await s.apply();
    const first = readMigrations(s.migrations)[0]!;
    writeFileSync(join(s.migrations, first.name, 'migration.sql'), `${first.sql}\n-- edited\n`);
    await expect(s.apply()).rejects.toThrow(/was edited after it was applied/);
  });

  it('records a failed migration, keeps the database as it was, and refuses to go on until it is resolved', async () => {
    const s = await scratch();
    await s.apply();
    addMigration(s.migrations, '29990101000000_broken', 'CREATE TABLE "Half" ("id" INTEGER);\nTHIS IS NOT SQL;');
    await expect(s.apply()).rejects.toThrow(MigrationError);
    expect(await s.tableExists('Half')).toBe(false);
    const [row] = await s.rows<{ finished_at: unknown; logs: string }>(
      "SELECT finished_at, logs FROM _prisma_migrations WHERE migration_name = '29990101000000_broken'",
    );
    expect(row?.finished_at).toBeNull();
    expect(row?.logs).toMatch(/syntax error/);
    await expect(s.apply()).rejects.toThrow(/failed earlier.*prisma migrate resolve/);
  });

  it.runIf(TEST_DB === 'postgresql')('applies each migration once when several instances start at the same moment', async () => {
    const s = await scratch();
    const others = await Promise.all(
      [1, 2].map(async () => {
        const c = new pg.Client({ connectionString: s.database.url });
        await c.connect();
        cleanups.unshift(() => c.end());
        return c;
      }),
    );
    const results = await Promise.all([s.apply(), ...others.map((c) => applyPostgresMigrations(c, s.migrations))]);
    const names = readMigrations(s.migrations).map((m) => m.name);
    expect(results.flat().sort()).toEqual(names);
    const recorded = await s.rows<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations');
    expect(recorded.map((r) => r.migration_name).sort()).toEqual(names);
  });
});
