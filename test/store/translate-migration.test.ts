/**
 * prisma/migrations (SQLite) is the one history people write; prisma/migrations-postgresql must hold, for each
 * of them, the translation src/store/translate-migration.ts makes (or a twin marked as hand-written).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIRS } from '../../src/store/db.js';
import { readMigrations } from '../../src/store/migrate.js';
import { MIGRATION_LOCK, postgresTwins, TranslationError, translateMigration } from '../../src/store/translate-migration.js';

const FIX = 'run `npm run db:postgresql-migrations` and commit prisma/migrations-postgresql';

describe('PostgreSQL migrations follow the SQLite ones', () => {
  it('has, for every SQLite migration, the committed PostgreSQL translation', () => {
    const pgFile = (name: string) => join(MIGRATIONS_DIRS.postgresql, name, 'migration.sql');
    const twins = postgresTwins(readMigrations(MIGRATIONS_DIRS.sqlite), (name) => (existsSync(pgFile(name)) ? readFileSync(pgFile(name), 'utf8') : null));
    for (const twin of twins) {
      expect(twin.actual, `prisma/migrations-postgresql/${twin.name} is missing: ${FIX}`).not.toBeNull();
      if (twin.expected !== null) expect(twin.actual, `prisma/migrations-postgresql/${twin.name} differs from the translation: ${FIX}`).toBe(twin.expected);
    }
    // And nothing on PostgreSQL that SQLite does not have.
    expect(readMigrations(MIGRATIONS_DIRS.postgresql).map((m) => m.name)).toEqual(twins.map((t) => t.name));
    expect(readFileSync(join(MIGRATIONS_DIRS.postgresql, 'migration_lock.toml'), 'utf8')).toBe(MIGRATION_LOCK);
  });

  it('translates the statements Prisma writes for new tables, columns and indexes as Prisma writes them for PostgreSQL', () => {
    const sqlite = [
      '-- CreateTable',
      'CREATE TABLE "Lease" (',
      '    "name" TEXT NOT NULL PRIMARY KEY,',
      '    "holder" TEXT NOT NULL,',
      '    "until" DATETIME NOT NULL,',
      '    "ok" BOOLEAN NOT NULL DEFAULT true,',
      '    "deployId" INTEGER,',
      '    CONSTRAINT "Lease_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy" ("id") ON DELETE SET NULL ON UPDATE CASCADE',
      ');',
      '',
      '-- AlterTable',
      'ALTER TABLE "Deploy" ADD COLUMN "ownerId" TEXT;',
      '',
      '-- AlterTable',
      `ALTER TABLE "Deploy" ADD COLUMN "tries" INTEGER NOT NULL DEFAULT 0;`,
      '',
      '-- CreateIndex',
      'CREATE INDEX "Lease_until_idx" ON "Lease"("until");',
      '',
    ].join('\n');
    expect(translateMigration(sqlite)).toBe(
      [
        '-- CreateTable',
        'CREATE TABLE "Lease" (',
        '    "name" TEXT NOT NULL,',
        '    "holder" TEXT NOT NULL,',
        '    "until" TIMESTAMP(3) NOT NULL,',
        '    "ok" BOOLEAN NOT NULL DEFAULT true,',
        '    "deployId" INTEGER,',
        '',
        '    CONSTRAINT "Lease_pkey" PRIMARY KEY ("name")',
        ');',
        '',
        '-- AlterTable',
        'ALTER TABLE "Deploy" ADD COLUMN "ownerId" TEXT;',
        '',
        '-- AlterTable',
        'ALTER TABLE "Deploy" ADD COLUMN "tries" INTEGER NOT NULL DEFAULT 0;',
        '',
        '-- CreateIndex',
        'CREATE INDEX "Lease_until_idx" ON "Lease"("until");',
        '',
        '-- AddForeignKey',
        'ALTER TABLE "Lease" ADD CONSTRAINT "Lease_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy"("id") ON DELETE SET NULL ON UPDATE CASCADE;',
        '',
      ].join('\n'),
    );
  });

  it('refuses what it cannot translate, saying what to do', () => {
    const rebuild = 'PRAGMA defer_foreign_keys=ON;\nPRAGMA foreign_keys=OFF;\nCREATE TABLE "new_Deploy" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT);';
    expect(() => translateMigration(rebuild)).toThrow(TranslationError);
    expect(() => translateMigration(rebuild)).toThrow(/by hand, starting with "-- hand-written for PostgreSQL"/);
    expect(() => translateMigration('CREATE TABLE "A" (\n    "x" WEIRD NOT NULL\n);')).toThrow(/unknown column type WEIRD/);
    expect(() => translateMigration('UPDATE "Deploy" SET "state" = \'x\';')).toThrow(/cannot translate: UPDATE/);
  });
});
