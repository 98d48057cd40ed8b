/**
 * A real PostgreSQL (Debian's `postgresql` package) on a free loopback port: initdb into a temp folder and
 * pg_ctl, both as the `postgres` user when we run as root (PostgreSQL refuses to run as root). Tuned for
 * tests (no fsync): the data is thrown away with the folder.
 *
 *   const pg = await startPostgres();       // throws PostgresMissing when the binaries are not installed
 *   const url = pg.url('postgres');         // postgresql://postgres@127.0.0.1:PORT/postgres
 *   await pg.down(); await pg.up();         // a restart, as the bot would see one
 *   await pg.stop();
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ngircd.js';

const run = promisify(execFile);

/** The newest installed PostgreSQL's bin folder (PG_BIN overrides). */
export const PG_BIN =
  process.env.PG_BIN ??
  (() => {
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
    const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
    return newest ? join(root, newest, 'bin') : join(root, '15', 'bin');
  })();

export class PostgresMissing extends Error {
  constructor() {
    super(`PostgreSQL not found at ${PG_BIN} (apt-get install postgresql, or set PG_BIN)`);
    this.name = 'PostgresMissing';
  }
}

export function postgresAvailable(): boolean {
  return existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'));
}

export interface Postgres {
  host: string;
  port: number;
  dir: string;
  /** A URL for database `db` as the superuser `postgres` (trust authentication on loopback). */
  url(db?: string): string;
  /** Stops the server (dropping every connection); up() starts it again on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs a PostgreSQL binary, as the postgres user when we are root. */
async function pgRun(bin: string, args: string[]): Promise<void> {
  const file = join(PG_BIN, bin);
  const asRoot = process.getuid?.() === 0;
  try {
    if (asRoot) await run('runuser', ['-u', 'postgres', '--', file, ...args], { cwd: '/' });
    else await run(file, args);
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${bin} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

export async function startPostgres(): Promise<Postgres> {
  if (!postgresAvailable()) throw new PostgresMissing();
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-pg-'));
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const port = await freePort();
  await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    // Thrown away after the run: durability buys nothing, and the machine is shared.
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ');
  const up = () => pgRun('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  const down = () => pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  await up();
  return {
    host: '127.0.0.1',
    port,
    dir,
    url: (db = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${db}`,
    down,
    up,
    async stop() {
      await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
