/**
 * SIGTERM mid-deploy over real sshd: the bot stops taking work, kills the remote step (gone from the host),
 * records the deploy interrupted, frees the lock, tells the channel, and exits 0.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BotProcess, startBotProcess } from '../support/bot-process.js';
import { queryRows, type TempDatabase, tempDatabase } from '../support/db.js';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { makeRepo, type TestRepo } from './harness.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie is gone for every purpose but the process table.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe.skipIf(skipWithoutSshd())('SIGTERM mid-deploy (real sshd)', () => {
  let sshd: Sshd;
  let repo: TestRepo;
  let bot: BotProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-sigterm-'));
  let database: TempDatabase | undefined;

  beforeAll(async () => {
    database = await tempDatabase();
    sshd = await startSshd({ hosts: 1 });
    repo = makeRepo();
    repo.commit('first');
  });
  afterAll(async () => {
    if (bot && bot.child.exitCode === null) bot.child.kill('SIGKILL');
    repo?.close();
    await sshd?.stop();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a remote step running WHEN the bot gets SIGTERM THEN the step is gone, the deploy interrupted, the lock free, the channel told, exit 0', async () => {
    const config = join(dir, 'shepherd.yml');
    writeFileSync(
      config,
      JSON.stringify({
        release_managers: ['shell:*'],
        shutdown_grace: '10s',
        apps: {
          web: {
            repo_url: repo.bare,
            deploy_to: sshd.deployTo,
            ssh: { user: 'root', private_key_path: sshd.clientKey, known_hosts: join(dirname(sshd.clientKey), 'known_hosts') },
            connect_timeout: '5s',
            // The step's own pid, as the host sees it, then it runs long.
            steps: ['echo $$ > ../../step.pid; exec sleep 300'],
            environments: { staging: { hosts: [sshd.hosts[0]!.entry] } },
          },
        },
      }),
    );
    const url = database!.url;
    bot = startBotProcess({ SHEPHERD_CONFIG: config, ...database!.env, LOG_LEVEL: 'warn', WEB_BASE_URL: 'http://viewer.test', WEB_PORT: '0' });
    bot.say('deploy web to staging');
    const pidFile = join(sshd.hosts[0]!.root, 'step.pid');
    await vi.waitFor(() => expect(existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim()).toBeTruthy(), { timeout: 60_000, interval: 50 });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(true);

    bot.child.kill('SIGTERM');
    expect(await bot.exited).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(bot.output()).toMatch(/⚠️ #1 web\/HEAD \([0-9a-f]{7}\) → staging was interrupted: the bot stopped while it ran\. The lock is free/);
    expect(await queryRows(url, 'SELECT "state", "error" FROM "Deploy"')).toEqual([
      { state: 'interrupted', error: 'Shepherd was stopped while this deploy ran' },
    ]);
    expect(await queryRows(url, 'SELECT CAST(count(*) AS INTEGER) AS n FROM "Lock"')).toEqual([{ n: 0 }]);
    expect(await queryRows(url, 'SELECT "state" FROM "DeployHost"')).toEqual([{ state: 'cancelled' }]);
  }, 180_000);
});
