/**
 * Hand-written reads for the reply path, one SQL text for SQLite and PostgreSQL. Prisma's model queries cost
 * about 0.3–0.5 ms of JavaScript each (query plan, relation loads as extra statements, result shaping), which was
 * most of a command's time; a joined SELECT through this costs a tenth of that. On SQLite it runs as a prepared
 * better-sqlite3 statement on Prisma's own connection (cached by text; the same connection, so it sees exactly
 * what Prisma's own reads would), or, while the start has not loaded Prisma yet, on the plain connection the start
 * opened for it (db.ts, openEarly: Prisma has no connection then, so nothing to disagree with); elsewhere
 * (PostgreSQL, or a client opened without openDatabase) through Prisma's `$queryRawUnsafe`. Write identifiers double-quoted and keep to SQL both databases read alike.
 * Values come back as the driver gives them: read dates with `dateOf`, counts with `Number`.
 *
 *   const rows = await queryRows<{ id: number }>(db, sql`SELECT "id" FROM "User" WHERE "name" = ${'alice'}`);
 */
import type Database from 'better-sqlite3';
import type { Db } from './db.js';
import { isPostgres } from './serialize.js';

/** A statement and its values, placeholders kept apart so each database gets its own (`?` or `$1`). */
export interface Sql {
  readonly parts: readonly string[];
  readonly values: readonly unknown[];
}

/** Builds a statement from a template; every `${value}` becomes a bound parameter, never text. */
export function sql(parts: TemplateStringsArray, ...values: unknown[]): Sql {
  return { parts: [...parts], values };
}

/** A list of values for `IN (…)`: `sql\`… IN (${list(ids)})\`` is not possible with one placeholder, so this joins several. */
export function inList(values: readonly unknown[]): Sql {
  if (values.length === 0) throw new Error('inList: an empty list (the caller should not query at all)');
  return { parts: ['', ...values.slice(1).map(() => ', '), ''], values };
}

/** Pieces of SQL joined by `separator` (rows of a multi-row INSERT). */
export function joinSql(pieces: readonly Sql[], separator: string): Sql {
  if (pieces.length === 0) throw new Error('joinSql: nothing to join');
  return { parts: ['', ...pieces.slice(1).map(() => separator), ''], values: pieces };
}

/** Splices nested Sql values (inList) into the statement. */
function flatten(query: Sql): { parts: string[]; values: unknown[] } {
  const parts: string[] = [query.parts[0] ?? ''];
  const values: unknown[] = [];
  query.values.forEach((value, i) => {
    const tail = query.parts[i + 1] ?? '';
    if (value && typeof value === 'object' && 'parts' in value && 'values' in value) {
      const inner = flatten(value as Sql);
      parts[parts.length - 1] += inner.parts[0] ?? '';
      for (let j = 0; j < inner.values.length; j++) {
        values.push(inner.values[j]);
        parts.push(inner.parts[j + 1] ?? '');
      }
      parts[parts.length - 1] += tail;
    } else {
      values.push(value);
      parts.push(tail);
    }
  });
  return { parts, values };
}

/** Statements kept per connection: the reply path has a dozen shapes; IN lists of different lengths add a few. */
const CACHE_SIZE = 128;

/** What queryRows needs of a better-sqlite3 connection: its own prepare (db.ts wraps the connection's for Prisma). */
export interface SqliteConnection {
  readonly open: boolean;
  /** True while Prisma holds a transaction open on it (see sqlite-transactions.ts). */
  readonly inTransaction: boolean;
  /** Resolves once no transaction of Prisma's is open on it: a statement made then cannot join one. */
  outsideTransaction(): Promise<void>;
  prepare(text: string): Database.Statement;
}

interface SqliteReader {
  connection: SqliteConnection;
  statements: Map<string, Database.Statement>;
}

const sqliteReaders = new WeakMap<object, () => SqliteReader | undefined>();

/**
 * Lets queryRows run straight on `connection()` (Prisma's better-sqlite3 connection, or the start's own until
 * Prisma is loaded, see db.ts) for this client. `connection` is asked at each query: undefined (not connected yet,
 * closed) falls back to Prisma.
 */
export function useSqliteConnection(db: Db, connection: () => SqliteConnection | undefined): void {
  let reader: SqliteReader | undefined;
  sqliteReaders.set(db, () => {
    const current = connection();
    if (!current?.open) return undefined;
    if (reader?.connection !== current) reader = { connection: current, statements: new Map() };
    return reader;
  });
}

