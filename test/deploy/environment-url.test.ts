/**
 * An environment's `url:` in a real deploy over sshd: in the chat start and final messages, and sent to
 * GitHub (fake server, GitHub's shapes) as the deployment status's environment_url.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDeploy } from '../../src/deploy/plan.js';
import { createGitHub } from '../../src/github.js';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { type DeployHarness, deployHarness, makeRepo, sshApp, type TestRepo } from './harness.js';

describe.skipIf(skipWithoutSshd())('environment URLs', () => {
  let sshd: Sshd;
  let repo: TestRepo;
  let gh: FakeGitHub;
  let h: DeployHarness;

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
        steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"'],
        env: { url: 'https://staging.example.com' },
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

  it('is on the plan, in the start and final messages, and GitHub gets it as environment_url', async () => {
    expect(planDeploy(h.config, 'web', 'staging').environmentUrl).toBe('https://staging.example.com');
    const sha = repo.commit('with a url');
    await gh.repo('acme/web').importGit(repo.work, {});
    await h.chat.say('alice', 'deploy web/main');
    await h.deployer.idle();
    const [d] = await h.store.deploys.recent({});
    expect(d?.state).toBe('succeeded');
    await expect.poll(() => h.texts().join('\n')).toMatch(/live at https:\/\/staging\.example\.com/);
    const texts = h.texts().join('\n');
    expect(texts).toMatch(new RegExp(`🚀 #${d!.id} deploying[^\\n]*\\nstaging: https://staging\\.example\\.com`));
    expect(texts).toMatch(new RegExp(`✅ #${d!.id} [^\\n]* succeeded in [^\\n]*, live at https://staging\\.example\\.com — `));
    const deployment = gh.repo('acme/web').deployments.at(-1)!;
    expect(deployment.sha).toBe(sha);
    expect(deployment.statuses.map((s) => [s.state, s.environmentUrl])).toEqual([
      ['in_progress', 'https://staging.example.com'],
      ['success', 'https://staging.example.com'],
    ]);
  });
});
