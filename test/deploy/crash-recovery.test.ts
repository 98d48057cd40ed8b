import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
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
  afterAll(() => {
    // The step outlived the bot (local transport runs it in its own process group): end it.
    if (orphan) {
      try {
        process.kill(-orphan, 'SIGKILL');
      } catch {}
    }
    repo.close();
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
      DATABASE_URL: `file:${join(dir, 'shepherd.db')}`,
      LOG_LEVEL: 'warn',
      WEB_BASE_URL: 'http://viewer.test',
      WEB_PORT: '0',
    };

    const first = startBot(env);
    first.child.stdin?.write('deploy slow\n');
    const pidFile = join(dir, 'deploy', 'step.pid');
    await waitUntil('the step to run', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim(), 60_000);
    orphan = Number(readFileSync(pidFile, 'utf8'));
    const db = new Database(join(dir, 'shepherd.db'), { readonly: true });
    try {
      // Lines are stored in batches (every 100 ms): wait until they are, as a viewer would see them.
      await waitUntil(
        'the lines to be stored',
        () => (db.prepare("SELECT count(*) AS n FROM LogLine WHERE text LIKE 'line %'").get() as { n: number }).n === 5,
        60_000,
      );
      expect((db.prepare('SELECT state FROM Deploy').get() as { state: string }).state).toBe('running');
      expect((db.prepare('SELECT count(*) AS n FROM Lock').get() as { n: number }).n).toBe(1);
    } finally {
      db.close();
    }
    first.child.kill('SIGKILL');
    await first.exited;
    // Only a deploy whose heartbeat is stale (3 intervals) is taken for dead: wait until it is.
    const beat = new Database(join(dir, 'shepherd.db'), { readonly: true });
    try {
      const lastBeat = () => {
        const v = (beat.prepare('SELECT heartbeatAt FROM Deploy').get() as { heartbeatAt: string | number }).heartbeatAt;
        return typeof v === 'number' ? v : Date.parse(v);
      };
      await waitUntil('the heartbeat to go stale', () => Date.now() - lastBeat() > 3_500, 60_000);
    } finally {
      beat.close();
    }

    const second = startBot(env);
    second.child.stdin?.end('deploys\nlocks\n');
    expect(await second.exited).toBe(0);
    const out = second.output();
    expect(out).toMatch(/⚠️ #1 slow\/HEAD \([0-9a-f]{7}\) → staging was interrupted: the bot stopped while it ran\. The lock is free/);
    expect(out).toMatch(/#1 ⚠️ slow\/HEAD .* interrupted/);
    expect(out).toContain('no locks: every environment is free');

    const after = new Database(join(dir, 'shepherd.db'), { readonly: true });
    try {
      expect(after.prepare('SELECT state, error FROM Deploy').get()).toEqual({ state: 'interrupted', error: 'the bot stopped while this deploy ran' });
      expect((after.prepare('SELECT count(*) AS n FROM Lock').get() as { n: number }).n).toBe(0);
      const lines = after.prepare("SELECT text FROM LogLine WHERE stream = 'stdout' ORDER BY seq").all() as { text: string }[];
      expect(lines.map((l) => l.text)).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
      expect(after.prepare('SELECT state FROM DeployHost').all()).toEqual([{ state: 'cancelled' }]);
    } finally {
      after.close();
    }
  }, 180_000);
});