/** A Date bound on SQLite as Prisma's adapter writes it (ISO text with an explicit offset), so comparisons hold. */
function sqliteValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace('Z', '+00:00');
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/** The prepared statement for `text` on a direct SQLite connection (cached by text). */
function prepared(reader: SqliteReader, text: string): Database.Statement {
  let statement = reader.statements.get(text);
  if (!statement) {
    statement = reader.connection.prepare(text);
    // Plain numbers: Prisma's connection defaults to BigInt integers, and our ids and counts are small.
    if (statement.reader) statement.safeIntegers(false);
    if (reader.statements.size >= CACHE_SIZE) reader.statements.delete(reader.statements.keys().next().value as string);
    reader.statements.set(text, statement);
  }
  return statement;
}

/** The statement's text with each database's placeholders: SQLite reads `$1` as a parameter named "1". */
function textFor(db: Db, parts: readonly string[]): string {
  return isPostgres(db) ? parts.reduce((out, part, i) => (i === 0 ? part : `${out}$${i}${part}`), '') : parts.join('?');
}

/**
 * Runs a read and returns its rows as plain objects (column name → value). On SQLite's shared connection it
 * waits while Prisma holds a transaction open there, so it never reads that transaction's uncommitted rows.
 */
export async function queryRows<T>(db: Db, query: Sql): Promise<T[]> {
  const { parts, values } = flatten(query);
  const reader = await outsideTransaction(db);
  if (reader) return prepared(reader, parts.join('?')).all(values.map(sqliteValue)) as T[];
  return db.$queryRawUnsafe<T[]>(textFor(db, parts), ...values);
}

/**
 * Runs a write on its own (an INSERT of rows nothing else depends on). On SQLite's shared connection it waits
 * until Prisma has no transaction open there (a write made meanwhile would join that transaction and be undone
 * with it), then writes at once: nothing can begin a transaction between the wait and the synchronous write.
 *
 *   await executeSql(db, sql`INSERT INTO "AuditEvent" (…) VALUES (…)`);
 */
export async function executeSql(db: Db, query: Sql): Promise<number> {
  const { parts, values } = flatten(query);
  const reader = await outsideTransaction(db);
  if (reader) return prepared(reader, parts.join('?')).run(values.map(sqliteValue)).changes;
  return db.$executeRawUnsafe(textFor(db, parts), ...values);
}

/** SQLite's shared connection once no transaction is open on it (undefined: go through Prisma). */
async function outsideTransaction(db: Db): Promise<SqliteReader | undefined> {
  const readerOf = sqliteReaders.get(db);
  let reader = readerOf?.();
  while (reader?.connection.inTransaction) {
    await reader.connection.outsideTransaction();
    reader = readerOf?.();
  }
  return reader;
}

/** The columns of a `LEFT JOIN "Identity"` (all null for a user without one). */
export interface IdentityColumns {
  provider: string | null;
  externalId: string | null;
  handle: string | null;
}

/**
 * Folds a read joined with "Identity" (one row per identity, the rows of one `id` next to each other) into one
 * object per `id`: `make` builds it from its first row, and each row's identity is added to `identitiesOf(it)`.
 *
 *   const users = foldIdentities(rows, (r) => ({ id: r.id, name: r.name, identities: [] }), (u) => u.identities);
 */
export function foldIdentities<R extends IdentityColumns & { id: number }, T>(
  rows: readonly R[],
  make: (row: R) => T,
  identitiesOf: (item: T) => { provider: string; externalId: string; handle: string }[],
): T[] {
  const out: T[] = [];
  let current: { id: number; item: T } | undefined;
  for (const r of rows) {
    if (current?.id !== r.id) {
      current = { id: r.id, item: make(r) };
      out.push(current.item);
    }
    if (r.provider !== null) identitiesOf(current.item).push({ provider: r.provider, externalId: r.externalId as string, handle: r.handle as string });
  }
  return out;
}

/** A date column as read by either path: Date (Prisma), ISO text or epoch milliseconds (better-sqlite3), or null. */
export function dateOf(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  return new Date(value as string | number);
}

/** dateOf for a NOT NULL column. */
export function requiredDate(value: unknown): Date {
  const date = dateOf(value);
  if (!date) throw new Error('expected a date, got null');
  return date;
}
