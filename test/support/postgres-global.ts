/**
 * vitest globalSetup of the PostgreSQL project: one throwaway PostgreSQL server for the whole run (each test
 * file makes its own databases on it, test/support/db.ts), stopped at the end.
 */
import type { TestProject } from 'vitest/node';
import { type Postgres, startPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL server (database `postgres`). */
    postgresUrl: string;
  }
}

let server: Postgres | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startPostgres();
  project.provide('postgresUrl', server.url('postgres'));
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
