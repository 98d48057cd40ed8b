/**
 * A real store on a fresh database, migrated exactly as at start: a SQLite file in a temp dir, or, in the
 * PostgreSQL half of the test matrix (SHEPHERD_TEST_DB=postgresql, set by vitest.config.ts), a new database
 * on the server test/support/postgres-global.ts started for the run.
 *
 *   const t = await tempStore(); ...; await t.close();
 *   const lines = await t.lines();          // the log line writer for the same database
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type { MaskText } from '../../src/deploy/mask.js';
import { type DatabaseKind, openDatabase, openLineSink } from '../../src/store/db.js';
import { createStore, type Store } from '../../src/store/index.js';
import type { LineSink } from '../../src/store/log-lines.js';

/** Which database this test run uses. */
export const TEST_DB: DatabaseKind = process.env.SHEPHERD_TEST_DB === 'postgresql' ? 'postgresql' : 'sqlite';

export interface TempDatabase {
  url: string;
  /** A temp folder for files beside the database (git cache, known_hosts): SHEPHERD_DATA_DIR for PostgreSQL. */
  dir: string;
  /** What to add to the bot's environment so it uses this database and folder. */
  env: { DATABASE_URL: string; SHEPHERD_DATA_DIR: string };
  /** Drops the database and removes the folder. */
  drop(): Promise<void>;
}

let counter = 0;

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** An empty database (not migrated) of the kind this run tests, and a temp folder. */
export async function tempDatabase(): Promise<TempDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-test-'));
  if (TEST_DB === 'sqlite') {
    const url = `file:${join(dir, 'test.db')}`;
    return { url, dir, env: { DATABASE_URL: url, SHEPHERD_DATA_DIR: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `t_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = inject('postgresUrl').replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    dir,
    env: { DATABASE_URL: url, SHEPHERD_DATA_DIR: dir },
    async drop() {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TempStore {
  store: Store;
  dir: string;
  url: string;
  env: TempDatabase['env'];
  /** A log line writer on the same database (LogLineStore or PgLogLineStore). */
  lines(): Promise<LineSink>;
  close(): Promise<void>;
}

/** `mask`: as main.ts gives the store (default: the rules without configured values). */
export async function tempStore(karmaInitial = 4, mask?: MaskText): Promise<TempStore> {
  const db = await tempDatabase();
  const { prisma } = await openDatabase(db.url);
  const store = createStore(prisma, { karmaInitial, ...(mask ? { mask } : {}) });
  // Closed with the store: SQLite's writing threads and PostgreSQL pools would outlive the test file otherwise.
  const sinks: LineSink[] = [];
  return {
    store,
    dir: db.dir,
    url: db.url,
    env: db.env,
    lines: async () => {
      const sink = await openLineSink(db.url);
      sinks.push(sink);
      return sink;
    },
    async close() {
      await Promise.allSettled(sinks.map((s) => s.close()));
      await prisma.$disconnect();
      await db.drop();
    },
  };
}

/**
 * A running deploy row with no hosts (for log pipeline tests): its id. Each call uses its own environment,
 * so calls never queue behind each other. Throws if the store did not start it.
 */
export async function startedDeploy(t: TempStore): Promise<number> {
  const user = await t.store.users.identify({ provider: 'irc', id: 'a', handle: 'a' });
  const r = await t.store.deploys.request({
    app: 'web',
    environment: `e${Math.random().toString(36).slice(2)}`,
    ref: 'main',
    sha: 'f'.repeat(40),
    kind: 'deploy',
    requesterId: user.id,
    provider: 'irc',
    room: '#d',
    hosts: [],
  });
  if (r.outcome !== 'started') throw new Error(`deploy not started: ${r.outcome}`);
  return r.deploy.id;
}

/** PostgreSQL's type id of TIMESTAMP (without time zone). */
const TIMESTAMP_OID = 1114;

/**
 * Rows of a read-only query on the database at `url`, on a connection of its own (as another process would
 * read it). Write the SQL for both: quoted names, CAST(count(*) AS INTEGER).
 *
 *   await queryRows(t.url, 'SELECT "state" FROM "Deploy"')   // [{ state: 'running' }]
 */
export async function queryRows<T = Record<string, unknown>>(url: string, query: string): Promise<T[]> {
  if (TEST_DB === 'sqlite' || url.startsWith('file:')) {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(url.replace(/^file:/, ''), { readonly: true });
    try {
      return db.prepare(query).all() as T[];
    } finally {
      db.close();
    }
  }
  // Prisma stores DateTime as TIMESTAMP(3) in UTC; pg would read it in the local time zone.
  const types = {
    getTypeParser: (oid: number, format?: string) =>
      oid === TIMESTAMP_OID ? (v: string) => new Date(`${v.replace(' ', 'T')}Z`) : pg.types.getTypeParser(oid, format as 'text'),
  };
  const client = new pg.Client({ connectionString: url, types: types as pg.CustomTypesConfig });
  await client.connect();
  try {
    return (await client.query(query)).rows as T[];
  } finally {
    await client.end();
  }
}
