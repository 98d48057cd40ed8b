// Writes prisma/migrations-postgresql/<name>/migration.sql for every SQLite migration that has no PostgreSQL
// twin yet, by translating it (src/store/translate-migration.ts). Run after adding a SQLite migration:
//   npm run db:postgresql-migrations
// A twin that exists but differs from the translation is reported, never overwritten (it may be applied
// somewhere already): pass --force to overwrite it while it is still unreleased.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MIGRATIONS_DIRS } from '../src/store/db.js';
import { readMigrations } from '../src/store/migrate.js';
import { MIGRATION_LOCK, postgresTwins } from '../src/store/translate-migration.js';

const force = process.argv.includes('--force');
const pgDir = MIGRATIONS_DIRS.postgresql;
const file = (name: string) => join(pgDir, name, 'migration.sql');
mkdirSync(pgDir, { recursive: true });
writeFileSync(join(pgDir, 'migration_lock.toml'), MIGRATION_LOCK);
let stale = 0;
for (const twin of postgresTwins(readMigrations(MIGRATIONS_DIRS.sqlite), (name) => (existsSync(file(name)) ? readFileSync(file(name), 'utf8') : null))) {
  if (twin.expected === null || twin.actual === twin.expected) continue;
  const path = relative(process.cwd(), file(twin.name));
  if (twin.actual !== null && !force) {
    console.error(`${path} differs from the translation of the SQLite migration; left as is (--force overwrites it)`);
    stale++;
    continue;
  }
  mkdirSync(join(pgDir, twin.name), { recursive: true });
  writeFileSync(file(twin.name), twin.expected);
  console.log(`wrote ${path}`);
}
process.exit(stale ? 1 : 0);
