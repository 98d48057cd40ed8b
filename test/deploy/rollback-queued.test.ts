/**
 * A rollback asked while a deploy runs waits in the queue, and picks its target when it starts: the release
 * before the live one at that moment (the deploy ahead of it may have pruned the one that was "previous" when
 * the rollback was asked).
 */
import { existsSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from './harness.js';

describe('rollback queued behind a running deploy', () => {
  let repo: TestRepo;
  let dir: string;
  let h: DeployHarness;

  beforeAll(async () => {
    repo = makeRepo();
    dir = mkdtempSync(join(tmpdir(), 'shepherd-rollback-'));
    h = await deployHarness(
      JSON.stringify({
        release_managers: ['irc:boss'],
        apps: {
          web: {
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: join(dir, 'deploy'),
            keep_releases: 2,
            // Waits while the test holds it (a `hold` file), so "still running" never depends on timing.
            steps: [`while [ -f ${join(dir, 'hold')} ]; do sleep 0.05; done`],
            environments: { staging: { hosts: ['localhost'] } },
          },
        },
      }),
    );
  });
  afterAll(async () => {
    // A failed assertion must not leave the held deploy running (closing waits for it).
    rmSync(join(dir, 'hold'), { force: true });
    await h?.close();
    repo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN `rollback` asked while a deploy runs THEN it queues, and when it starts it goes back from what is live then, and succeeds', async () => {
    const shas: string[] = [];
    for (const name of ['one', 'two']) {
      shas.push(repo.commit(name));
      await h.chat.say('boss', 'deploy web/main to staging');
      await h.deployer.idle();
    }
    writeFileSync(join(dir, 'hold'), '');
    shas.push(repo.commit('three'));
    await h.chat.say('boss', 'deploy web/main to staging');
    // Generous: on two busy cores with PostgreSQL, a deploy can take seconds to be picked up.
    await vi.waitFor(async () => expect((await h.store.deploys.get(3))?.state).toBe('running'), { timeout: 60_000, interval: 50 });

    // Asked now, the previous release would be #1's; by the time it runs, #3 is live and #1's release pruned.
    expect(await h.chat.say('boss', 'rollback web in staging')).toMatch(/queued behind #3/);
    expect((await h.store.deploys.get(4))?.releaseId).toBe((await h.store.deploys.get(1))?.releaseId);
    rmSync(join(dir, 'hold'));
    await h.deployer.idle();

    const [one, two, three, back] = await Promise.all([1, 2, 3, 4].map((id) => h.store.deploys.get(id)));
    expect(three?.state).toBe('succeeded');
    expect(existsSync(join(dir, 'deploy', 'releases', one!.releaseId))).toBe(false);
    expect(back).toMatchObject({ kind: 'rollback', state: 'succeeded', sha: shas[1], releaseId: two!.releaseId });
    expect(readlinkSync(join(dir, 'deploy', 'current'))).toContain(two!.releaseId);
    expect((await h.store.deploys.current('web', 'staging'))?.id).toBe(back!.id);
  }, 180_000);
});
