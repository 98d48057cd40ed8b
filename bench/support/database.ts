/**
 * Databases for benchmark sections: a SQLite file in a temp folder, or a database on a throwaway PostgreSQL
 * server (initdb + pg_ctl as test/support/postgres.ts does; started once per run, stopped at exit). Migrated
 * as at start; no vitest involved (test/support/db.ts needs vitest's inject, and loading vitest would count in
 * the measured process's memory).
 *
 *   const db = await benchDatabase('postgresql'); // { kind, url, dir, drop() }
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseKind } from '../../src/store/db.js';
import { type Postgres, postgresAvailable, startPostgres } from '../../test/support/postgres.js';

export interface BenchDatabase {
  kind: DatabaseKind;
  /** DATABASE_URL of an empty (unmigrated) database. */
  url: string;
  /** A temp folder beside it (SHEPHERD_DATA_DIR). */
  dir: string;
  drop(): Promise<void>;
}

let server: Promise<Postgres> | undefined;

/** Why PostgreSQL figures cannot be measured here, or null when they can. */
export function postgresMissing(): string | null {
  return postgresAvailable() ? null : 'PostgreSQL is not installed (apt-get install postgresql, or set PG_BIN)';
}

/** The run's PostgreSQL server, started on first use and stopped when the process exits. */
export function benchPostgres(): Promise<Postgres> {
  if (!server) {
    server = startPostgres();
    const stop = () => void server?.then((s) => s.stop());
    process.once('beforeExit', stop);
  }
  return server;
}

/** Stops the run's PostgreSQL server if one was started. */
export async function stopBenchPostgres(): Promise<void> {
  const s = server;
  server = undefined;
  if (s) await (await s).stop();
}

/**
 * The superuser URL of the run's PostgreSQL: BENCH_POSTGRES_URL when a parent process started the server and
 * handed it down to a measured child (postgresEnv), else a server of this process.
 */
async function adminUrl(): Promise<string> {
  return process.env.BENCH_POSTGRES_URL ?? (await benchPostgres()).url('postgres');
}

/** What a child process needs in its environment to use this run's PostgreSQL server. */
export async function postgresEnv(): Promise<{ BENCH_POSTGRES_URL: string }> {
  return { BENCH_POSTGRES_URL: await adminUrl() };
}

export async function benchDatabase(kind: DatabaseKind): Promise<BenchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-bench-db-'));
  if (kind === 'sqlite') return { kind, url: `file:${join(dir, 'bench.db')}`, dir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  const admin0 = await adminUrl();
  const name = `bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: admin0 });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  return {
    kind,
    url: admin0.replace(/\/[^/]*$/, `/${name}`),
    dir,
    async drop() {
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
