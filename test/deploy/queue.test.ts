import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { type DeployHarness, deployHarness, makeRepo, sshApp, type TestRepo } from './harness.js';

describe.skipIf(skipWithoutSshd())('one deploy per environment: lock, queue, manual locks', () => {
  let sshd: Sshd;
  let repo: TestRepo;
  let h: DeployHarness;

  beforeAll(async () => {
    sshd = await startSshd({ hosts: 1 });
    repo = makeRepo();
    repo.commit('first');
    h = await deployHarness(
      sshApp({
        repoUrl: repo.bare,
        deployTo: sshd.deployTo,
        key: sshd.clientKey,
        hosts: [sshd.hosts[0]!.entry],
        // Each deploy notes when it starts and ends in a file shared by all releases on the host, and waits
        // while the test holds it (a `hold` file), so "still running" never depends on timing.
        steps: [
          'echo "start $SHEPHERD_DEPLOY_ID" >> ../../order.log; sleep 0.05; while [ -f ../../hold ]; do sleep 0.05; done; echo "end $SHEPHERD_DEPLOY_ID" >> ../../order.log',
        ],
        app: { keep_releases: 3 },
      }),
    );
  });
  afterAll(async () => {
    await h?.close();
    repo?.close();
    await sshd?.stop();
  });

  it('GIVEN 20 deploys asked at once THEN one runs, the others queue behind the one before them, and they run one at a time in order', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `dev${i + 1}`);
    // The first deploy holds on the host until the queue is checked: on a slow database the 19 requests can
    // take longer than a whole deploy.
    const hold = join(sshd.hosts[0]!.root, 'hold');
    writeFileSync(hold, '');
    onTestFinished(() => rmSync(hold, { force: true }));
    await Promise.all(users.map((u) => h.chat.say(u, 'deploy web/main to staging')));
    const deploys = (await h.store.deploys.recent({ limit: 50 })).reverse();
    expect(deploys).toHaveLength(20);
    // Exactly one started at once; every other got a reply naming the deploy right ahead of it.
    const queued = h.texts().filter((t) => t.includes('queued behind'));
    expect(queued).toHaveLength(19);
    expect(deploys.filter((d) => d.state === 'running')).toHaveLength(1);
    for (const d of deploys.slice(1)) {
      const reply = queued.find((r) => r.startsWith(`⏳ #${d.id} `));
      expect(reply).toMatch(new RegExp(`queued behind #${d.id - 1} by dev\\d+`));
    }
    rmSync(hold);
    await h.deployer.idle();

    const done = (await h.store.deploys.recent({ limit: 50 })).reverse();
    expect(done.map((d) => d.state)).toEqual(Array(20).fill('succeeded'));
    // Never two at once: each started after the one before it finished, in id order.
    for (let i = 1; i < done.length; i++) {
      expect(done[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(done[i - 1]!.finishedAt!.getTime());
    }
    // The host agrees: start/end pairs never interleave and come in request order.
    const log = readFileSync(join(sshd.hosts[0]!.root, 'order.log'), 'utf8').trim().split('\n');
    expect(log).toEqual(done.flatMap((d) => [`start ${d.id}`, `end ${d.id}`]));
    expect(await h.store.locks.list()).toEqual([]);
  });

  it('GIVEN a manual lock THEN deploy refuses and says who holds it and why; after unlock it deploys', async () => {
    expect(await h.chat.say('carol', 'lock web/staging testing the migration')).toMatch(/held by carol/);
    const before = await h.store.deploys.recent({ limit: 100 });
    const reply = await h.chat.say('dave', 'deploy web/main to staging');
    expect(reply).toMatch(/✋ 🔒 web\/staging held by carol .*"testing the migration".*unlock web\/staging/);
    expect(await h.store.deploys.recent({ limit: 100 })).toHaveLength(before.length);
    await h.chat.say('carol', 'unlock web/staging');
    await h.chat.say('dave', 'deploy web/main to staging');
    await h.deployer.idle();
    expect((await h.store.deploys.recent({}))[0]?.state).toBe('succeeded');
  });

  it('GIVEN a queued deploy WHEN it is cancelled THEN it never runs and the next one in line does', async () => {
    const hold = join(sshd.hosts[0]!.root, 'hold');
    writeFileSync(hold, '');
    await h.chat.say('erin', 'deploy web/main');
    await h.chat.say('frank', 'deploy web/main');
    await h.chat.say('gina', 'deploy web/main');
    const [, second, third] = (await h.store.deploys.recent({ limit: 3 })).reverse();
    expect(second?.state).toBe('queued');
    expect(await h.chat.say('frank', `cancel ${second!.id}`)).toMatch(/was queued; it is cancelled/);
    rmSync(hold);
    await h.deployer.idle();
    expect((await h.store.deploys.get(second!.id))?.state).toBe('cancelled');
    expect((await h.store.deploys.get(third!.id))?.state).toBe('succeeded');
    const log = readFileSync(join(sshd.hosts[0]!.root, 'order.log'), 'utf8');
    expect(log).not.toContain(`start ${second!.id}\n`);
  });
});
