/**
 * Where the database and its files are, from DATABASE_URL alone: which kind it is, the SQLite file, the data
 * folder, the migrations folders. No driver is loaded here, so the start can decide what to open before it
 * loads Prisma (src/store/db.ts re-exports all of this).
 *
 *   databaseKind('file:./data/shepherd.db') // 'sqlite'
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type DatabaseKind = 'sqlite' | 'postgresql';

/** Prisma's layout, one folder per provider; the PostgreSQL one is translated from the SQLite one (translate-migration.ts). */
export const MIGRATIONS_DIRS: Record<DatabaseKind, string> = {
  sqlite: fileURLToPath(new URL('../../prisma/migrations', import.meta.url)),
  postgresql: fileURLToPath(new URL('../../prisma/migrations-postgresql', import.meta.url)),
};
export const MIGRATIONS_DIR = MIGRATIONS_DIRS.sqlite;

/** 'file:…' → sqlite, 'postgresql://…' or 'postgres://…' → postgresql; anything else is refused. */
export function databaseKind(url: string): DatabaseKind {
  if (/^file:/.test(url)) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgresql';
  throw new Error('DATABASE_URL: expected file:./data/shepherd.db (SQLite) or postgresql://user:pass@host:5432/db');
}

/** 'file:./data/shepherd.db' → absolute path (relative to cwd), or ':memory:'. */
export function sqlitePath(url: string, cwd = process.cwd()): string {
  const path = url.replace(/^file:/, '').replace(/\?.*$/, '');
  return path === ':memory:' ? path : resolve(cwd, path);
}

/**
 * Where Shepherd keeps its files (git cache, push clone, known_hosts): beside the SQLite file, or
 * SHEPHERD_DATA_DIR (default ./data) when the database is PostgreSQL and so has no folder of its own.
 */
export function dataDir(url: string, env: { SHEPHERD_DATA_DIR?: string } = process.env, cwd = process.cwd()): string {
  if (databaseKind(url) === 'sqlite') {
    const path = sqlitePath(url, cwd);
    if (path !== ':memory:') return dirname(path);
  }
  return resolve(cwd, env.SHEPHERD_DATA_DIR || 'data');
}

/** PostgreSQL 'user:pass@host:5432/db' → 'host:5432/db' (never the password), for logs and errors. */
export function describeUrl(url: string): string {
  if (databaseKind(url) === 'sqlite') return sqlitePath(url);
  const u = new URL(url);
  return `${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname}`;
}
