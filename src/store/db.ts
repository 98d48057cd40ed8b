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

export interface OpenedDatabase {
  prisma: Db;
  path: string;
  applied: string[];
}

export async function openDatabase(url: string, migrationsDir = MIGRATIONS_DIR): Promise<OpenedDatabase> {
  const path = sqlitePath(url);
  if (path === ':memory:') throw new Error('DATABASE_URL must name a file (an in-memory database would not be shared with Prisma)');
  mkdirSync(dirname(path), { recursive: true });
  const raw = new Database(path);
  let applied: string[];
  try {
    // WAL lets the web viewer read while a deploy writes log lines; it is a property of the file and sticks.
    raw.pragma('journal_mode = WAL');
    applied = applyMigrations(raw, migrationsDir);
  } finally {
    raw.close();
  }
  const prisma = new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: `file:${path}`, timeout: 5000 }) });
  await prisma.$executeRawUnsafe('PRAGMA busy_timeout = 5000');
  return { prisma, path, applied };
}
