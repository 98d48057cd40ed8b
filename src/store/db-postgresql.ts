/**
 * PostgreSQL behind the same Db type as SQLite: checks the server answers (a one-line error naming host and
 * port within seconds when not), applies prisma/migrations-postgresql, and returns the PostgreSQL twin of the
 * Prisma client (src/generated/prisma-pg, generated from the same schema.prisma by scripts/prisma-generate.mjs)
 * on the pg driver adapter.
 *
 *   const { prisma } = await openPostgres('postgresql://shepherd@127.0.0.1:5432/shepherd', { migrationsDir });
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma-pg/client.js';
import type { Db, OpenedDatabase, OpenOptions } from './db.js';
import { describeUrl } from './db.js';
import { PgLogLineStore } from './log-lines-postgresql.js';
import { applyPostgresMigrations } from './migrate.js';
import { markPostgres } from './serialize.js';

/** How long connecting may take before we say the server is not answering. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** Connections per instance, and how long a query may wait for one of them. */
const POOL_SIZE = 10;
const POOL_WAIT_MS = 20_000;

export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
}

export async function openPostgres(url: string, options: OpenOptions & { migrationsDir: string }): Promise<OpenedDatabase> {
  const where = describeUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => {}); // a broken connection also fails the query in flight, which reports it
  try {
    await client.connect();
  } catch (err) {
    const reason = (err as Error).message || (err as { code?: string }).code || String(err);
    throw new DatabaseUnreachableError(`PostgreSQL at ${where} is not answering: ${reason.split('\n')[0]}`);
  }
  let applied: string[];
  try {
    applied = await applyPostgresMigrations(client, options.migrationsDir);
  } finally {
    await client.end().catch(() => {});
  }
  const onError = options.onConnectionError ?? (() => {});
  // A pool reconnects by itself: after a PostgreSQL restart the next query gets a fresh connection. pg's
  // connect timeout also bounds the wait for a free pooled connection, so it is longer than the start check:
  // a burst of commands (20 deploys asked at once) queues for connections rather than failing.
  const adapter = new PrismaPg(
    { connectionString: url, connectionTimeoutMillis: POOL_WAIT_MS, max: POOL_SIZE },
    { onPoolError: onError, onConnectionError: onError },
  );
  // Both clients come from one schema.prisma, so the PostgreSQL client has the SQLite client's API.
  // Transactions wait for a connection as long as the pool does (Prisma's default is 2 s).
  const prisma = new PrismaClient({ adapter, transactionOptions: { maxWait: POOL_WAIT_MS, timeout: POOL_WAIT_MS } }) as unknown as Db;
  markPostgres(prisma);
  let liveness: Db | undefined;
  return {
    prisma,
    kind: 'postgresql',
    path: where,
    applied,
    lines: () => new PgLogLineStore(url),
    liveness: () => {
      if (!liveness) {
        const own = new PrismaPg(
          { connectionString: url, connectionTimeoutMillis: POOL_WAIT_MS, max: 2 },
          { onPoolError: onError, onConnectionError: onError },
        );
        liveness = new PrismaClient({ adapter: own, transactionOptions: { maxWait: POOL_WAIT_MS, timeout: POOL_WAIT_MS } }) as unknown as Db;
        markPostgres(liveness);
      }
      return liveness;
    },
    ping: () =>
      prisma.$queryRawUnsafe('SELECT 1').then(
        () => true,
        () => false,
      ),
  };
}
