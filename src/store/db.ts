/**
 * Opens the database named by DATABASE_URL, applies pending migrations and returns a Prisma client on a driver
 * adapter (no Prisma engine binary needed): SQLite (`file:…`, the default; file and folder created) through
 * better-sqlite3, or PostgreSQL (`postgresql://…` / `postgres://…`) through pg (see db-postgresql.ts).
 *
 *   const { prisma, lines } = await openDatabase('file:./data/shepherd.db');
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import type Database from 'better-sqlite3';
import { PrismaClient } from '../generated/prisma/client.js';
import { type DatabaseKind, databaseKind, MIGRATIONS_DIRS, sqlitePath } from './db-location.js';
import { type LineSink, LogLineStore } from './log-lines.js';
import { type SqliteConnection, useSqliteConnection } from './sql.js';
import { prepareSqlite } from './sqlite-prepare.js';
import { gateTransactions } from './sqlite-transactions.js';

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

export async function openDatabase(url: string, options: string | OpenOptions = {}): Promise<OpenedDatabase> {
  const opts = typeof options === 'string' ? { migrationsDir: options } : options;
  if (databaseKind(url) === 'postgresql') {
    // Loaded only when used, so a SQLite start does not pay for pg.
    const { openPostgres } = await import('./db-postgresql.js');
    return openPostgres(url, { ...opts, migrationsDir: opts.migrationsDir ?? MIGRATIONS_DIRS.postgresql });
  }
  const path = sqlitePath(url);
  // The start may have prepared the file already, before loading Prisma (src/main.ts): not twice.
  const applied = opts.prepared ?? prepareSqlite(path, opts.migrationsDir ?? MIGRATIONS_DIRS.sqlite);
  const adapter = new StatementCachingSqlite({ url: `file:${path}`, timeout: 5000 });
  const prisma = new PrismaClient({ adapter });
  useSqliteConnection(prisma, () => adapter.connection);
  await prisma.$executeRawUnsafe('PRAGMA busy_timeout = 5000');
  // In WAL mode NORMAL syncs at checkpoints, not at every commit: still consistent after a crash (a power cut
  // may lose the last commits), and each small write (a heartbeat, a state change) stops costing an fsync.
  await prisma.$executeRawUnsafe('PRAGMA synchronous = NORMAL');
  return {
    prisma,
    kind: 'sqlite',
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
}

/** Statements kept per connection: more than the distinct queries Shepherd sends (a few dozen shapes). */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Prisma's better-sqlite3 adapter prepares (compiles) every statement anew for each query, a tenth of a
 * command's time; Prisma sends a few dozen distinct SQL texts, so this keeps the prepared statements by SQL
 * text (least recently used out) and binds each query's arguments at the call. Only the calls the adapter
 * makes (prepare(sql).bind(args) → reader/columns/raw().all()/run(), prepare(sql).run()) are provided.
 */
class StatementCachingSqlite extends PrismaBetterSqlite3 {
  /** The connection Prisma uses, with its own prepare(), for the hand-written reads of sql.ts. */
  connection: SqliteConnection | undefined;

  override async connect() {
    const adapter = await super.connect();
    const client = (adapter as unknown as { client?: Database.Database }).client;
    // An adapter version without a better-sqlite3 `client` simply goes uncached (and sql.ts uses Prisma).
    if (client && typeof client.prepare === 'function') {
      const gate = gateTransactions(adapter as unknown as Parameters<typeof gateTransactions>[0], client);
      const prepare = cacheStatements(client);
      this.connection = {
        get open() {
          return client.open;
        },
        get inTransaction() {
          return gate.open;
        },
        outsideTransaction: () => gate.outside(),
        prepare,
      };
    }
    return adapter;
  }
}

/** Wraps db.prepare for Prisma's adapter; returns the connection's own prepare. */
function cacheStatements(db: Database.Database): (sql: string) => Database.Statement {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  const cached = (sql: string) => {
    let stmt = cache.get(sql);
    if (stmt) cache.delete(sql);
    else {
      stmt = prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    }
    cache.set(sql, stmt);
    return stmt;
  };
  const bound = (stmt: Database.Statement, args: unknown[]) => ({
    reader: stmt.reader,
    columns: () => stmt.columns(),
    run: () => stmt.run(args),
    raw: () => ({ all: () => stmt.raw(true).all(args) }),
  });
  db.prepare = ((sql: string) => {
    const stmt = cached(sql);
    return { bind: (args: unknown[]) => bound(stmt, args), run: (...args: unknown[]) => stmt.run(...args), reader: stmt.reader };
  }) as unknown as typeof db.prepare;
  return prepare;
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
