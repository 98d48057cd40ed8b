import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { type DeployHarness, deployHarness, makeRepo, sshApp, type TestRepo } from './harness.js';

describe.skipIf(skipWithoutSshd())('deploy over real sshd: happy path on 3 hosts', () => {
  let sshd: Sshd;
  let repo: TestRepo;
  let h: DeployHarness;

  beforeAll(async () => {
    sshd = await startSshd({ hosts: 3 });
    repo = makeRepo();
    h = await deployHarness(
      sshApp({
        repoUrl: repo.bare,
        deployTo: sshd.deployTo,
        key: sshd.clientKey,
        hosts: sshd.hosts.map((x) => x.entry),
        healthcheck: 'test -f package.json',
        env: { concurrency: 2 },
      }),
    );
  });
  afterAll(async () => {
    await h?.close();
    repo?.close();
    await sshd?.stop();
  });

  it('GIVEN `deploy web/main to staging` THEN every host gets the release, current switches, lines are stored per host', async () => {
    const first = repo.commit('first');
    await h.chat.say('alice', 'deploy web/main to staging');
    await h.deployer.idle();

    const [deploy] = await h.store.deploys.recent({ app: 'web' });
    expect(deploy?.state).toBe('succeeded');
    expect(deploy?.sha).toBe(first);
    expect(deploy?.hosts.map((x) => x.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    for (const host of sshd.hosts) {
      expect(readlinkSync(join(host.root, 'current'))).toBe(`releases/${deploy?.releaseId}`);
      expect(readFileSync(join(host.root, 'current', 'VERSION'), 'utf8')).toMatch(/^first/);
    }
    const lines = await h.store.deploys.lines(deploy!.id);
    for (const host of sshd.hosts) {
      expect(lines.some((l) => l.host === host.entry && l.stream === 'stdout' && l.text === `built web ${first} on ${host.entry}`)).toBe(true);
    }
    // seq is gap-free from 1
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));

    const texts = h.texts();
    const start = texts.find((t) => t.startsWith(`🚀 #${deploy!.id}`));
    expect(start).toContain('web/main');
    expect(start).toContain(first.slice(0, 7));
    expect(start).toContain('staging');
    expect(start).toContain('3 hosts');
    expect(start).toContain(`http://viewer.test/deploys/${deploy!.id}`);
    expect(texts.some((t) => t.includes('3/3 hosts done'))).toBe(true);
    expect(texts.at(-1)).toMatch(new RegExp(`✅ #${deploy!.id} .* succeeded in .* @alice`));
  });

  it('GIVEN two more deploys THEN the start message lists the commits and old releases are pruned to keep_releases', async () => {
    const before = (await h.store.deploys.recent({ app: 'web' }))[0]!;
    repo.commit('second change');
    await h.chat.say('alice', 'deploy web/main to staging');
    await h.deployer.idle();
    const third = repo.commit('third change');
    await h.chat.say('alice', 'deploy web/main');
    await h.deployer.idle();
    const [latest, middle] = await h.store.deploys.recent({ app: 'web' });
    expect(latest?.state).toBe('succeeded');
    expect(latest?.sha).toBe(third);
    const start = h.texts().find((t) => t.startsWith(`🚀 #${latest!.id}`));
    expect(start).toMatch(/shipping since [0-9a-f]{7}:\n {2}[0-9a-f]{7} third change \(Alice Dev\)/);
    for (const host of sshd.hosts) {
      // keep_releases: 2 — the first release is gone, the last two remain.
      expect(readdirSync(join(host.root, 'releases')).sort()).toEqual([middle!.releaseId, latest!.releaseId].sort());
      expect(existsSync(join(host.root, 'releases', before.releaseId))).toBe(false);
      expect(readlinkSync(join(host.root, 'current'))).toBe(`releases/${latest!.releaseId}`);
    }
    // The lock is free again.
    expect(await h.store.locks.list()).toEqual([]);
  });
});
