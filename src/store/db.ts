/**
 * Opens the database named by DATABASE_URL, applies pending migrations and returns a Prisma client on a driver
 * adapter (no Prisma engine binary needed): SQLite (`file:…`, the default; file and folder created) through
 * better-sqlite3, or PostgreSQL (`postgresql://…` / `postgres://…`) through pg (see db-postgresql.ts).
 *
 *   const { prisma, lines } = await openDatabase('file:./data/shepherd.db');
 */
import Database from 'better-sqlite3';
import type { PrismaClient } from '../generated/prisma/client.js';
import { type DatabaseKind, databaseKind, MIGRATIONS_DIRS, sqlitePath } from './db-location.js';
import { lazyClient } from './lazy-client.js';
import { type LineSink, LogLineStore } from './log-lines.js';
import { type SqliteConnection, useSqliteConnection } from './sql.js';
import { LOCK_WAIT_MS, prepareSqlite } from './sqlite-prepare.js';

export { type DatabaseKind, databaseKind, dataDir, describeUrl, MIGRATIONS_DIR, MIGRATIONS_DIRS, sqlitePath } from './db-location.js';
export { DatabaseLockedError, LOCK_WAIT_MS } from './sqlite-prepare.js';

export type Db = InstanceType<typeof PrismaClient>;

export interface OpenedDatabase {
  prisma: Db;
  kind: DatabaseKind;
  /** The SQLite file, or host:port/db for PostgreSQL (for logs). */
  path: string;
  applied: string[];
  /** A writer for deploy log lines on a connection of its own (see log-lines.ts). */
  lines(): LineSink;
  /** Whether the database answers a trivial query now (for /readyz). */
  ping(): Promise<boolean>;
  /**
   * A client for heartbeats and dead-owner checks only. On PostgreSQL it has connections of its own (2), so a
   * burst of commands waiting on the shared pool cannot delay a heartbeat until other instances take this one
   * for dead; on SQLite it is the same client (writes go one at a time there anyway).
   */
  liveness(): Db;
}

export interface OpenOptions {
  migrationsDir?: string;
  /** Told about connection errors the driver sees outside a query (PostgreSQL restarted, network cut). */
  onConnectionError?: (err: Error) => void;
  /** SQLite only: prepareSqlite already ran on this file and applied these migrations. */
  prepared?: string[];
}

/**
 * A database that answers before Prisma's client is loaded: `prisma` takes the hand-written reads and writes of
 * sql.ts at once, and any Prisma call waits until load() (called by the start, or by the first such call) has
 * the client.
 */
export interface EarlyDatabase {
  /** The client to hand to the store: sql.ts runs on it at once; Prisma's own calls wait for load(). */
  prisma: Db;
  kind: DatabaseKind;
  path: string;
  applied: string[];
  /** Loads Prisma's client (once) and resolves with the database as openDatabase opens it. */
  load(): Promise<OpenedDatabase>;
  /** Whether Prisma's client is loaded (always on PostgreSQL). */
  loaded(): boolean;
  /** Closes what is open: the early connection, or everything once loaded. */
  close(): Promise<void>;
}

export async function openDatabase(url: string, options: string | OpenOptions = {}): Promise<OpenedDatabase> {
  return (await openEarly(url, options)).load();
}

/**
 * Opens the database for the start: on SQLite prepared (prepareSqlite, unless `prepared`) and answering through
 * sql.ts at once, Prisma loaded by load(); on PostgreSQL opened in full (its hand-written reads go through Prisma).
 *
 *   const db = await openEarly(url, { prepared });  const store = createStore(db.prisma, …);  …  await db.load();
 */
export async function openEarly(url: string, options: string | OpenOptions = {}): Promise<EarlyDatabase> {
  const opts = typeof options === 'string' ? { migrationsDir: options } : options;
  if (databaseKind(url) === 'sqlite') return openSqliteEarly(sqlitePath(url), opts);
  // Loaded only when used, so a SQLite start does not pay for pg.
  const { openPostgres } = await import('./db-postgresql.js');
  const opened = await openPostgres(url, { ...opts, migrationsDir: opts.migrationsDir ?? MIGRATIONS_DIRS.postgresql });
  return { ...opened, load: async () => opened, loaded: () => true, close: () => closeOpened(opened) };
}

