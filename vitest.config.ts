import { defineConfig } from 'vitest/config';
import { PostgresMissing, postgresAvailable } from './test/support/postgres.js';

/**
 * The tests that touch the database run twice: on SQLite and on PostgreSQL (the test matrix): the whole store,
 * push, web and deploy suites.
 */
const MATRIX = [
  'test/store/**/*.test.ts',
  'test/push/**/*.test.ts',
  'test/web/**/*.test.ts',
  'test/deploy/**/*.test.ts',
  'test/postgresql/timers-once.test.ts',
  'test/policy/promotion-validation.test.ts',
];
/** In those folders but with no database of the matrix's (a scripted shell session, a refused start, a
 * pure translation, a SQLite file another process locks): a second run would repeat the first. */
const NOT_MATRIX = ['test/push/session.test.ts', 'test/web/main-web.test.ts', 'test/store/translate-migration.test.ts', 'test/store/db-locked.test.ts'];

// Without PostgreSQL installed the second half is left out with a message; in CI that is a failure.
const withPostgres = postgresAvailable();
if (!withPostgres) {
  if (process.env.CI) throw new PostgresMissing();
  console.warn(`${new PostgresMissing().message}: skipping the PostgreSQL half of the test matrix`);
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One module graph per worker, not per file: each file re-importing the bot (Prisma, Fastify, Bolt) cost
    // ~1 s of import and a fresh fork, over 160 files. Tests open their own databases, servers and bots, and
    // nothing they share leaks between files (no vi.mock, fake timers or process.env writes in test/).
    isolate: false,
    // Integration tests start real servers (ngircd, sshd, Chromium); two cores, so keep it to two files at once.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], env: { SHEPHERD_TEST_DB: 'sqlite' } } },
      ...(withPostgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgresql',
                include: MATRIX,
                exclude: NOT_MATRIX,
                // Every query crosses a socket: on two busy cores the slowest tests need more than SQLite's minute.
                testTimeout: 120_000,
                hookTimeout: 120_000,
                env: { SHEPHERD_TEST_DB: 'postgresql' },
                globalSetup: ['test/support/postgres-global.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
