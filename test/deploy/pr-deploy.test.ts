import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHub } from '../../src/github.js';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { type DeployHarness, deployHarness, makeRepo, sshApp, type TestRepo } from './harness.js';

describe.skipIf(skipWithoutSshd())('deploy <app>/#<PR>: pull request deploys through GitHub', () => {
  let sshd: Sshd;
  let repo: TestRepo;
  let gh: FakeGitHub;
  let h: DeployHarness;
  const sync = () => gh.repo('acme/web').importGit(repo.work);

  beforeAll(async () => {
    sshd = await startSshd({ hosts: 1 });
    repo = makeRepo();
    gh = await startFakeGitHub();
    const host = sshd.hosts[0]!.entry;
    h = await deployHarness(
      sshApp({
        repoUrl: repo.bare,
        deployTo: sshd.deployTo,
        key: sshd.clientKey,
        hosts: [host],
        app: {
          repo: 'acme/web',
          environments: {
            staging: { hosts: [host], outdated: 1 },
            // Only release managers: unmerged PRs are refused here by default (allow_prs unset).
            production: { hosts: [host], allowed_roles: ['release_manager'] },
          },
        },
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

  it('GIVEN an open PR THEN its head deploys to staging, the start message links the PR and the GitHub deployment carries its branch', async () => {
    repo.commit('base');
    const head = repo.commit('feature work', { branch: 'fix-login' });
    await sync();
    const number = gh.repo('acme/web').pull({ number: 22, title: 'Fix login', author: 'alice', head, headRef: 'fix-login', baseRef: 'main' });
    await h.chat.say('alice', `deploy web/#${number} to staging`);
    await h.deployer.idle();
    const [d] = await h.store.deploys.recent({});
    expect(d?.state).toBe('succeeded');
    expect(d?.sha).toBe(head);
    expect(d?.ref).toBe('#22');
    const start = h.texts().find((t) => t.startsWith(`🚀 #${d!.id}`));
    expect(start).toContain('pull request #22 (fix-login): https://github.com/acme/web/pull/22');
    await h.deployer.idle();
    await expect.poll(() => gh.repo('acme/web').deployments.length).toBe(1);
    const deployment = gh.repo('acme/web').deployments[0]!;
    expect(deployment.ref).toBe('fix-login');
    expect(deployment.sha).toBe(head);
    expect(deployment.payload).toMatchObject({ pull_request: 22, sha: head });
  });

  it('GIVEN an unmerged PR and production (release managers only) THEN it is refused, nothing deployed', async () => {
    const before = (await h.store.deploys.recent({})).length;
    const reply = await h.chat.say('boss', 'deploy web/#22 to production');
    expect(reply).toMatch(/✋ web\/production takes no unmerged pull requests \(allow_prs: false\) — merge #22 into main/);
    expect(await h.store.deploys.recent({})).toHaveLength(before);
  });

  it('GIVEN a merged PR THEN its merge commit deploys, also to production', async () => {
    repo.commit('back on main');
    const merge = repo.commit('Fix login (#22)');
    await sync();
    const web = gh.repo('acme/web');
    const pr = web.pulls.get(22)!;
    web.pulls.set(22, { ...pr, merged: true, state: 'closed', mergeCommitSha: merge });
    await h.chat.say('boss', 'deploy web/#22 to production');
    await h.deployer.idle();
    const [d] = await h.store.deploys.recent({});
    expect(d?.environment).toBe('production');
    expect(d?.state).toBe('succeeded');
    expect(d?.sha).toBe(merge);
    const start = h.texts().find((t) => t.startsWith(`🚀 #${d!.id}`));
    expect(start).toContain('pull request #22 (merged into main): https://github.com/acme/web/pull/22');
    await expect.poll(() => web.deployments.length).toBe(2);
    // A merged PR's branch no longer names what runs: the deployment is made by SHA, the PR in its payload.
    expect(web.deployments[1]).toMatchObject({ ref: merge, sha: merge, payload: { pull_request: 22 } });
  });

  it('GIVEN an open PR behind main by more than `outdated` THEN it is refused with "merge main first"', async () => {
    const old = repo.commit('old feature', { branch: 'old-feature' });
    repo.commit('main moves 1');
    repo.commit('main moves 2');
    await sync();
    gh.repo('acme/web').pull({ number: 30, title: 'Old feature', author: 'alice', head: old, headRef: 'old-feature', baseRef: 'main' });
    const before = (await h.store.deploys.recent({})).length;
    const reply = await h.chat.say('alice', 'deploy web/#30 to staging');
    expect(reply).toMatch(/✋ pull request #30 is 2 commit\(s\) behind main \(web\/staging allows 1\) — merge main first/);
    expect(await h.store.deploys.recent({})).toHaveLength(before);
  });

  it('GIVEN a PR number GitHub does not know THEN one clear line, nothing deployed, the bot still answers', async () => {
    const before = (await h.store.deploys.recent({})).length;
    expect(await h.chat.say('alice', 'deploy web/#999 to staging')).toBe('✋ acme/web has no pull request #999 — check the number');
    expect(await h.chat.say('alice', 'deploy web/#0x1 to staging')).toMatch(/✋ "#0x1" is not a branch, tag or SHA/);
    expect(await h.store.deploys.recent({})).toHaveLength(before);
    expect(await h.chat.say('alice', 'deploys')).toMatch(/#22/);
  });

  it('GIVEN GitHub failing (500, 401) THEN one line naming GitHub and the status, nothing deployed', async () => {
    const before = (await h.store.deploys.recent({})).length;
    gh.failNext(500, 'Server Error');
    expect(await h.chat.say('alice', 'deploy web/#30 to staging')).toMatch(/^✋ could not read pull request #30 of web: GitHub said 500 Server Error/);
    gh.failNext(401, 'Bad credentials');
    expect(await h.chat.say('alice', 'deploy web/#30 to staging')).toMatch(/^✋ could not read pull request #30 of web: GitHub said 401 Bad credentials/);
    expect(await h.store.deploys.recent({})).toHaveLength(before);
    expect(await h.store.locks.blocking('web', 'staging')).toBeNull();
  });
});
