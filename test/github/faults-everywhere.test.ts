/**
 * GitHub failing on every GitHub-driven path, against the local GitHub (real response shapes), a real git
 * remote and the real deploy engine (local transport).
 * GIVEN 500, a hang past the deadline, 403 rate-limited (x-ratelimit-remaining: 0, x-ratelimit-reset), 401 or
 * cut-off JSON WHEN a PR deploy, a webhook-triggered automatic deploy or `push ship` (waiting for CI) meets it
 * THEN one line names GitHub, the status and what to do, and nothing is half-written: no deploy queued or running,
 * no lock held, no push left shipping. (`cp`, `status <sha>`, `status #PR` and `deploy`: test/push/github-faults.test.ts.)
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { AutoDeployer } from '../../src/deploy/auto-deploy.js';
import { createGitHub } from '../../src/github.js';
import { type PushBot, pushBot } from '../push/helpers.js';
import { type FakeGitHub, type FaultInput, startFakeGitHub } from '../support/fake-github.js';
import { createGitRemote, type GitRemote } from '../support/git-repos.js';

describe('GitHub faults on every path', () => {
  let gh: FakeGitHub;
  let git: GitRemote;
  let t: PushBot;
  let auto: AutoDeployer;
  const notes: string[] = [];

  beforeAll(async () => {
    git = createGitRemote();
    const p17 = git.mergePr(17, 'erin-fix', { 'erin.txt': 'fix\n' }, 'Faulty lookups', 'erin');
    gh = await startFakeGitHub();
    const repo = await gh.repo('acme/web').importGit(git.remote);
    repo.pull({ number: 17, title: 'Faulty lookups', author: 'erin-gh', head: p17.head, merged: true, mergeCommitSha: p17.merge });
    // A 5 s deadline per command, fast retries: a hang ends in 5 s, retried 5xx answers quickly. The deadline counts
    // only time spent waiting for GitHub (src/github-deadline.ts), which the local one answers in milliseconds even
    // on a loaded machine; test/push/github-faults.test.ts runs its commands on the same 5 s.
    const client = createGitHub({ token: gh.token, baseUrl: gh.url, retries: 2, retryBaseMs: 20, timeoutMs: 5_000 });
    t = await pushBot({
      git,
      github: client,
      deployer: true,
      production: '{ hosts: [localhost], allowed_roles: [release_manager], require_green_ci: true }',
      ciWait: { timeoutMs: 30_000, pollMs: 20 },
      // GitHub learns of the pushed push branch as it would from the push itself.
      hooks: { afterPush: async () => void (await gh.repo('acme/web').importGit(git.remote)) },
    });
    // The same bot's config with continuous delivery on: main → staging, notes in #web.
    const web = t.config.apps.web!;
    const config = {
      ...t.config,
      apps: {
        ...t.config.apps,
        web: {
          ...web,
          auto_deploy: { branch: 'main', to: 'staging', when: 'green' },
          environments: { ...web.environments, staging: { ...web.environments.staging!, channel: '#web' } },
        },
      },
    } as Config;
    auto = new AutoDeployer({
      config,
      store: t.store,
      deployer: t.deployer!,
      chat: { provider: 'irc', say: async (_target, text) => void notes.push(text) },
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await auto?.idle();
    await t?.close();
    await gh?.close();
    git?.close();
  });

  const reset = () => Math.floor(Date.now() / 1000) + 3600;
  const faults: [string, () => Omit<FaultInput, 'path'>, RegExp][] = [
    ['500', () => ({ kind: 'status', status: 500, count: 20 }), /GitHub (said|kept answering) 500 .*try again in a few minutes/],
    ['a hang past the deadline', () => ({ kind: 'hang', count: 20 }), /GitHub did not answer within 5 s .*try again in a minute/],
    [
      '403 rate-limited',
      () => ({
        kind: 'status',
        status: 403,
        message: 'API rate limit exceeded for user ID 1000.',
        headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset()) },
        count: 20,
      }),
      /GitHub rate limit exhausted \(it resets at \d\d:\d\d UTC\); try again then \(403/,
    ],
    ['401', () => ({ kind: 'status', status: 401, message: 'Bad credentials', count: 20 }), /GitHub said 401 Bad credentials .*GITHUB_TOKEN/],
    ['malformed JSON', () => ({ kind: 'malformed', count: 20 }), /GitHub sent text that is not JSON instead of an answer/],
  ];

  /** Nothing half-written: no deploy waiting or running, no lock, no push stuck shipping, no pick mid-ship. */
  const nothingHalfWritten = async () => {
    expect(await t.store.db.deploy.count({ where: { state: { in: ['queued', 'running', 'awaiting_approval'] } } })).toBe(0);
    expect(await t.store.db.lock.count()).toBe(0);
    expect(await t.store.db.push.count({ where: { state: 'shipping' } })).toBe(0);
    expect(await t.store.db.cherryPick.count({ where: { state: 'picked' } })).toBe(0);
  };
  const oneLine = (text: string, expected: RegExp) => {
    const line = text.split('\n').find((l) => /GitHub/.test(l));
    expect(line, text).toMatch(expected);
    expect(text).not.toMatch(/<html|Unicorn|Cannot read|Cannot use 'in'|"title": "Fix log/);
  };

  describe.each(faults)('%s', (_fault, fault, expected) => {
    it('PR deploy: refused in one line, nothing deployed', async () => {
      const before = await t.store.db.deploy.count();
      gh.fault({ ...fault(), path: /\/pulls\/17$/ });
      const reply = await t.chat.say('rm', 'deploy web/#17 to staging');
      gh.recover();
      oneLine(reply, expected);
      expect(await t.store.db.deploy.count()).toBe(before);
      await nothingHalfWritten();
    });

    it('webhook-triggered auto deploy: one line in the channel, nothing deployed', async () => {
      const before = await t.store.db.deploy.count();
      const head = git.sha('main');
      const told = notes.length;
      gh.fault({ ...fault(), path: /\/(check-runs|status)$/ });
      // What POST /github/webhook hands over for a signed check_suite completed/success on main.
      await auto.handle({
        name: 'check_suite',
        delivery: `d-${Math.random()}`,
        repository: 'acme/web',
        payload: { action: 'completed', check_suite: { conclusion: 'success', head_branch: 'main', head_sha: head } },
      });
      gh.recover();
      expect(notes.length - told).toBe(1);
      expect(notes.at(-1)).toMatch(/^⚠️ auto deploy of web\/main to staging not checked: /);
      oneLine(notes.at(-1)!, expected);
      expect(await t.store.db.deploy.count()).toBe(before);
      await nothingHalfWritten();
    });

    it('push ship waiting for CI: the branch is pushed, the deploy does not start, one line says why', async () => {
      const before = await t.store.db.deploy.count();
      git.commit({ [`f${Math.random()}.txt`]: 'x\n' }, 'another change', 'alice');
      expect(await t.chat.say('rm', 'push start')).toMatch(/started/);
      gh.fault({ ...fault(), path: /\/(check-runs|status)$/ });
      const reply = await t.chat.say('rm', 'push ship to production');
      gh.recover();
      const line = reply.split('\n').find((l) => /the deploy did not start/.test(l)) ?? reply;
      oneLine(line, expected);
      expect(await t.store.db.deploy.count()).toBe(before);
      expect((await t.store.db.push.findFirstOrThrow({ orderBy: { id: 'desc' } })).state).toBe('shipped');
      await nothingHalfWritten();
    });
  });
});
