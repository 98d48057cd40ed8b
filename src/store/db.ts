/**
 * Opens the SQLite database named by DATABASE_URL: creates the file and folder, applies pending migrations,
 * and returns a Prisma client on the better-sqlite3 driver adapter (no Prisma engine binary needed).
 *
 *   const prisma = await openDatabase('file:./data/shepherd.db');
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import Database from 'better-sqlite3';
import { PrismaClient } from '../generated/prisma/client.js';
import { applyMigrations } from './migrate.js';

export type Db = InstanceType<typeof PrismaClient>;

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

/** 'file:./data/shepherd.db' → absolute path (relative to cwd), or ':memory:'. */
export function sqlitePath(url: string, cwd = process.cwd()): string {
  const path = url.replace(/^file:/, '').replace(/\?.*$/, '');
  return path === ':memory:' ? path : resolve(cwd, path);
}

/** How long the start waits for a database another process holds locked. */
export const LOCK_WAIT_MS = 5000;

export class DatabaseLockedError extends Error {
  constructor(readonly path: string) {
    super(`database ${path} is locked by another process (waited ${LOCK_WAIT_MS / 1000}s): stop it or point DATABASE_URL elsewhere`);
    this.name = 'DatabaseLockedError';
  }
}

export interface OpenedDatabase {
  prisma: Db;
  path: string;
  applied: string[];
}

export async function openDatabase(url: string, migrationsDir = MIGRATIONS_DIR): Promise<OpenedDatabase> {
  const path = sqlitePath(url);
  if (path === ':memory:') throw new Error('DATABASE_URL must name a file (an in-memory database would not be shared with Prisma)');
  mkdirSync(dirname(path), { recursive: true });
  // A database another process keeps locked must not hang the start silently: wait at most LOCK_WAIT_MS.
  const raw = new Database(path, { timeout: LOCK_WAIT_MS });
  let applied: string[];
  try {
    // WAL lets the web viewer read while a deploy writes log lines; it is a property of the file and sticks.
    raw.pragma('journal_mode = WAL');
    // A write transaction proves we can write at all (BEGIN IMMEDIATE takes the write lock or times out).
    raw.exec('BEGIN IMMEDIATE');
    raw.exec('COMMIT');
    applied = applyMigrations(raw, migrationsDir);
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY') || (err as { code?: string }).code?.startsWith('SQLITE_LOCKED'))
      throw new DatabaseLockedError(path);
    throw err;
  } finally {
    raw.close();
  }
  const prisma = new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: `file:${path}`, timeout: 5000 }) });
  await prisma.$executeRawUnsafe('PRAGMA busy_timeout = 5000');
  // In WAL mode NORMAL syncs at checkpoints, not at every commit: still consistent after a crash (a power cut
  // may lose the last commits), and each small write (a heartbeat, a state change) stops costing an fsync.
  await prisma.$executeRawUnsafe('PRAGMA synchronous = NORMAL');
  return { prisma, path, applied };
}

/**
 * Runs a write transaction again when SQLite refused it because another connection (another Shepherd process,
 * the log writer) wrote first: a deferred transaction that read before writing cannot wait for the lock
 * (SQLITE_BUSY_SNAPSHOT), it has to start over. Everything inside `fn` must be safe to repeat (it is: a
 * rolled-back transaction left nothing behind).
 *
 *   await retryBusy(() => db.$transaction(async (tx) => { ... }));
 */
export async function retryBusy<T>(fn: () => Promise<T>, tries = 30): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= tries || !isBusy(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * Math.min(attempt, 10)));
    }
  }
}

function isBusy(err: unknown): boolean {
  const e = err as { code?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } }; message?: string };
  const original = e?.meta?.driverAdapterError?.cause?.originalCode ?? e?.code ?? '';
  return original.startsWith('SQLITE_BUSY') || original.startsWith('SQLITE_LOCKED') || /SQLITE_BUSY|database is locked/.test(e?.message ?? '');
}
