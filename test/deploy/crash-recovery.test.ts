import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { queryRows, type TempDatabase, tempDatabase } from '../support/db.js';
import { makeRepo } from './harness.js';
import { waitUntil } from '../support/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');

function startBot(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  // node itself (not npx/npm) so that SIGKILL hits the bot and nothing in between.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe('the bot dies mid-deploy (SIGKILL) and restarts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-crash-'));
  const repo = makeRepo();
  let orphan: number | null = null;
  let database: TempDatabase;
  beforeAll(async () => {
    database = await tempDatabase();
  });
  afterAll(async () => {
    // The step outlived the bot (local transport runs it in its own process group): end it.
    if (orphan) {
      try {
        process.kill(-orphan, 'SIGKILL');
      } catch {}
    }
    repo.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a deploy running when the bot is killed THEN after restart it is interrupted, the lock is free, its lines are kept and the channel is told', async () => {
    repo.commit('first');
    const config = join(dir, 'shepherd.yml');
    writeFileSync(
      config,
      JSON.stringify({
        release_managers: ['shell:*'],
        heartbeat_interval: '1s',
        apps: {
          slow: {
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: join(dir, 'deploy'),
            steps: ['for i in 1 2 3 4 5; do echo "line $i"; done; echo $$ > ../../step.pid; sleep 300'],
            environments: { staging: { hosts: ['localhost'] } },
          },
        },
      }),
    );
    const env = {
      SHEPHERD_CONFIG: config,
      ...database.env,
      LOG_LEVEL: 'warn',
      WEB_BASE_URL: 'http://viewer.test',
      WEB_PORT: '0',
    };

    const first = startBot(env);
    first.child.stdin?.write('deploy slow\n');
    const pidFile = join(dir, 'deploy', 'step.pid');
    await waitUntil('the step to run', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim(), 60_000);
    orphan = Number(readFileSync(pidFile, 'utf8'));
    const rows = (query: string) => queryRows(database.url, query);
    // Lines are stored in batches (every 100 ms): wait until they are, as a viewer would see them.
    // The log is stored in chunks of lines joined by '\n' (src/store/log-lines.ts).
    const stdout = async () =>
      (await rows(`SELECT "text" FROM "LogChunk" WHERE "stream" = 'stdout' ORDER BY "firstSeq"`)).flatMap((r) => String(r.text).split('\n'));
    await vi.waitFor(async () => expect((await stdout()).filter((l) => l.startsWith('line '))).toHaveLength(5), { timeout: 60_000, interval: 100 });
    expect(await rows('SELECT "state" FROM "Deploy"')).toEqual([{ state: 'running' }]);
    expect(await rows('SELECT CAST(count(*) AS INTEGER) AS n FROM "Lock"')).toEqual([{ n: 1 }]);
    first.child.kill('SIGKILL');
    await first.exited;
    // Only a deploy whose heartbeat is stale (3 intervals) is taken for dead: wait until it is.
    // SQLite hands back a number or a text, PostgreSQL a Date.
    const lastBeat = async () => {
      const [row] = await rows('SELECT "heartbeatAt" FROM "Deploy"');
      const v = row?.heartbeatAt as string | number | Date;
      return v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(v);
    };
    await vi.waitFor(async () => expect(Date.now() - (await lastBeat())).toBeGreaterThan(3_500), { timeout: 60_000, interval: 100 });

    const second = startBot(env);
    second.child.stdin?.end('deploys\nlocks\n');
    expect(await second.exited).toBe(0);
    const out = second.output();
    expect(out).toMatch(/⚠️ #1 slow\/HEAD \([0-9a-f]{7}\) → staging was interrupted: the bot stopped while it ran\. The lock is free/);
    expect(out).toMatch(/#1 ⚠️ slow\/HEAD .* interrupted/);
    expect(out).toContain('no locks: every environment is free');

    expect(await rows('SELECT "state", "error" FROM "Deploy"')).toEqual([{ state: 'interrupted', error: 'the bot stopped while this deploy ran' }]);
    expect(await rows('SELECT CAST(count(*) AS INTEGER) AS n FROM "Lock"')).toEqual([{ n: 0 }]);
    expect(await stdout()).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    expect(await rows('SELECT "state" FROM "DeployHost"')).toEqual([{ state: 'cancelled' }]);
  }, 180_000);
});
