/**
 * GitHub data for picks and `status`, from the local fake GitHub (GitHub's response shapes) over a real git
 * remote whose commits it mirrors.
 * GIVEN merged PRs with sizes and comments THEN the request shows lines, files, conversation + review comments,
 * the author (via their linked GitHub login) with stars, and "look closely" only when both size and
 * discussion exceed the thresholds; a missing PR and an unmerged PR are refused with a clear line; `status`
 * shows the CI state GitHub reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHub } from '../../src/github.js';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { createGitRemote, type GitRemote } from '../support/git-repos.js';
import { type PushBot, pushBot } from './helpers.js';

describe('cherry-pick risk and CI from GitHub', () => {
  let gh: FakeGitHub;
  let git: GitRemote;
  let t: PushBot;
  const merges: Record<number, string> = {};

  beforeAll(async () => {
    git = createGitRemote();
    const big = git.mergePr(7, 'big-change', { 'big.txt': 'x\n'.repeat(10) }, 'Rework the session store', 'alice');
    const small = git.mergePr(8, 'typo', { 'typo.txt': 'fixed\n' }, 'Fix a typo', 'bob');
    const chatty = git.mergePr(9, 'chatty', { 'chatty.txt': 'y\n' }, 'Rename a flag', 'bob');
    const open = git.commit({ 'wip.txt': 'wip\n' }, 'wip', 'carol', 'main');
    Object.assign(merges, { 7: big.merge, 8: small.merge, 9: chatty.merge });
    gh = await startFakeGitHub();
    const repo = await gh.repo('acme/web').importGit(git.remote);
    repo.pull({
      number: 7,
      title: 'Rework the session store',
      author: 'alice-gh',
      head: big.head,
      merged: true,
      mergeCommitSha: big.merge,
      additions: 420,
      deletions: 80,
      changedFiles: 12,
      comments: 9,
      reviewComments: 14,
    });
    repo.pull({
      number: 8,
      title: 'Fix a typo',
      author: 'bob',
      head: small.head,
      merged: true,
      mergeCommitSha: small.merge,
      additions: 1,
      deletions: 1,
      changedFiles: 1,
      comments: 0,
      reviewComments: 1,
    });
    // Much discussed but small: not flagged (both must be high).
    repo.pull({
      number: 9,
      title: 'Rename a flag',
      author: 'bob',
      head: chatty.head,
      merged: true,
      mergeCommitSha: chatty.merge,
      additions: 3,
      deletions: 3,
      changedFiles: 2,
      comments: 30,
      reviewComments: 12,
    });
    repo.pull({ number: 10, title: 'Work in progress', author: 'carol', head: open, merged: false });
    repo.status(big.merge, { context: 'ci/build', state: 'success' });
    repo.checkRun(small.merge, { name: 'tests', status: 'in_progress' });
    repo.checkRun(chatty.merge, { name: 'tests', conclusion: 'failure' });
    t = await pushBot({ git, github: createGitHub({ token: gh.token, baseUrl: gh.url, retries: 0 }) });
    // alice is "alice" in chat and alice-gh on GitHub.
    expect(await t.chat.say('alice', 'iam github alice-gh')).toMatch(/you are alice-gh on GitHub/);
  });
  afterAll(async () => {
    await t?.close();
    await gh?.close();
  });

  it('shows size, comments, review comments and the linked author with stars; flags big and much-discussed', async () => {
    const reply = await t.chat.say('bob', 'cherry-pick #7');
    expect(reply).toMatch(
      new RegExp(
        `pick \\d+ requested for push 1: #7 "Rework the session store" \\(${merges[7]!.slice(0, 7)}\\) by alice \\(alice-gh\\) ★★★★☆ \\(4/5\\), asked by bob`,
      ),
    );
    expect(reply).toContain('risk 70/100: 500 lines, 23 comments · +420 −80 in 12 files · 23 comments (9 + 14 review)');
    expect(reply).toContain('👀 look closely: 500 lines changed (> 50) and 23 comments (> 5)');
    const row = await t.store.db.cherryPick.findFirstOrThrow({ where: { prNumber: 7 } });
    expect(row).toMatchObject({
      sha: merges[7],
      additions: 420,
      deletions: 80,
      files: 12,
      comments: 9,
      reviewComments: 14,
      url: 'https://github.com/acme/web/pull/7',
    });
    expect(row.authorId).toBe((await t.store.users.resolveLogin('alice-gh'))!.id);
  });

  it('does not flag a small or a small-but-chatty PR', async () => {
    const small = await t.chat.say('bob', 'cp #8');
    expect(small).toContain('+1 −1 in 1 file · 1 comment (0 + 1 review)');
    expect(small).not.toContain('look closely');
    const chatty = await t.chat.say('bob', 'cp https://github.com/acme/web/pull/9');
    expect(chatty).toContain('42 comments (30 + 12 review)');
    expect(chatty).not.toContain('look closely');
    expect(await t.chat.say('rm', 'picks')).toMatch(/3 picks: 3 requested · 1 to look at closely/);
  });

  it('refuses a missing PR and an unmerged PR with one clear line', async () => {
    expect(await t.chat.say('bob', 'cp #99')).toBe('✋ acme/web has no pull request #99 — check the number');
    expect(await t.chat.say('carol', 'cp #10')).toBe('✋ PR #10 "Work in progress" is not merged (open) — merge it into main first, then ask again');
    expect(await t.store.db.cherryPick.count()).toBe(3);
  });

  it('status shows the CI state GitHub reports', async () => {
    expect(await t.chat.say('bob', 'status #7')).toMatch(/CI: success/);
    expect(await t.chat.say('bob', `status ${merges[8]!.slice(0, 8)}`)).toMatch(/CI: pending/);
    expect(await t.chat.say('bob', 'status #9')).toMatch(/CI: failure/);
    expect(await t.chat.say('bob', 'status #10')).toMatch(/PR #10 "Work in progress" is open and not merged/);
    expect(await t.chat.say('bob', 'status #404')).toMatch(/acme\/web has no pull request #404/);
  });
});
