/**
 * Picks and lookups against the local GitHub (GitHub's response shapes) over a real git remote.
 * GIVEN a PR by someone other than the requester THEN the author, their karma and their confirmation are the
 * PR author's, linked to chat or not (and linking later takes the pick over); GIVEN a bare SHA of a squash
 * merge THEN it is mapped to its PR; GIVEN GitHub failing (500, a hang past the deadline, an exhausted rate
 * limit, 401, cut-off JSON, a 502 HTML page) under `cp`, `status <sha>`, `status #PR` and `deploy` THEN one
 * line names GitHub and the status, and nothing is half-written: no pick, no lock, no deploy left queued or running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHub } from '../../src/github.js';
import { type FakeGitHub, type FaultInput, startFakeGitHub } from '../support/fake-github.js';
import { createGitRemote, type GitRemote } from '../support/git-repos.js';
import { type PushBot, pushBot } from './helpers.js';

describe('GitHub-driven picks and GitHub faults', () => {
  let gh: FakeGitHub;
  let git: GitRemote;
  let t: PushBot;
  const sha: Record<string, string> = {};

  beforeAll(async () => {
    git = createGitRemote();
    const p14 = git.mergePr(14, 'dave-fix', { 'dave.txt': 'fix\n' }, 'Fix the login redirect', 'dave');
    const p16 = git.mergePr(16, 'bob-fix', { 'bob.txt': 'fix\n' }, 'Tune the cache', 'bob');
    const p17 = git.mergePr(17, 'erin-fix', { 'erin.txt': 'fix\n' }, 'Faulty lookups', 'erin');
    // A squash merge: one plain commit on main is the PR's merge commit.
    sha.squash = git.commit({ 'squash.txt': 'a\nb\n' }, 'Squash the flags (#15)', 'erin');
    Object.assign(sha, { p14: p14.merge, p16: p16.merge, p17: p17.merge });
    gh = await startFakeGitHub();
    const repo = await gh.repo('acme/web').importGit(git.remote);
    const pr = { merged: true, additions: 30, deletions: 2, changedFiles: 2, comments: 3, reviewComments: 4 };
    repo.pull({ ...pr, number: 14, title: 'Fix the login redirect', author: 'dave-gh', head: p14.head, mergeCommitSha: p14.merge });
    repo.pull({ ...pr, number: 16, title: 'Tune the cache', author: 'bob-gh', head: p16.head, mergeCommitSha: p16.merge });
    repo.pull({ ...pr, number: 17, title: 'Faulty lookups', author: 'erin-gh', head: p17.head, mergeCommitSha: p17.merge });
    repo.pull({
      ...pr,
      number: 15,
      title: 'Squash the flags',
      author: 'erin-gh',
      head: sha.squash,
      mergeCommitSha: sha.squash,
      comments: 7,
      reviewComments: 0,
    });
    // A short deadline (5 s: still room for a loaded machine) and fast retries, so a hang and retried 5xx answers end quickly.
    const client = createGitHub({ token: gh.token, baseUrl: gh.url, retries: 3, retryBaseMs: 20, timeoutMs: 5_000 });
    t = await pushBot({ git, github: client, deployer: true });
    expect(await t.chat.say('bob', 'iam github bob-gh')).toMatch(/you are bob-gh on GitHub/);
  });
  afterAll(async () => {
    await t?.close();
    await gh?.close();
    git?.close();
  });

  describe('the author is the PR author, not the requester', () => {
    it('unlinked: shows dave-gh with their own stars and says the pick waits for `iam github dave-gh`', async () => {
      const reply = await t.chat.say('alice', 'cp #14');
      expect(reply).toMatch(/#14 "Fix the login redirect" \([0-9a-f]{7}\) by dave-gh ★★★★☆ \(4\/5\), asked by alice\n/);
      expect(reply).toContain('⚠️ dave-gh has not linked chat — the pick waits for them to say `iam github dave-gh` and then confirm with `here`');
      const pick = await t.store.db.cherryPick.findFirstOrThrow({ where: { prNumber: 14 }, include: { author: { include: { identities: true } } } });
      expect(pick.author).toMatchObject({ githubLogin: 'dave-gh', identities: [] });
      expect(pick.requesterId).not.toBe(pick.authorId);
      // Karma is dave-gh's: a release manager's unlike lands on them, and the pick shows it.
      expect(await t.chat.say('rm', 'unlike dave-gh flaky deploys')).toMatch(/3\/5/);
      expect(await t.chat.say('rm', 'picks')).toMatch(/#14 .* by dave-gh ★★★☆☆ \(3\/5\)/);
      expect(await t.store.karma.stars((await t.store.users.resolve('alice'))!.id)).toBe(4);
    });

    it('linking later takes the pick and the karma over; the confirmation is then asked of the chat user', async () => {
      expect(await t.chat.say('dave', 'iam github dave-gh')).toMatch(/you are dave-gh on GitHub/);
      const dave = (await t.store.users.resolve('dave'))!;
      const pick = await t.store.db.cherryPick.findFirstOrThrow({ where: { prNumber: 14 } });
      expect(pick.authorId).toBe(dave.id);
      expect(await t.store.karma.stars(dave.id)).toBe(3);
      expect(await t.chat.say('rm', 'picks')).toMatch(/#14 .* by dave \(dave-gh\) ★★★☆☆ \(3\/5\)/);
    });

    it('linked: names the chat user with the stars next to them and mentions them to confirm', async () => {
      const reply = await t.chat.say('carol', 'cp #16');
      expect(reply).toMatch(/#16 "Tune the cache" \([0-9a-f]{7}\) by bob \(bob-gh\) ★★★★☆ \(4\/5\), asked by carol\n/);
      expect(reply).toContain('@bob: carol asked for your change — you confirm it (`here`) when the push starts');
      const bob = (await t.store.users.resolve('bob'))!;
      expect((await t.store.db.cherryPick.findFirstOrThrow({ where: { prNumber: 16 } })).authorId).toBe(bob.id);
    });
  });

  it('maps a bare SHA (a squash merge) to its PR: size, discussion and author from the PR', async () => {
    const reply = await t.chat.say('alice', `cp ${sha.squash}`);
    expect(reply).toMatch(/#15 "Squash the flags" \([0-9a-f]{7}\) by erin-gh/);
    expect(reply).toContain('+30 −2 in 2 files · 7 comments (7 + 0 review)');
    expect(reply).not.toContain('discussion unknown');
    expect(gh.requestsTo('GET', new RegExp(`/commits/${sha.squash}/pulls$`))).toHaveLength(1);
  });

  it('status #PR and status <sha>: the review state and CI check by check', async () => {
    const repo = gh.repo('acme/web');
    repo.review(16, 'carol-gh', 'APPROVED').review(16, 'frank-gh', 'COMMENTED');
    repo.checkRun(sha.p16!, { name: 'build', status: 'completed', conclusion: 'success' });
    repo.checkRun(sha.p16!, { name: 'lint', status: 'completed', conclusion: 'failure' });
    repo.status(sha.p16!, { context: 'ci/legacy', state: 'success' });
    const reply = await t.chat.say('alice', 'status #16');
    expect(reply).toMatch(/^📍 [0-9a-f]{7} .*\(PR #16/);
    expect(reply).toContain('  review (PR #16): approved\n');
    expect(reply).toContain('  CI: failure — build: success, lint: failure, ci/legacy: success\n');
    // A later block outweighs the approval; a comment-only review changes nothing.
    repo.review(16, 'erin-gh', 'CHANGES_REQUESTED');
    expect(await t.chat.say('alice', `status ${sha.p16}`)).toContain('  review (PR #16): changes requested\n');
    // A bare SHA of a squash merge finds its PR (commits/{sha}/pulls); nobody reviewed it yet, and it has no checks.
    const squash = await t.chat.say('alice', `status ${sha.squash}`);
    expect(squash).toContain('  review (PR #15): review required\n');
    expect(squash).toContain('  CI: none (no checks on this commit)\n');
  });

  const reset = () => Math.floor(Date.now() / 1000) + 3600;
  const faults: [string, () => Omit<FaultInput, 'path'>, RegExp][] = [
    ['500', () => ({ kind: 'status', status: 500, count: 10 }), /GitHub (said|kept answering) 500/],
    ['a hang past the deadline', () => ({ kind: 'hang', count: 10 }), /GitHub did not answer within 5 s/],
    [
      '403 rate-limited',
      () => ({
        kind: 'status',
        status: 403,
        message: 'API rate limit exceeded for user ID 1000.',
        headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset()) },
        count: 10,
      }),
      /GitHub rate limit exhausted \(it resets at \d\d:\d\d UTC\); try again then \(403/,
    ],
    ['401', () => ({ kind: 'status', status: 401, message: 'Bad credentials', count: 10 }), /GitHub said 401 Bad credentials .*GITHUB_TOKEN/],
    ['malformed JSON', () => ({ kind: 'malformed', count: 10 }), /GitHub sent text that is not JSON instead of an answer/],
    ['a 502 HTML page', () => ({ kind: 'html', status: 502, count: 10 }), /GitHub (said|kept answering) 502/],
  ];
  const commands: [string, string, RegExp][] = [
    ['cp', 'cp #17', /\/pulls\/17$/],
    ['status <sha>', 'status {sha}', /\/(check-runs|status)$/],
    ['status #PR', 'status #17', /\/pulls\/17$/],
    ['deploy', 'deploy web/main to staging', /\/commits\/main$/],
  ];

  describe.each(commands)('%s', (_name, text, path) => {
    it.each(faults)('%s → one line naming GitHub and the status, nothing half-written', async (_fault, fault, expected) => {
      const picksBefore = await t.store.db.cherryPick.count();
      gh.fault({ ...fault(), path });
      const reply = await t.chat.say('alice', text.replace('{sha}', sha.p17!));
      gh.recover();
      const line = reply.split('\n').find((l) => /GitHub/.test(l));
      expect(line, reply).toMatch(expected);
      expect(reply).not.toMatch(/<html|Unicorn|Cannot read|Cannot use 'in'|"title": "Fix log/);
      expect(await t.store.db.cherryPick.count()).toBe(picksBefore);
      expect(await t.store.db.lock.count()).toBe(0);
      expect(await t.store.db.deploy.count({ where: { state: { in: ['queued', 'running'] } } })).toBe(0);
    });
  });
});
