/**
 * The bot dies (SIGKILL) while a deploy validates over real sshd hosts: a real Shepherd process runs the deploy
 * until its validation window checks the hosts, is killed, and a second process on the same database finds the
 * deploy stale (3 missed heartbeats): it is `interrupted`, the lock is free, every host is left on the new
 * release (nothing rolls back on a guess), and the channel is told so.
 */
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotProcess, startBotProcess } from '../support/bot-process.js';
import { queryRows, type TempDatabase, tempDatabase } from '../support/db.js';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { waitUntil } from '../support/wait.js';
import { makeRepo, sshApp } from './harness.js';

describe.skipIf(skipWithoutSshd())('SIGKILL during validation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-validation-crash-'));
  const repo = makeRepo();
  const bots: BotProcess[] = [];
  let sshd: Sshd;
  let database: TempDatabase;
  beforeAll(async () => {
    sshd = await startSshd({ hosts: 3 });
    database = await tempDatabase();
  });
  afterAll(async () => {
    for (const b of bots) if (b.child.exitCode === null) b.child.kill('SIGKILL');
    await sshd?.stop();
    repo.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a deploy validating when the bot is killed THEN after restart it is interrupted, the hosts are left as they are and the channel is told', async () => {
    repo.commit('first');
    for (const host of sshd.hosts) mkdirSync(join(host.root, 'crash'), { recursive: true });
    // Every check leaves a mark, so the test knows the window is running on the hosts before it kills the bot.
    const file = JSON.parse(
      sshApp({
        name: 'web',
        repoUrl: repo.bare,
        deployTo: `${sshd.deployTo}/crash`,
        key: sshd.clientKey,
        hosts: sshd.hosts.map((h) => h.entry),
        steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"'],
        env: { concurrency: 3, validate: { for: '10m', every: '200ms', check: 'echo "$SHEPHERD_VALIDATION_ROUND" > ../../checked' } },
      }),
    );
    const config = join(dir, 'shepherd.yml');
    writeFileSync(config, JSON.stringify({ ...file, release_managers: ['shell:*'], heartbeat_interval: '1s' }));
    const env = { SHEPHERD_CONFIG: config, ...database.env, LOG_LEVEL: 'warn', WEB_BASE_URL: 'http://viewer.test', WEB_PORT: '0' };
    const row = async () => (await queryRows(database.url, 'SELECT "state", "error", "releaseId" FROM "Deploy" WHERE "id" = 1'))[0];
    const checked = () =>
      sshd.hosts.every((h) => {
        try {
          return readlinkSync(join(h.root, 'crash', 'current')).startsWith('releases/') && Number(readFileSync(join(h.root, 'crash', 'checked'), 'utf8')) >= 2;
        } catch {
          return false;
        }
      });

    const a = startBotProcess(env);
    bots.push(a);
    a.say('deploy web');
    await a.waitFor(/🔎 #1 validating on 3 hosts for 10m/, 240_000);
    await waitUntil('two validation rounds on every host', checked, 120_000);
    expect((await row())?.state).toBe('validating');
    a.child.kill('SIGKILL');
    await a.exited;
    const releaseId = String((await row())?.releaseId);
    const live = sshd.hosts.map((h) => readlinkSync(join(h.root, 'crash', 'current')));
    expect(live).toEqual(sshd.hosts.map(() => `releases/${releaseId}`));

    // The restart finds it once its heartbeat is stale.
    const b = startBotProcess(env);
    bots.push(b);
    await waitUntil('the deploy to be interrupted', async () => (await row())?.state === 'interrupted', 120_000);
    await b.waitFor(
      /⚠️ #1 web\/HEAD \([0-9a-f]{7}\) → staging was interrupted during validation: .*every host was left on release \S+ as it is \(nothing was rolled back\)/,
    );
    expect((await row())?.error).toBe('the bot stopped while this deploy ran');
    // Hosts untouched: still on the new release, their rows still switched (not cancelled, not rolled back).
    expect(sshd.hosts.map((h) => readlinkSync(join(h.root, 'crash', 'current')))).toEqual(live);
    const hosts = await queryRows(database.url, 'SELECT "state" FROM "DeployHost" WHERE "deployId" = 1 ORDER BY "id"');
    expect(hosts.map((h) => h.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(await queryRows(database.url, 'SELECT CAST(count(*) AS INTEGER) AS n FROM "Lock"')).toEqual([{ n: 0 }]);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  }, 600_000);
});