/**
 * SQLite: prepares the file, opens a plain better-sqlite3 connection for sql.ts (the reply path's reads and the
 * audit rows), and loads Prisma only in load(). Once Prisma has connected, sql.ts moves to Prisma's own connection
 * (so its reads see exactly what Prisma sees, and its writes keep out of Prisma's transactions, see executeSql)
 * and the early connection is closed: until then Prisma has no connection, hence no transaction, in this process.
 */
function openSqliteEarly(path: string, opts: OpenOptions): EarlyDatabase {
  // The start may have prepared the file already, before loading anything else (src/main.ts): not twice.
  const applied = opts.prepared ?? prepareSqlite(path, opts.migrationsDir ?? MIGRATIONS_DIRS.sqlite);
  let early: Database.Database | undefined = new Database(path, { timeout: LOCK_WAIT_MS });
  early.pragma('synchronous = NORMAL');
  let prismaConnection: (() => SqliteConnection | undefined) | undefined;
  let loading: Promise<OpenedDatabase> | undefined;
  const open = () => {
    loading ??= (async () => {
      const { openSqlitePrisma } = await import('./db-sqlite.js');
      const { prisma, connection } = await openSqlitePrisma(path);
      prismaConnection = connection;
      useSqliteConnection(prisma, connection);
      // Prisma is connected (the PRAGMAs ran): sql.ts uses its connection from here on.
      early?.close();
      early = undefined;
      return {
        prisma,
        kind: 'sqlite' as const,
        path,
        applied,
        lines: () => new LogLineStore(path),
        liveness: () => prisma,
        ping: () =>
          prisma.$queryRawUnsafe('SELECT 1').then(
            () => true,
            () => false,
          ),
      };
    })();
    return loading;
  };
  const lazy = lazyClient(() => open().then((opened) => opened.prisma));
  // No transaction is ever begun on the early connection: nothing to wait for there.
  const earlyConnection = (db: Database.Database): SqliteConnection => ({
    get open() {
      return db.open;
    },
    inTransaction: false,
    outsideTransaction: async () => {},
    prepare: (text) => db.prepare(text),
  });
  const earlyWrapped = earlyConnection(early);
  useSqliteConnection(lazy.client, () => prismaConnection?.() ?? (early ? earlyWrapped : undefined));
  // Through the stand-in, so that once loaded it hands every call straight to the client.
  const load = () => lazy.ready().then(open);
  return {
    prisma: lazy.client,
    kind: 'sqlite',
    path,
    applied,
    load,
    loaded: () => lazy.loaded() !== undefined,
    close: async () => {
      early?.close();
      early = undefined;
      if (loading) await closeOpened(await loading);
    },
  };
}

async function closeOpened(opened: OpenedDatabase): Promise<void> {
  const liveness = opened.liveness();
  if (liveness !== opened.prisma) await liveness.$disconnect();
  await opened.prisma.$disconnect();
}

/** A log line writer for DATABASE_URL without opening Prisma (tests, tools); the database must be migrated. */
export async function openLineSink(url: string): Promise<LineSink> {
  if (databaseKind(url) === 'sqlite') return new LogLineStore(sqlitePath(url));
  const { PgLogLineStore } = await import('./log-lines-postgresql.js');
  return new PgLogLineStore(url);
}

/**
 * True when err means the database could not be reached or the connection broke (as opposed to a bad query):
 * the bot answers "the database is not answering" for these, and they pass once the database is back.
 */
export function isConnectionError(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    // Prisma: P1001 can't reach, P1002 timed out, P1017 server closed the connection, P2024 pool timeout.
    if (/^(P1001|P1002|P1017|P2024|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|57P01|57P02|57P03|08\w{3})$/.test(code)) return true;
    const message = typeof e.message === 'string' ? e.message : '';
    if (
      /Connection terminated|connection (is )?(closed|terminated)|ECONNREFUSED|ECONNRESET|terminating connection|the database system is (starting up|shutting down)|Can't reach database server|Server has closed the connection|timeout exceeded when trying to connect|SQLITE_BUSY|database is locked/i.test(
        message,
      )
    )
      return true;
  }
  return false;
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
