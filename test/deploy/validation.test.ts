/**
 * The validation window (`validate:`) over real sshd hosts (127.0.0.2..4): a check that starts failing on one
 * host after the switch rolls every host back and fails the deploy with the reason; a passing window succeeds
 * (and counts for promotion); `cancel` during validation keeps the new release; a `rollback` during validation
 * takes precedence. The check runs on each host through ssh, so each host's own files decide it (every sshd has
 * its own root bind-mounted at deploy_to). Windows are long where the test injects something, so nothing
 * depends on how fast this machine is.
 */
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { waitUntil } from '../support/wait.js';
import { createGitHub } from '../../src/github.js';
import { computeDora } from '../../src/web/dora.js';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { type DeployHarness, deployHarness, makeRepo, sshApp, type TestRepo } from './harness.js';

const CLONE = 'git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"';

describe.skipIf(skipWithoutSshd())('validation window over real sshd', () => {
  let sshd: Sshd;
  let repo: TestRepo;
  let h: DeployHarness | undefined;
  const entries = () => sshd.hosts.map((x) => x.entry);

  // Real sshds, git clones and a window per test on a shared two-core machine: generous bounds, nothing timed.
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

  /** An app whose check fails on a host once `<deploy_to>/<dir>/broken` exists there. */
  async function start(dir: string, validate: Record<string, unknown>, env: Record<string, unknown> = {}, github?: FakeGitHub) {
    repo = makeRepo();
    for (const host of sshd.hosts) mkdirSync(join(host.root, dir), { recursive: true });
    h = await deployHarness(
      sshApp({
        name: 'web',
        repoUrl: repo.bare,
        deployTo: `${sshd.deployTo}/${dir}`,
        key: sshd.clientKey,
        hosts: entries(),
        steps: [CLONE],
        env: {
          concurrency: 3,
          // Unless the test checks by URL: the check fails on a host once <deploy_to>/<dir>/broken is there.
          validate: validate.url ? validate : { check: `test ! -e ${sshd.deployTo}/${dir}/broken || { echo "health: 502" >&2; exit 1; }`, ...validate },
          ...env,
        },
        app: { keep_releases: 5, ...(github ? { repo: 'acme/web' } : {}) },
      }),
      github ? { github: createGitHub({ token: github.token, baseUrl: github.url, writeSpacingMs: 0, retries: 0 }), secrets: [github.token] } : {},
    );
    return h;
  }

  /** Resolves when deploy `id` enters validating (every host switched). */
  function validating(harness: DeployHarness, id: number): Promise<void> {
    const seen = () => harness.seen.some((e) => e.type === 'state' && e.deployId === id && e.state === 'validating');
    return waitUntil(`#${id} to validate`, seen, 180_000).then(() => {});
  }

  const current = (dir: string) => sshd.hosts.map((x) => readlinkSync(join(x.root, dir, 'current')));

  /** Deploys, waits for the validation of that deploy to start, and cancels it: a first release, kept. */
  async function firstRelease(harness: DeployHarness) {
    repo.commit('first');
    await harness.chat.say('alice', 'deploy web/main');
    await validating(harness, 1);
    await harness.chat.say('alice', 'cancel 1');
    await harness.deployer.idle();
    const d = await harness.store.deploys.get(1);
    expect(d).toMatchObject({ state: 'succeeded', validation: 'cancelled' });
    return d!;
  }

  it('GIVEN a check that starts failing on one host after the switch THEN every host goes back, the deploy fails with the reason and the thread shows the rounds', async () => {
    const harness = await start('fails', { for: '10m', every: '200ms', max_failures: 1 });
    const first = await firstRelease(harness);
    repo.commit('second');
    await harness.chat.say('alice', 'deploy web/main');
    await validating(harness, 2);
    const second = (await harness.store.deploys.get(2))!;
    expect(current('fails')).toEqual(sshd.hosts.map(() => `releases/${second.releaseId}`));
    // After a round where every host passed, the third host's health check starts failing.
    await waitUntil('a passing round', () => harness.seen.some((e) => e.type === 'validation' && e.deployId === 2 && e.failing.length === 0), 120_000);
    const bad = sshd.hosts[2]!;
    writeFileSync(join(bad.root, 'fails', 'broken'), '');
    await harness.deployer.idle();

    const d = (await harness.store.deploys.get(2))!;
    expect(d.state).toBe('failed');
    expect(d.validation).toBe('failed');
    expect(d.error).toMatch(new RegExp(`^rolled back: validation failed on ${bad.entry.replace(/\./g, '\\.')} \\(exit code 1: health: 502\\)$`));
    expect(d.hosts.map((x) => x.state)).toEqual(['rolled_back', 'rolled_back', 'rolled_back']);
    expect(current('fails')).toEqual(sshd.hosts.map(() => `releases/${first.releaseId}`));
    for (const host of sshd.hosts) expect(readFileSync(join(host.root, 'fails', 'current', 'VERSION'), 'utf8')).toMatch(/^first/);

    const chat = harness.texts().join('\n');
    expect(chat).toMatch(/🔎 #2 validating on 3 hosts for 10m \(every 200ms/);
    expect(chat).toMatch(/validation round \d+\/\d+: 3\/3 hosts ok/);
    expect(chat).toContain(`✗ ${bad.entry} exit code 1: health: 502 (failure 1, at most 1 allowed)`);
    expect(chat).toContain(`✗ ${bad.entry} exit code 1: health: 502 (failure 2, at most 1 allowed)`);
    expect(harness.texts().at(-1)).toMatch(
      /❌ #2 web\/main \([0-9a-f]{7}\) → staging failed in .*: rolled back: validation failed on .*\(exit code 1: health: 502\) — @alice/,
    );
    // lock_after_rollback (default on) holds for the automatic rollback too, and the stored log has every round.
    expect(await harness.store.locks.list()).toMatchObject([
      { app: 'web', environment: 'staging', deployId: null, reason: 'rolled back automatically (validation failed): unlock when fixed' },
    ]);
    expect(chat).toContain('🔒 web/staging stays locked: rolled back automatically (validation failed): unlock when fixed');
    const lines = (await harness.store.deploys.lines(2)).map((l) => l.text);
    expect(lines.some((l) => /^validation round 1\/\d+: 3\/3 host\(s\) ok$/.test(l))).toBe(true);

    // DORA: the failure counts, restored by the automatic rollback (from going live to the deploy's end).
    const facts = await harness.store.db.deploy.findMany();
    const dora = computeDora(facts, { now: new Date(Date.now() + 1000) }).groups[0]!;
    expect(dora.changeFailure).toMatchObject({ failed: 1, total: 2 });
    expect(dora.timeToRestore.count).toBe(1);
    expect(dora.timeToRestore.medianMs).toBe(d.finishedAt!.getTime() - d.validationStartedAt!.getTime());
    expect(dora.timeToRestore.openSince).toBeNull();
  }, 300_000);

  it('GIVEN a window whose checks pass THEN the deploy succeeds after it and counts as passed there (promotion)', async () => {
    const harness = await start('passes', { for: '600ms', every: '200ms' });
    const sha = repo.commit('first');
    await harness.chat.say('alice', 'deploy web/main');
    await harness.deployer.idle();
    const d = (await harness.store.deploys.get(1))!;
    expect(d).toMatchObject({ state: 'succeeded', validation: 'passed', error: null });
    expect(d.validationStartedAt).not.toBeNull();
    // Every round ran: floor(600 / 200) + 1.
    const rounds = (await harness.store.deploys.lines(1)).map((l) => l.text).filter((l) => /^validation round \d+\/4: 3\/3 host\(s\) ok$/.test(l));
    expect(rounds).toHaveLength(4);
    expect(current('passes')).toEqual(sshd.hosts.map(() => `releases/${d.releaseId}`));
    expect(harness.texts().join('\n')).toContain('✅ #1 validation passed: 4 rounds on 3 hosts');
    expect(harness.texts().at(-1)).toMatch(/✅ #1 web\/main .* succeeded in .*, validated — @alice/);
    expect(await harness.store.promotion.passed('web', 'staging', sha)).toMatchObject({ id: 1 });
    // The states went through validating, in the one lifecycle.
    const states = harness.seen.filter((e) => e.type === 'state' && e.deployId === 1).map((e) => (e as { state: string }).state);
    expect(states).toEqual(['running', 'validating', 'succeeded']);
  }, 300_000);

  it('GIVEN cancel during validation THEN the checks stop, the new release stays, the deploy succeeds but does not count as validated', async () => {
    const harness = await start('cancel', { for: '10m', every: '200ms' });
    const sha = repo.commit('first');
    await harness.chat.say('alice', 'deploy web/main');
    await validating(harness, 1);
    await harness.chat.say('alice', 'cancel 1');
    await harness.deployer.idle();
    const d = (await harness.store.deploys.get(1))!;
    expect(d).toMatchObject({ state: 'succeeded', validation: 'cancelled' });
    expect(d.hosts.map((x) => x.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(current('cancel')).toEqual(sshd.hosts.map(() => `releases/${d.releaseId}`));
    const chat = harness.texts().join('\n');
    expect(chat).toContain('🛑 stopping the validation of #1: the new release stays on every host');
    expect(chat).toMatch(/🛑 #1 validation cancelled by @?alice after \d+ rounds?: release \S+ stays on 3 hosts \(not counted as validated\)/);
    expect(harness.texts().at(-1)).toMatch(/✅ #1 .* succeeded in .*, validation cancelled \(release kept, not counted as validated\)/);
    expect(await harness.store.promotion.passed('web', 'staging', sha)).toBeNull();
  }, 300_000);

  it('GIVEN a rollback asked during validation THEN it takes precedence: the validation stops and the rollback switches every host back', async () => {
    const harness = await start('precedence', { for: '10m', every: '200ms' });
    const first = await firstRelease(harness);
    repo.commit('second');
    await harness.chat.say('alice', 'deploy web/main');
    await validating(harness, 2);
    await harness.chat.say('bob', 'rollback web');
    await harness.deployer.idle();
    const v = (await harness.store.deploys.get(2))!;
    expect(v).toMatchObject({ state: 'succeeded', validation: 'cancelled' });
    const r = (await harness.store.deploys.get(3))!;
    expect(r).toMatchObject({ kind: 'rollback', state: 'succeeded', releaseId: first.releaseId });
    expect(current('precedence')).toEqual(sshd.hosts.map(() => `releases/${first.releaseId}`));
    expect(harness.texts().join('\n')).toContain('⏪ rollback #3 by bob takes precedence: the validation of #2 stops and the rollback runs');
    // Not validated, and rolled back: promotion does not count #2's SHA.
    expect(await harness.store.promotion.passed('web', 'staging', v.sha)).toBeNull();
  }, 300_000);

  it('GIVEN a url check answering 502 on one host THEN the reason names the host and the HTTP status, and the GitHub deployment gets failure', async () => {
    const gh = await startFakeGitHub();
    const port = await freePort('127.0.0.2');
    const broken = new Set<string>();
    const servers: Server[] = [];
    for (const host of sshd.hosts) {
      const server = createServer((req, res) => {
        res.statusCode = broken.has(host.host) ? 502 : 200;
        res.end(req.url);
      });
      await new Promise<void>((resolve) => server.listen(port, host.host, resolve));
      servers.push(server);
    }
    const harness = await start('url', { for: '10m', every: '200ms', url: `http://{host}:${port}/health` }, {}, gh);
    try {
      const sha = repo.commit('first');
      await gh.repo('acme/web').importGit(repo.work);
      await harness.chat.say('alice', 'deploy web/main');
      await waitUntil('a passing round', () => harness.seen.some((e) => e.type === 'validation' && e.deployId === 1 && e.failing.length === 0), 120_000);
      broken.add(sshd.hosts[1]!.host);
      await harness.deployer.idle();
      const d = (await harness.store.deploys.get(1))!;
      expect(d.state).toBe('failed');
      expect(d.error).toBe(`rolled back: validation failed on ${sshd.hosts[1]!.entry} (HTTP 502)`);
      // There was no release before: `current` is removed on every host.
      expect(d.hosts.map((x) => x.state)).toEqual(['rolled_back', 'rolled_back', 'rolled_back']);
      // The existing GitHub sink: in_progress at the start, failure with the reason at the end.
      await harness.events.flushed();
      const deployment = gh.repo('acme/web').deployments.at(-1)!;
      expect(deployment.sha).toBe(sha);
      expect(deployment.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
      expect(deployment.statuses[1]?.description).toBe(d.error);
    } finally {
      for (const s of servers) await new Promise((resolve) => s.close(resolve));
      await gh.close();
    }
  }, 300_000);
});
