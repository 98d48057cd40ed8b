import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { type DeployHarness, deployHarness, makeRepo, sshApp, type TestRepo } from './harness.js';
import { waitUntil } from '../support/wait.js';

const CLONE = 'git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(skipWithoutSshd())('deploy failures over real sshd', () => {
  let sshd: Sshd;
  let repo: TestRepo;
  let h: DeployHarness | undefined;
  const entries = () => sshd.hosts.map((x) => x.entry);

  beforeAll(async () => {
    sshd = await startSshd({ hosts: 3 });
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    repo?.close();
  });

  it('GIVEN a canary that fails THEN no other host is touched and the deploy fails', async () => {
    repo = makeRepo();
    const sha = repo.commit('canary test');
    const canary = sshd.hosts[0]!;
    h = await deployHarness(
      sshApp({
        name: 'canaryapp',
        repoUrl: repo.bare,
        deployTo: `${sshd.deployTo}/canary`,
        key: sshd.clientKey,
        hosts: entries(),
        steps: [CLONE, `if [ "$SHEPHERD_HOST" = "${canary.entry}" ]; then echo "migrating"; echo "canary broke: boom" >&2; exit 3; fi`],
        env: { canary: 1, concurrency: 5, max_failures: 5 },
      }),
    );
    await h.chat.say('alice', 'deploy canaryapp/main');
    await h.deployer.idle();
    const [d] = await h.store.deploys.recent({});
    expect(d?.state).toBe('failed');
    expect(d?.sha).toBe(sha);
    expect(d?.error).toMatch(/canary .* failed/);
    expect(d?.hosts.map((x) => [x.host, x.state])).toEqual([
      [canary.entry, 'failed'],
      [sshd.hosts[1]!.entry, 'skipped'],
      [sshd.hosts[2]!.entry, 'skipped'],
    ]);
    expect(existsSync(join(canary.root, 'canary', 'releases', d!.releaseId))).toBe(true);
    expect(existsSync(join(canary.root, 'canary', 'current'))).toBe(false);
    for (const other of sshd.hosts.slice(1)) expect(existsSync(join(other.root, 'canary'))).toBe(false);
    const chat = h.texts().join('\n');
    expect(chat).toContain(`✗ ${canary.entry}: step 2/2 failed (exit code 3)`);
    expect(chat).toContain('| canary broke: boom');
    expect(h.texts().at(-1)).toMatch(/❌ #\d+ .* failed .*@alice/);
  });

  it('GIVEN a middle host failing with max_failures 0 THEN the deploy fails, switched hosts roll back, the rest is untouched', async () => {
    repo = makeRepo();
    const good = repo.commit('good');
    const [h1, h2, h3] = sshd.hosts as [Sshd['hosts'][0], Sshd['hosts'][0], Sshd['hosts'][0]];
    h = await deployHarness(
      sshApp({
        name: 'mid',
        repoUrl: repo.bare,
        deployTo: `${sshd.deployTo}/mid`,
        key: sshd.clientKey,
        hosts: entries(),
        steps: [
          CLONE,
          'if grep -qx "$SHEPHERD_HOST" BREAK 2>/dev/null; then for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "build output $i"; done; echo "error: disk on fire" >&2; exit 1; fi',
        ],
        env: { concurrency: 1, max_failures: 0 },
        app: { keep_releases: 5 },
      }),
    );
    await h.chat.say('alice', 'deploy mid/main');
    await h.deployer.idle();
    const first = (await h.store.deploys.recent({}))[0]!;
    expect(first.state).toBe('succeeded');

    const bad = repo.commit('breaks the second host', { files: { BREAK: `${h2.entry}\n` } });
    await h.chat.say('alice', 'deploy mid/main');
    await h.deployer.idle();
    const second = (await h.store.deploys.recent({}))[0]!;
    expect(second.sha).toBe(bad);
    expect(second.state).toBe('failed');
    expect(second.hosts.map((x) => x.state)).toEqual(['rolled_back', 'failed', 'skipped']);
    // Every host serves the first release again; the third never saw the second.
    for (const host of [h1, h2, h3]) {
      expect(readlinkSync(join(host.root, 'mid', 'current'))).toBe(`releases/${first.releaseId}`);
      expect(readFileSync(join(host.root, 'mid', 'current', 'VERSION'), 'utf8')).toMatch(/^good/);
    }
    expect(readdirSync(join(h3.root, 'mid', 'releases'))).toEqual([first.releaseId]);
    expect(good).not.toBe(bad);

    const chat = h.texts().join('\n');
    expect(chat).toContain(`✗ ${h2.entry}: step 2/2 failed (exit code 1)`);
    // The failing host's last lines, not the whole log.
    expect(chat).toContain('| error: disk on fire');
    expect(chat).toContain('| build output 12');
    expect(chat).not.toContain('| build output 1\n');
    const lines = await h.store.deploys.lines(second.id);
    expect(lines.some((l) => l.host === h1.entry && l.text.includes('rolled back'))).toBe(true);
  });

  it('GIVEN a host whose port is closed THEN that host fails to connect and the deploy fails', async () => {
    repo = makeRepo();
    repo.commit('x');
    const closed = `127.0.0.1:${await freePort()}`;
    h = await deployHarness(
      sshApp({
        name: 'gone',
        repoUrl: repo.bare,
        deployTo: `${sshd.deployTo}/gone`,
        key: sshd.clientKey,
        hosts: [sshd.hosts[0]!.entry, closed],
        env: { concurrency: 2, max_failures: 0 },
        app: { connect_timeout: '3s' },
      }),
    );
    await h.chat.say('alice', 'deploy gone/main');
    await h.deployer.idle();
    const d = (await h.store.deploys.recent({}))[0]!;
    expect(d.state).toBe('failed');
    const unreachable = d.hosts.find((x) => x.host === closed);
    expect(unreachable?.state).toBe('failed');
    expect(unreachable?.error).toMatch(/cannot connect: .*ECONNREFUSED/);
    // The reachable host had switched, so it went back (to nothing: this was the first deploy).
    expect(d.hosts.find((x) => x.host === sshd.hosts[0]!.entry)?.state).toBe('rolled_back');
    expect(existsSync(join(sshd.hosts[0]!.root, 'gone', 'current'))).toBe(false);
  });

  it('GIVEN a step that hangs THEN it is killed at step_timeout and the host fails', async () => {
    repo = makeRepo();
    repo.commit('x');
    h = await deployHarness(
      sshApp({
        name: 'hang',
        repoUrl: repo.bare,
        deployTo: `${sshd.deployTo}/hang`,
        key: sshd.clientKey,
        hosts: [sshd.hosts[0]!.entry],
        steps: ['echo "about to hang"; sleep 300 & echo $! > sleep.pid; wait'],
        app: { step_timeout: '2s' },
      }),
    );
    await h.chat.say('alice', 'deploy hang/main');
    await h.deployer.idle();
    const d = (await h.store.deploys.recent({}))[0]!;
    expect(d.state).toBe('failed');
    expect(d.hosts[0]?.error).toMatch(/step 1\/1 timed out after 2s/);
    const pid = Number(readFileSync(join(sshd.hosts[0]!.root, 'hang', 'releases', d.releaseId, 'sleep.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(1);
    // The whole process group went, not only the shell: the background sleep is gone too.
    await waitUntil('the sleep to be killed', () => !alive(pid), 10_000);
    const lines = await h.store.deploys.lines(d.id);
    expect(lines.some((l) => l.text === 'about to hang')).toBe(true);
  });

  it('GIVEN `cancel <id>` while a step runs THEN the step is killed, no new host starts, the deploy ends cancelled', async () => {
    repo = makeRepo();
    repo.commit('x');
    const [h1, h2] = sshd.hosts as [Sshd['hosts'][0], Sshd['hosts'][0]];
    h = await deployHarness(
      sshApp({
        name: 'slow',
        repoUrl: repo.bare,
        deployTo: `${sshd.deployTo}/slow`,
        key: sshd.clientKey,
        hosts: [h1.entry, h2.entry],
        steps: ['echo $$ > step.pid; echo working; exec sleep 300'],
        env: { concurrency: 1 },
      }),
    );
    await h.chat.say('alice', 'deploy slow/main');
    const d = (await h.store.deploys.recent({}))[0]!;
    const pidFile = join(h1.root, 'slow', 'releases', d.releaseId, 'step.pid');
    const pid = await waitUntil('the step to start', () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')), 30_000);
    expect(alive(pid)).toBe(true);

    expect(await h.chat.say('bob', `cancel ${d.id}`)).toMatch(/only alice .* or a release manager can cancel/);
    expect(await h.chat.say('alice', `cancel #${d.id}`)).toMatch(/stopping #\d+/);
    await h.deployer.idle();
    const after = (await h.store.deploys.get(d.id))!;
    expect(after.state).toBe('cancelled');
    expect(after.error).toBe('cancelled by alice');
    expect(after.hosts.map((x) => [x.state, x.error])).toEqual([
      ['cancelled', 'cancelled during step 1/1'],
      ['cancelled', null],
    ]);
    await waitUntil('the remote step to be killed', () => !alive(pid), 10_000);
    expect(existsSync(join(h2.root, 'slow'))).toBe(false);
    expect(existsSync(join(h1.root, 'slow', 'current'))).toBe(false);
    expect(h.texts().at(-1)).toMatch(/🛑 #\d+ .* cancelled in .*: cancelled by alice/);
    expect(await h.store.locks.list()).toEqual([]);
  });
});
