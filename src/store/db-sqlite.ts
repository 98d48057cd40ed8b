/**
 * Prisma's client on a SQLite file, loaded only when the start (or a query that needs it) asks for Prisma (see
 * openSqliteEarly in db.ts): the client, its wasm query compiler and the driver adapter are a good part of the
 * start time and are not needed to answer a `karma`.
 *
 *   const { prisma, connection } = await openSqlitePrisma('/srv/shepherd/data/shepherd.db');
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import type Database from 'better-sqlite3';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Db } from './db.js';
import type { SqliteConnection } from './sql.js';
import { CHECKPOINT_MAX_CHARS } from './log-lines.js';
import { gateTransactions } from './sqlite-transactions.js';

/** Twice the log writer's CHECKPOINT_MAX_CHARS in 4 KiB pages: a safety net that bounds the write-ahead log. */
export const SQLITE_WAL_AUTOCHECKPOINT_PAGES = Math.ceil((2 * CHECKPOINT_MAX_CHARS) / 4096);

/** Opens the client and its connection (PRAGMAs set); the file must be prepared (prepareSqlite). */
export async function openSqlitePrisma(path: string): Promise<{ prisma: Db; connection: () => SqliteConnection | undefined }> {
  const adapter = new StatementCachingSqlite({ url: `file:${path}`, timeout: 5000 });
  const prisma = new PrismaClient({ adapter });
  await prisma.$executeRawUnsafe('PRAGMA busy_timeout = 5000');
  // In WAL mode NORMAL syncs at checkpoints, not at every commit: still consistent after a crash (a power cut
  // may lose the last commits), and each small write (a heartbeat, a state change) stops costing an fsync.
  await prisma.$executeRawUnsafe('PRAGMA synchronous = NORMAL');
  // A commit on this connection checkpoints once the write-ahead log passes this many pages; a deploy's log burst
  // leaves up to CHECKPOINT_MAX_CHARS in it for the log writer's thread to checkpoint when idle, and with SQLite's
  // default (1000 pages) the deploy's own next commit would copy it all here, on the event loop.
  await prisma.$executeRawUnsafe(`PRAGMA wal_autocheckpoint = ${SQLITE_WAL_AUTOCHECKPOINT_PAGES}`);
  return { prisma, connection: () => adapter.connection };
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
      const prepare = cacheStatements(client);
      const gate = gateTransactions(adapter as unknown as Parameters<typeof gateTransactions>[0], client);
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
