/**
 * Translates a migration Prisma wrote for SQLite into the PostgreSQL migration Prisma would write for the same
 * schema change, so prisma/migrations stays the one hand-made history and prisma/migrations-postgresql follows
 * it (`npm run db:postgresql-migrations` writes the twins; test/store/postgresql-migrations.test.ts fails when one
 * is missing or stale). Deterministic and deliberately narrow: it knows the statements Prisma's SQLite diff
 * emits for tables, columns and indexes, and refuses anything else with the statement it could not translate
 * (then write the PostgreSQL twin by hand, starting with HAND_WRITTEN, and the test leaves it alone).
 *
 *   translateMigration('CREATE TABLE "A" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT);')
 *   // → 'CREATE TABLE "A" (\n    "id" SERIAL NOT NULL,\n\n    CONSTRAINT "A_pkey" PRIMARY KEY ("id")\n);\n'
 */

/** First line of a PostgreSQL migration written by hand: the translation test skips it. */
export const HAND_WRITTEN = '-- hand-written for PostgreSQL';

export class TranslationError extends Error {
  override name = 'TranslationError';
}

/** Prisma's SQLite column types → what Prisma uses on PostgreSQL for the same schema type. */
const TYPES: Record<string, string> = {
  INTEGER: 'INTEGER',
  TEXT: 'TEXT',
  BOOLEAN: 'BOOLEAN',
  DATETIME: 'TIMESTAMP(3)',
  REAL: 'DOUBLE PRECISION',
  BIGINT: 'BIGINT',
  BLOB: 'BYTEA',
  DECIMAL: 'DECIMAL(65,30)',
  JSONB: 'JSONB',
};

/** `"col" TYPE rest` → PostgreSQL, given whether the column is the table's autoincrement key. */
function column(name: string, type: string, rest: string, statement: string): string {
  const mapped = TYPES[type];
  if (!mapped) throw new TranslationError(`unknown column type ${type} in: ${statement}`);
  return `"${name}" ${mapped}${rest}`;
}

function translateCreateTable(statement: string, foreignKeys: string[]): string {
  const m = /^CREATE TABLE "(\w+)" \(\n([\s\S]*)\n\)$/.exec(statement);
  if (!m) throw new TranslationError(`cannot translate: ${statement}`);
  const table = m[1] as string;
  const columns: string[] = [];
  let primaryKey: string | undefined;
  for (const raw of (m[2] as string).split(',\n')) {
    const line = raw.trim();
    const fk = /^CONSTRAINT "(\w+)" FOREIGN KEY \(([^)]*)\) REFERENCES "(\w+)" \(([^)]*)\)(.*)$/.exec(line);
    if (fk) {
      foreignKeys.push(`ALTER TABLE "${table}" ADD CONSTRAINT "${fk[1]}" FOREIGN KEY (${fk[2]}) REFERENCES "${fk[3]}"(${fk[4]})${fk[5]};`);
      continue;
    }
    const pk = /^(?:CONSTRAINT "\w+" )?PRIMARY KEY \(([^)]*)\)$/.exec(line);
    if (pk) {
      primaryKey = pk[1];
      continue;
    }
    const col = /^"(\w+)" (\w+)(.*)$/.exec(line);
    if (!col) throw new TranslationError(`cannot translate the line «${line}» of: ${statement}`);
    let [, name, type, rest] = col as unknown as [string, string, string, string];
    if (/ PRIMARY KEY AUTOINCREMENT/.test(rest)) {
      if (type !== 'INTEGER') throw new TranslationError(`AUTOINCREMENT on ${type} in: ${statement}`);
      type = 'SERIAL';
      rest = rest.replace(' PRIMARY KEY AUTOINCREMENT', '');
      primaryKey = `"${name}"`;
      columns.push(`"${name}" SERIAL${rest}`);
      continue;
    }
    if (/ PRIMARY KEY/.test(rest)) {
      rest = rest.replace(' PRIMARY KEY', '');
      primaryKey = `"${name}"`;
    }
    columns.push(column(name, type, rest, statement));
  }
  const body = columns.map((c) => `    ${c}`).join(',\n');
  const key = primaryKey ? `,\n\n    CONSTRAINT "${table}_pkey" PRIMARY KEY (${primaryKey})` : '';
  return `CREATE TABLE "${table}" (\n${body}${key}\n);`;
}

function translateStatement(statement: string, foreignKeys: string[]): string {
  if (statement.startsWith('CREATE TABLE ')) return translateCreateTable(statement, foreignKeys);
  // Indexes and dropping things read the same on both.
  if (/^CREATE (UNIQUE )?INDEX "\w+" ON "\w+"\("\w+"(, "\w+")*\)$/.test(statement)) return `${statement};`;
  if (/^DROP (INDEX|TABLE) "\w+"$/.test(statement)) return `${statement};`;
  const add = /^ALTER TABLE "(\w+)" ADD COLUMN "(\w+)" (\w+)((?: NOT NULL)?(?: DEFAULT (?:'[^']*'|-?\d+(?:\.\d+)?|true|false|CURRENT_TIMESTAMP))?)$/.exec(
    statement,
  );
  if (add) return `ALTER TABLE "${add[1]}" ADD COLUMN ${column(add[2] as string, add[3] as string, add[4] as string, statement)};`;
  if (/^ALTER TABLE "\w+" DROP COLUMN "\w+"$/.test(statement)) return `${statement};`;
  throw new TranslationError(`cannot translate: ${statement}`);
}

/** The PostgreSQL migration for a SQLite migration's SQL (comments kept, foreign keys added at the end). */
export function translateMigration(sqlite: string): string {
  const out: string[] = [];
  const foreignKeys: string[] = [];
  // Prisma writes one statement per block: `-- Comment` lines, then the statement ending in ';'.
  for (const block of sqlite.replace(/\r\n/g, '\n').split(/;[ \t]*\n|;[ \t]*$/)) {
    const lines = block.split('\n');
    const comments = lines.filter((l) => l.trim().startsWith('--')).map((l) => l.trim());
    const statement = lines
      .filter((l) => !l.trim().startsWith('--'))
      .join('\n')
      .trim();
    if (!statement) {
      if (comments.length) out.push(comments.join('\n'));
      continue;
    }
    if (/^PRAGMA /i.test(statement)) {
      throw new TranslationError(
        `cannot translate a SQLite table rebuild (${statement}): write the PostgreSQL migration by hand, starting with "${HAND_WRITTEN}"`,
      );
    }
    out.push([...comments, translateStatement(statement, foreignKeys)].join('\n'));
  }
  if (foreignKeys.length) out.push(...foreignKeys.map((fk) => `-- AddForeignKey\n${fk}`));
  return `${out.join('\n\n')}\n`;
}

export interface Twin {
  name: string;
  /** The translation of the SQLite migration (null when the PostgreSQL one is hand-written). */
  expected: string | null;
  /** The committed PostgreSQL migration, null when missing. */
  actual: string | null;
}

/** Every SQLite migration with its PostgreSQL twin as translated and as committed. */
export function postgresTwins(sqliteMigrations: { name: string; sql: string }[], readPostgres: (name: string) => string | null): Twin[] {
  return sqliteMigrations.map(({ name, sql }) => {
    const actual = readPostgres(name);
    if (actual?.startsWith(HAND_WRITTEN)) return { name, expected: null, actual };
    return { name, expected: translateMigration(sql), actual };
  });
}

export const MIGRATION_LOCK =
  '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n';
