/**
 * Several real Shepherd processes on one PostgreSQL, each with its own terminal chat (piped stdin), its own web
 * port and its own data folder (git cache, known_hosts), as an operator would run them on three machines. For
 * the multi-instance tests and the `ha` benchmark (so no vitest in here).
 *
 *   const pg = await startPostgres();
 *   const [a, b] = await startCluster({ url: pg.url(), config, dir, count: 2, heartbeat: '500ms' });
 *   a.say('deploy svc1'); await a.waitFor(/started/); a.child.kill('SIGKILL');
 *   const rows = await pgRows(pg.url(), 'SELECT "id", "state" FROM "Deploy"');
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { freePort } from '../support/ngircd.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TIMESTAMP_OID = 1114;

export interface Instance {
  name: string;
  child: ChildProcess;
  /** http://127.0.0.1:PORT of its viewer. */
  web: string;
  output(): string;
  say(line: string): void;
  /** Resolves once its output (from `from` on) matches. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<void>;
  exited: Promise<number | null>;
}

export interface ClusterOptions {
  url: string;
  /** A shepherd.yml (JSON is YAML) written by the caller. */
  config: string;
  dir: string;
  count: number;
  /** Names, default A, B, C, … */
  names?: string[];
  env?: Record<string, string>;
  /**
   * Node's arguments that start one bot, run in the repository. Default: the sources through tsx
   * (`--import tsx src/main.ts`), so a test runs the code as it is in the worktree with no build step that
   * parallel test files would race on. The `ha` benchmark passes `npm start`'s arguments (the compiled build).
   */
  nodeArgs?: string[];
  /** Variables of one instance (by name), besides `env`. */
  instanceEnv?: (name: string) => Record<string, string>;
}

/** How the tests start a bot: its sources, compiled at run time by tsx. */
export const SOURCE_ARGS = ['--import', 'tsx', 'src/main.ts'];

/** Starts `count` bots on one database and waits until each one listens for chat. */
export async function startCluster(options: ClusterOptions): Promise<Instance[]> {
  const names = options.names ?? ['A', 'B', 'C', 'D', 'E'].slice(0, options.count);
  const instances: Instance[] = [];
  for (const name of names) {
    const port = await freePort();
    const data = join(options.dir, `data-${name}`);
    mkdirSync(data, { recursive: true });
    instances.push(
      startInstance(
        name,
        {
          SHEPHERD_CONFIG: options.config,
          DATABASE_URL: options.url,
          SHEPHERD_DATA_DIR: data,
          WEB_PORT: String(port),
          WEB_BASE_URL: `http://127.0.0.1:${port}`,
          LOG_LEVEL: 'warn',
          ...options.env,
          ...options.instanceEnv?.(name),
        },
        options.nodeArgs ?? SOURCE_ARGS,
      ),
    );
  }
  // Together they also migrate at once (the migrations take an advisory lock). Ready = /readyz answers 200.
  await Promise.all(instances.map((i) => waitReady(i, 120_000)));
  return instances;
}

/** Start-up has no event to wait on from outside the process: poll /readyz (a port probe, as the servers' starts do). */
async function waitReady(instance: Instance, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (instance.child.exitCode !== null) throw new Error(`${instance.name} exited at start:\n${instance.output().slice(-3000)}`);
    const ok = await fetch(`${instance.web}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${instance.name} not ready after ${timeoutMs} ms:\n${instance.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startInstance(name: string, env: Record<string, string>, args: string[]): Instance {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (c: Buffer) => {
    out += c.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stdin?.on('error', () => {}); // writing to a killed instance
  return {
    name,
    child,
    web: `http://127.0.0.1:${env.WEB_PORT}`,
    output: () => out,
    say: (line) => void child.stdin?.write(`${line}\n`),
    exited,
    waitFor(pattern, timeoutMs = 60_000, from = 0) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(out.slice(from))) return;
          done();
          resolve();
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name}: output does not match ${pattern} after ${timeoutMs} ms:\n${out.slice(-3000)}`));
        }, timeoutMs);
        const onExit = () => {
          done();
          reject(new Error(`${name} exited before its output matched ${pattern}:\n${out.slice(-3000)}`));
        };
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', onExit);
        };
        waiters.add(check);
        child.once('exit', onExit);
        check();
      });
    },
  };
}

/** Rows of a query on PostgreSQL, DateTime columns (TIMESTAMP(3) in UTC, as Prisma writes them) read as Dates. */
export async function pgRows<T = Record<string, unknown>>(url: string, query: string, values: unknown[] = []): Promise<T[]> {
  const types = {
    getTypeParser: (oid: number, format?: string) =>
      oid === TIMESTAMP_OID ? (v: string) => new Date(`${v.replace(' ', 'T')}Z`) : pg.types.getTypeParser(oid, format as 'text'),
  };
  const client = new pg.Client({ connectionString: url, types: types as pg.CustomTypesConfig });
  await client.connect();
  try {
    return (await client.query(query, values)).rows as T[];
  } finally {
    await client.end();
  }
}

export interface RunInterval {
  id: number;
  app: string;
  environment: string;
  ownerId: string | null;
  state: string;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** Every deploy that ever ran (has a startedAt), per environment in start order. */
export async function runHistory(url: string): Promise<RunInterval[]> {
  return pgRows<RunInterval>(
    url,
    `SELECT "id", "app", "environment", "ownerId", "state", "startedAt", "finishedAt" FROM "Deploy"
      WHERE "startedAt" IS NOT NULL ORDER BY "app", "environment", "startedAt", "id"`,
  );
}

/** Pairs of deploys of one app/environment whose running intervals overlap (a still-running one lasts until now). */
export function overlaps(history: readonly RunInterval[]): [RunInterval, RunInterval][] {
  const found: [RunInterval, RunInterval][] = [];
  for (let i = 1; i < history.length; i++) {
    const prev = history[i - 1] as RunInterval;
    const next = history[i] as RunInterval;
    if (prev.app !== next.app || prev.environment !== next.environment) continue;
    const prevEnd = prev.finishedAt?.getTime() ?? Number.POSITIVE_INFINITY;
    if ((next.startedAt as Date).getTime() < prevEnd) found.push([prev, next]);
  }
  return found;
}

/**
 * A shepherd.yml of `apps` apps (svc1, svc2, …), each with one environment `staging` on the sshd host(s), its own
 * folder under deployTo, and `steps`. Every shell user is a release manager.
 */
export function clusterConfig(
  path: string,
  options: { apps: number; repoUrl: string; deployTo: string; key: string; hosts: string[]; steps: string[]; heartbeat: string },
): string {
  const apps: Record<string, unknown> = {};
  for (let n = 1; n <= options.apps; n++) {
    apps[`svc${n}`] = {
      repo_url: options.repoUrl,
      deploy_to: join(options.deployTo, `svc${n}`),
      keep_releases: 2,
      default_environment: 'staging',
      ssh: { user: 'root', private_key_path: options.key, known_hosts: join(dirname(options.key), 'known_hosts') },
      connect_timeout: '10s',
      step_timeout: '120s',
      steps: options.steps,
      environments: { staging: { hosts: options.hosts } },
    };
  }
  writeFileSync(path, JSON.stringify({ release_managers: ['shell:*'], heartbeat_interval: options.heartbeat, apps }, null, 2));
  return path;
}
