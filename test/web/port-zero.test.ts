/**
 * WEB_PORT=0 without WEB_BASE_URL: the viewer listens on a free port, and chat links name that port.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo } from '../deploy/harness.js';
import { type BotProcess, startBotProcess } from '../support/bot-process.js';
import { type TempDatabase, tempDatabase } from '../support/db.js';

describe('WEB_PORT=0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-port0-'));
  const repo = makeRepo();
  let bot: BotProcess | undefined;
  let database: TempDatabase | undefined;
  beforeAll(async () => {
    database = await tempDatabase();
  });
  afterAll(async () => {
    if (bot && bot.child.exitCode === null) bot.child.kill('SIGKILL');
    repo.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN WEB_PORT=0 and no WEB_BASE_URL THEN the deploy link in chat names the port the viewer bound, and it answers', async () => {
    repo.commit('first');
    const config = join(dir, 'shepherd.yml');
    writeFileSync(
      config,
      JSON.stringify({
        release_managers: ['shell:*'],
        apps: {
          quick: {
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: join(dir, 'deploy'),
            steps: ['true'],
            environments: { staging: { hosts: ['localhost'] } },
          },
        },
      }),
    );
    bot = startBotProcess({ SHEPHERD_CONFIG: config, ...database!.env, LOG_LEVEL: 'warn', WEB_PORT: '0', WEB_BASE_URL: '' });
    bot.say('deploy quick');
    await bot.waitFor(/http:\/\/127\.0\.0\.1:\d+\/deploys\/1/);
    const url = /http:\/\/127\.0\.0\.1:\d+\/deploys\/1/.exec(bot.output())![0];
    expect(url).not.toContain(':0/');
    expect((await fetch(url)).status).toBe(200);
    bot.child.stdin?.end();
    expect(await bot.exited).toBe(0);
  }, 120_000);
});
