/**
 * `push ship` to an environment with `require_green_ci`, against the local GitHub and a real git remote.
 * GIVEN the pushed head's checks pending THEN ship says "waiting for CI on <sha> (3 checks pending)" in the room,
 * and deploys once they pass; GIVEN a check that fails THEN the branch stays pushed, nothing is deployed and the
 * reply names the failing check; GIVEN CI that never finishes THEN the wait ends at its bound and says so.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGitHub } from '../../src/github.js';
import { waitForGreenCi } from '../../src/push/ci-wait.js';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { createGitRemote, type GitRemote } from '../support/git-repos.js';
import { type PushBot, pushBot } from './helpers.js';

describe('push ship waits for CI on the push branch head', () => {
  let gh: FakeGitHub;
  let git: GitRemote;
  let t: PushBot;
  /** What the test does to the head's checks once the branch is pushed (the hook in the seam). */
  let onPush: (sha: string) => void = () => {};
  const heads: string[] = [];

  beforeAll(async () => {
    git = createGitRemote();
    gh = await startFakeGitHub();
    await gh.repo('acme/web').importGit(git.remote);
    const client = createGitHub({ token: gh.token, baseUrl: gh.url, retries: 0, timeoutMs: 5_000 });
    t = await pushBot({
      git,
      github: client,
      deployer: true,
      production: '{ hosts: [localhost], allowed_roles: [release_manager], require_green_ci: true }',
      ciWait: { timeoutMs: 60_000, pollMs: 20 },
      hooks: {
        afterPush: async (sha) => {
          // GitHub learns of the pushed commit as it would from the push itself.
          await gh.repo('acme/web').importGit(git.remote);
          heads.push(sha);
          onPush(sha);
        },
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await gh?.close();
    git?.close();
  });

  const startPush = async (n: number) => {
    git.commit({ [`f${n}.txt`]: `${n}\n` }, `change ${n}`, 'alice');
    expect(await t.chat.say('rm', 'push start')).toMatch(new RegExp(`push ${n} \\(.*\\) started`));
  };
  const sentSince = (i: number) =>
    t.chat.sent
      .slice(i)
      .map((s) => s.text)
      .join('\n');

  it('pending checks: says what it waits for, then deploys once they are green', async () => {
    await startPush(1);
    onPush = (sha) => {
      for (const name of ['build', 'lint', 'test']) gh.repo('acme/web').checkRun(sha, { name, status: 'in_progress', conclusion: null });
    };
    const before = t.chat.sent.length;
    const shipping = t.chat.say('rm', 'push ship to production');
    await vi.waitFor(() => expect(sentSince(before)).toMatch(/⏳ waiting for CI on [0-9a-f]{7} \(3 checks pending\)/), { timeout: 60_000 });
    const head = heads.at(-1)!;
    expect(sentSince(before)).toContain(`waiting for CI on ${head.slice(0, 7)} (3 checks pending)`);
    expect(await t.store.db.deploy.count()).toBe(0);
    for (const name of ['build', 'lint', 'test']) gh.repo('acme/web').checkRun(head, { name, status: 'completed', conclusion: 'success' });
    const reply = await shipping;
    expect(reply).toMatch(/🚀 deploying push\/\S+ to production: deploy #\d+/);
    const deploy = await t.store.db.deploy.findFirstOrThrow({ orderBy: { id: 'desc' } });
    expect(deploy.sha).toBe(head);
    await vi.waitFor(async () => expect((await t.store.db.deploy.findUniqueOrThrow({ where: { id: deploy.id } })).state).toBe('succeeded'), {
      timeout: 60_000,
    });
  });

  it('a failing check: the branch stays pushed, nothing deploys, the reply names the check', async () => {
    await startPush(2);
    onPush = (sha) => {
      gh.repo('acme/web').checkRun(sha, { name: 'build', status: 'completed', conclusion: 'success' });
      gh.repo('acme/web').checkRun(sha, { name: 'test', status: 'in_progress', conclusion: null });
    };
    const deploysBefore = await t.store.db.deploy.count();
    const before = t.chat.sent.length;
    const shipping = t.chat.say('rm', 'push ship to production');
    await vi.waitFor(() => expect(sentSince(before)).toMatch(/waiting for CI on [0-9a-f]{7} \(1 check pending\)/), { timeout: 60_000 });
    const head = heads.at(-1)!;
    gh.repo('acme/web').checkRun(head, { name: 'test', status: 'completed', conclusion: 'timed_out' });
    const reply = await shipping;
    expect(reply).toContain(`the branch is pushed but the deploy did not start: CI failed on ${head.slice(0, 7)}: test: timed_out — fix it on the push branch`);
    expect(await t.store.db.deploy.count()).toBe(deploysBefore);
    expect(await t.store.db.lock.count()).toBe(0);
    expect(git.git(['ls-remote', '--heads', git.remote])).toContain(head);
  });

  it('CI that never finishes: the wait ends at its bound and names the checks still pending', async () => {
    const sha = gh.repo('acme/web').commit({ branch: 'stuck', message: 'stuck', author: 'alice' });
    gh.repo('acme/web').checkRun(sha, { name: 'e2e', status: 'queued', conclusion: null });
    const said: string[] = [];
    const client = createGitHub({ token: gh.token, baseUrl: gh.url, retries: 0, timeoutMs: 5_000 });
    const r = await waitForGreenCi({
      github: client,
      repo: 'acme/web',
      sha,
      say: async (text) => void said.push(text),
      options: { timeoutMs: 200, pollMs: 20 },
    });
    expect(r).toEqual({ ok: false, reason: `CI on ${sha.slice(0, 7)} did not finish within 200 ms (1 check pending: e2e)` });
    expect(said).toEqual([`⏳ waiting for CI on ${sha.slice(0, 7)} (1 check pending)`]);
  });
});
