import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHub } from '../../src/github.js';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { type DeployHarness, deployHarness, makeRepo, sshApp, type TestRepo } from './harness.js';

describe.skipIf(skipWithoutSshd())('deploys with GitHub: refs, CI, compare, deployment statuses', () => {
  let sshd: Sshd;
  let repo: TestRepo;
  let gh: FakeGitHub;
  let h: DeployHarness;
  const sync = () => gh.repo('acme/web').importGit(repo.work, { 'alice@example.com': 'alice-gh' });

  beforeAll(async () => {
    sshd = await startSshd({ hosts: 1 });
    repo = makeRepo();
    gh = await startFakeGitHub();
    h = await deployHarness(
      sshApp({
        repoUrl: repo.bare,
        deployTo: sshd.deployTo,
        key: sshd.clientKey,
        hosts: [sshd.hosts[0]!.entry],
        steps: [
          'git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"',
          'if [ -f BROKEN ]; then echo "tests failed" >&2; exit 1; fi',
        ],
        env: { require_green_ci: true },
        app: { repo: 'acme/web' },
      }),
      { github: createGitHub({ token: gh.token, baseUrl: gh.url, writeSpacingMs: 0, retries: 0 }), secrets: [gh.token] },
    );
  });
  afterAll(async () => {
    await h?.close();
    await gh?.close();
    repo?.close();
    await sshd?.stop();
  });

  it('GIVEN a ref GitHub does not know THEN deploy refuses', async () => {
    repo.commit('first');
    await sync();
    expect(await h.chat.say('alice', 'deploy web/nope')).toMatch(/✋ web has no branch, tag or commit "nope"/);
  });

  it('GIVEN green CI THEN it deploys and GitHub gets a deployment with in_progress then success, linking the viewer', async () => {
    const sha = repo.commit('green one');
    await sync();
    gh.repo('acme/web').status(sha, { context: 'ci/build', state: 'success' });
    await h.chat.say('alice', 'deploy web/main');
    await h.deployer.idle();
    const [d] = await h.store.deploys.recent({});
    expect(d?.state).toBe('succeeded');
    expect(d?.sha).toBe(sha);
    const deployment = gh.repo('acme/web').deployments.at(-1)!;
    expect(deployment.sha).toBe(sha);
    expect(deployment.environment).toBe('staging');
    expect(deployment.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(deployment.statuses[1]?.logUrl).toBe(`http://viewer.test/deploys/${d!.id}`);
    expect(d?.githubDeploymentId).toBe(deployment.id);
    // The token never shows up anywhere.
    expect(h.texts().join('\n')).not.toContain(gh.token);
  });

  it('GIVEN red CI THEN deploy refuses and says how to force; --force deploys and says CI was skipped', async () => {
    const red = repo.commit('red one');
    await sync();
    gh.repo('acme/web').status(red, { context: 'ci/build', state: 'failure' });
    expect(await h.chat.say('alice', 'deploy web/main')).toMatch(
      /✋ CI for [0-9a-f]{7} is red and web\/staging requires green CI — wait for it, or `deploy web\/main to staging --force`/,
    );
    gh.repo('acme/web').checkRun(red, { name: 'lint', status: 'in_progress' });
    const pending = repo.commit('pending one');
    await sync();
    gh.repo('acme/web').checkRun(pending, { name: 'build', status: 'in_progress' });
    expect(await h.chat.say('alice', `deploy web/${pending}`)).toMatch(/is still running/);

    await h.chat.say('alice', `deploy web/${red} --force`);
    await h.deployer.idle();
    const [d] = await h.store.deploys.recent({});
    expect(d?.state).toBe('succeeded');
    expect(d?.sha).toBe(red);
    expect(d?.force).toBe(true);
    const start = h.texts().find((t) => t.startsWith(`🚀 #${d!.id}`));
    expect(start).toContain('CI is red: check skipped with --force by alice');
  });

  it('GIVEN new commits THEN the dry run and the start message list them (from GitHub compare) and a failure is reported to GitHub', async () => {
    const live = (await h.store.deploys.recent({}))[0]!.sha;
    repo.commit('add search');
    const head = repo.commit('fix search', { files: { BROKEN: 'yes' } });
    await sync();
    gh.repo('acme/web').status(head, { context: 'ci/build', state: 'success' });
    const dry = await h.chat.say('alice', 'deploy web/main --dry-run');
    expect(dry).toContain(`would ship since ${live.slice(0, 7)}:`);
    expect(dry).toMatch(/ {2}[0-9a-f]{7} add search \(alice-gh\)\n {2}[0-9a-f]{7} fix search \(alice-gh\)/);
    expect(gh.requestsTo('POST', /\/deployments$/)).toHaveLength(2);

    await h.chat.say('alice', 'deploy web/main');
    await h.deployer.idle();
    const [d] = await h.store.deploys.recent({});
    expect(d?.state).toBe('failed');
    const start = h.texts().find((t) => t.startsWith(`🚀 #${d!.id}`));
    expect(start).toContain(`shipping since ${live.slice(0, 7)}:`);
    expect(start).toMatch(/ {2}[0-9a-f]{7} pending one \(alice-gh\)\n {2}[0-9a-f]{7} add search \(alice-gh\)\n {2}[0-9a-f]{7} fix search \(alice-gh\)/);
    const deployment = gh.repo('acme/web').deployments.at(-1)!;
    expect(deployment.sha).toBe(head);
    expect(deployment.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
  });
});
