/**
 * Makes a SQLite file ready for Prisma with better-sqlite3 alone: creates file and folder, switches to WAL,
 * proves it can write (a locked database fails here, after LOCK_WAIT_MS, not later) and applies pending
 * migrations. Kept apart from db.ts so the start can do this before it loads Prisma (and before it joins chat).
 *
 *   const applied = prepareSqlite('/srv/shepherd/data/shepherd.db'); // ['20261202050000_log_chunks'] or []
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS_DIRS } from './db-location.js';
import { applyMigrations } from './migrate.js';

/** How long the start waits for a database another process holds locked. */
export const LOCK_WAIT_MS = 5000;

export class DatabaseLockedError extends Error {
  constructor(readonly path: string) {
    super(`database ${path} is locked by another process (waited ${LOCK_WAIT_MS / 1000}s): stop it or point DATABASE_URL elsewhere`);
    this.name = 'DatabaseLockedError';
  }
}

/** Returns the names of the migrations it applied. Throws DatabaseLockedError or MigrationError. */
export function prepareSqlite(path: string, migrationsDir = MIGRATIONS_DIRS.sqlite): string[] {
  if (path === ':memory:') throw new Error('DATABASE_URL must name a file (an in-memory database would not be shared with Prisma)');
  mkdirSync(dirname(path), { recursive: true });
  // A database another process keeps locked must not hang the start silently: wait at most LOCK_WAIT_MS.
  const raw = new Database(path, { timeout: LOCK_WAIT_MS });
  try {
    // WAL lets the web viewer read while a deploy writes log lines; it is a property of the file and sticks.
    raw.pragma('journal_mode = WAL');
    // A write transaction proves we can write at all (BEGIN IMMEDIATE takes the write lock or times out).
    raw.exec('BEGIN IMMEDIATE');
    raw.exec('COMMIT');
    return applyMigrations(raw, migrationsDir);
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY') || (err as { code?: string }).code?.startsWith('SQLITE_LOCKED'))
      throw new DatabaseLockedError(path);
    throw err;
  } finally {
    raw.close();
  }
}
