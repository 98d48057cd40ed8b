/**
 * The pick risk score and auto-approve.
 * GIVEN picks with known lines, files, discussion, karma, tests and recent reverts THEN each scores as the
 * table says, with the one or two reasons that drive it; GIVEN a real repository whose files were reverted
 * and hot-fixed this month THEN that factor counts them (and not other files, or old ones); GIVEN
 * push.auto_approve.max_risk THEN picks at or below it are approved by the bot, saying why, picks above wait
 * for a release manager, `picks` lists the highest risk first, and a release manager can still reject.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedFiles, recentTrouble } from '../../src/push/history.js';
import { isTestPath, type ScoreInput, scoreRisk } from '../../src/push/risk.js';
import { boardFromPushService } from '../../src/web/push-board.js';
import { createGitRemote, type GitRemote } from '../support/git-repos.js';
import { type PushBot, pushBot } from './helpers.js';

const base: ScoreInput = { lines: 0, files: 1, discussion: null, stars: 5, testsChanged: true, recentTrouble: 0 };

describe('scoreRisk', () => {
  it.each([
    ['a one-line fix with tests by a 5-star author', {}, 0, []],
    ['840 lines, 31 comments', { lines: 840, files: 3, discussion: 31, stars: 4 }, 61, ['840 lines', '31 comments']],
    ['no tests', { lines: 40, testsChanged: false }, 12, ['no tests changed', '40 lines']],
    ['a 2-star author', { lines: 100, stars: 2 }, 20, ['author has 2 stars', '100 lines']],
    ['many files', { lines: 10, files: 30, stars: 4 }, 15, ['30 files', 'author has 4 stars']],
    ['reverted files', { lines: 60, recentTrouble: 2 }, 23, ['its files were reverted or hot-fixed 2× in 30 days', '60 lines']],
    [
      'everything at once is capped at 100',
      { lines: 5000, files: 80, discussion: 90, stars: 1, testsChanged: false, recentTrouble: 5 },
      100,
      ['5000 lines', '90 comments'],
    ],
    ['unknown discussion counts nothing', { lines: 20, discussion: null }, 1, ['20 lines']],
  ] as const)('%s', (_name, input, score, reasons) => {
    expect(scoreRisk({ ...base, ...input })).toEqual({ score, reasons: [...reasons] });
  });

  it('knows test files by the usual conventions', () => {
    for (const p of ['test/a.ts', 'src/__tests__/x.js', 'spec/models/user_spec.rb', 'pkg/x_test.go', 'src/login.test.ts', 'web/app.spec.js'])
      expect(isTestPath(p), p).toBe(true);
    for (const p of ['src/login.ts', 'contest/x.ts', 'latest.txt', 'README.md']) expect(isTestPath(p), p).toBe(false);
  });
});

describe('the revert and hotfix history of the touched files, from real git', () => {
  let g: GitRemote;
  beforeAll(() => {
    g = createGitRemote();
  });
  afterAll(() => g?.close());

  it('counts reverts and hotfixes of the same files in the last 30 days, not the pick itself or other files', () => {
    const bad = g.commit({ 'pay.txt': 'v2\n' }, 'Speed up payments', 'bob');
    g.git(['revert', '--no-edit', bad]);
    g.git(['push', '--quiet', 'origin', 'main']);
    g.commit({ 'pay.txt': 'v3\n' }, 'HOTFIX: payments rounding', 'carol');
    g.commit({ 'other.txt': 'x\n' }, 'Revert "something else"', 'carol');
    const { merge } = g.mergePr(31, 'pay-again', { 'pay.txt': 'v4\n', 'test/pay.test.txt': 'ok\n' }, 'Hotfix payments again', 'bob');
    return (async () => {
      const files = await changedFiles(g.work, merge);
      expect(files.sort()).toEqual(['pay.txt', 'test/pay.test.txt']);
      const now = new Date();
      // The revert and the hotfix touched pay.txt; the other revert did not; the PR's own "Hotfix" commits do not count.
      expect(await recentTrouble(g.work, 'refs/remotes/origin/main', files, { since: new Date(now.getTime() - 30 * 86_400_000), exclude: merge })).toBe(2);
      // Thirty days from now, they are history.
      expect(await recentTrouble(g.work, 'refs/remotes/origin/main', files, { since: new Date(now.getTime() + 86_400_000), exclude: merge })).toBe(0);
      expect(await recentTrouble(g.work, 'refs/remotes/origin/main', ['README.md'], { since: new Date(0), exclude: merge })).toBe(0);
    })();
  });
});

describe('auto-approve through the bot', () => {
  let t: PushBot;
  const shas: Record<string, string> = {};

  beforeAll(async () => {
    const git = createGitRemote();
    // bob has 4 stars (5 points). One line without tests: 5 + 10 = 15. With a test: 5. 60 lines in 3 files without tests: 3 + 1 + 5 + 10 = 19.
    shas.at = git.commit({ 'at.txt': 'one\n' }, 'One line, no test', 'bob');
    shas.below = git.commit({ 'below.txt': 'one\n', 'test/below.test.txt': 'ok\n' }, 'One line with a test', 'bob');
    shas.above = git.commit({ 'a.txt': 'x\n'.repeat(20), 'b.txt': 'y\n'.repeat(20), 'c.txt': 'z\n'.repeat(20) }, 'Sixty lines', 'bob');
    shas.reverted = git.commit({ 'r.txt': 'two\n' }, 'Change r.txt', 'bob');
    git.git(['revert', '--no-edit', shas.reverted]);
    git.git(['push', '--quiet', 'origin', 'main']);
    shas.afterRevert = git.commit({ 'r.txt': 'three\n' }, 'Change r.txt again', 'bob');
    t = await pushBot({ git, autoApprove: 15 });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('approves at and below max_risk, saying why; leaves picks above it to release managers', async () => {
    const at = await t.chat.say('alice', `cp ${shas.at}`);
    expect(at).toContain('risk 15/100: no tests changed, author has 4 stars');
    expect(at).toContain('👍 approved by the bot: risk 15/100 is at or below push.auto_approve.max_risk 15 — a release manager can still `reject');
    const below = await t.chat.say('alice', `cp ${shas.below}`);
    expect(below).toContain('risk 5/100: author has 4 stars');
    expect(below).toContain('approved by the bot: risk 5/100');
    const above = await t.chat.say('alice', `cp ${shas.above}`);
    expect(above).toContain('risk 19/100: no tests changed, author has 4 stars');
    expect(above).toContain('a release manager decides: `approve');
    // r.txt was reverted this month: +10.
    const reverted = await t.chat.say('alice', `cp ${shas.afterRevert}`);
    expect(reverted).toContain('risk 25/100: no tests changed, its files were reverted or hot-fixed 1× in 30 days');
    const states = await t.store.db.cherryPick.findMany({ orderBy: { id: 'asc' }, select: { state: true, risk: true, decidedById: true } });
    expect(states).toEqual([
      { state: 'approved', risk: 15, decidedById: null },
      { state: 'approved', risk: 5, decidedById: null },
      { state: 'requested', risk: 19, decidedById: null },
      { state: 'requested', risk: 25, decidedById: null },
    ]);
  });

  it('`picks` lists the highest risk first; a release manager can still reject an auto-approved pick', async () => {
    const list = (await t.chat.say('rm', 'picks')).split('\n').filter((l) => /pick \d+ ·/.test(l));
    expect(list.map((l) => /risk (\d+)\/100/.exec(l)?.[1])).toEqual(['25', '19', '15', '5']);
    expect(list[2]).toContain('approved (approved by the bot: risk 15/100 is at or below push.auto_approve.max_risk 15)');
    // The dashboard's push board shows the same scores in the same order.
    const board = await boardFromPushService(t.push, t.config.push.risk);
    expect(board?.picks.map((p) => [p.risk, p.riskReasons?.length])).toEqual([
      [25, 2],
      [19, 2],
      [15, 2],
      [5, 1],
    ]);
    const first = await t.store.db.cherryPick.findFirstOrThrow({ where: { risk: 15 } });
    expect(await t.chat.say('rm', `reject ${first.id} not today`)).toMatch(/reject/i);
    expect((await t.store.db.cherryPick.findUniqueOrThrow({ where: { id: first.id } })).state).toBe('rejected');
  });
});
