/**
 * GIVEN a real remote with trunk history, a stable `release` branch and changes landed on trunk after it
 * WHEN picks are requested, one rejected, the rest approved, the push started from release, some authors
 * confirm and the release manager ships
 * THEN the push branch on the remote holds exactly the confirmed, approved, non-conflicting picks, each with
 * its `(cherry picked from commit …)` line, in request order; the conflict is reported with its file; the
 * unconfirmed author's pick is deferred and comes back as a request in the next push.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickIdOf, type PushBot, pushBot } from './helpers.js';

describe('push ship on real git', () => {
  let t: PushBot;
  const shas: Record<string, string> = {};
  const ids: Record<string, number> = {};
  let shipReply = '';
  let releaseSha = '';

  beforeAll(async () => {
    t = await pushBot();
    const g = t.git;
    releaseSha = g.sha('main');
    g.branch('release', releaseSha);
    // Landed on trunk after the release base:
    shas.alice = g.mergePr(1, 'feature-a', { 'feature-a.txt': 'feature a\n' }, 'Add feature A', 'alice').merge;
    shas.bobDependency = g.commit({ 'shared.txt': 'greeting = hi\n' }, 'say hi', 'bob'); // never picked
    shas.carol = g.commit({ 'shared.txt': 'greeting = hey\n' }, 'say hey instead of hi', 'carol'); // needs the one above: conflicts
    shas.dave = g.commit({ 'dave.txt': 'dave\n' }, 'dave: add his file', 'dave');
    shas.bob = g.commit({ 'bob.txt': 'bob\n' }, 'bob: add his file', 'bob');
    shas.erin = g.commit({ 'erin.txt': 'erin\n' }, 'erin: risky thing', 'erin');

    ids.alice = pickIdOf(await t.chat.say('alice', 'cherry-pick #1'));
    ids.carol = pickIdOf(await t.chat.say('carol', `cp ${shas.carol.slice(0, 10)}`));
    ids.dave = pickIdOf(await t.chat.say('dave', `cp ${shas.dave}`));
    ids.bob = pickIdOf(await t.chat.say('bob', `cp ${shas.bob.slice(0, 7)}`));
    ids.erin = pickIdOf(await t.chat.say('erin', `cp ${shas.erin}`));
  });
  afterAll(async () => t?.close());

  it('shows each request with size, author karma and the discussion as unknown without GitHub', async () => {
    const picks = await t.chat.say('rm', 'picks');
    expect(picks).toMatch(/push 1 — open/);
    expect(picks).toMatch(
      new RegExp(
        `pick ${ids.alice} · #1 "Add feature A" \\(${shas.alice!.slice(0, 7)}\\) by alice ★★★★☆ \\(4/5\\) · risk 15/100: no tests changed, author has 4 stars · \\+1 −0 in 1 file · discussion unknown \\(no GitHub token\\) · requested`,
      ),
    );
    expect(picks).toMatch(/5 picks: 5 requested/);
  });

  it('refuses the same change twice in one push', async () => {
    expect(await t.chat.say('bob', `cp ${shas.bob}`)).toMatch(new RegExp(`already requested for push 1 as pick ${ids.bob} \\(requested, by bob\\)`));
    expect(await t.store.db.cherryPick.count()).toBe(5);
  });

  it('ships exactly the confirmed, approved, non-conflicting picks with -x lines', async () => {
    expect(await t.chat.say('rm', `reject ${ids.erin} too risky for a pick`)).toMatch(/@erin: rm rejected pick \d+ .* — "too risky for a pick"/);
    const approved = await t.chat.say('rm', 'approve all');
    expect(approved).toContain(`approved pick ${ids.alice}, pick ${ids.carol}, pick ${ids.dave}, pick ${ids.bob}`);

    const started = await t.chat.say('rm', 'push start from release');
    const today = t.clock.now();
    const branch = `push/${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
    expect(started).toContain(`push 1 (${branch}) started: cut from release at ${releaseSha.slice(0, 7)}`);
    for (const who of ['alice', 'carol', 'dave', 'bob']) expect(started).toContain(`@${who}`);
    expect(t.git.sha(branch)).toBe(releaseSha);

    expect(await t.chat.say('alice', 'here')).toMatch(/thanks @alice, you are confirmed for push 1/);
    expect(await t.chat.say('carol', 'confirm')).toMatch(/confirmed/);
    expect(await t.chat.say('bob', 'present')).toMatch(/confirmed/);
    expect(await t.chat.say('bob', 'here')).toMatch(/already confirmed/);

    const status = await t.chat.say('erin', 'push status');
    expect(status).toMatch(/confirmed: alice, carol, bob/);
    expect(status).toMatch(/waiting for: dave/);
    expect(status).toMatch(/out \(1\):\n.*erin.*rejected: too risky/);

    shipReply = await t.chat.say('rm', 'push ship');
    expect(shipReply).toMatch(new RegExp(`push 1 \\(${branch}\\) shipped: ${branch} is at [0-9a-f]{7} — 2 picks in, 1 conflict, 1 deferred`));
    expect(shipReply).toMatch(new RegExp(`💥 pick ${ids.carol} .* conflicts in shared.txt — skipped`));
    expect(shipReply).toMatch(new RegExp(`⏭ pick ${ids.dave} .* deferred to the next push: the author did not confirm`));
    expect(shipReply).toMatch(/@alice @bob: your picks shipped in push 1/);
    expect(shipReply).toMatch(/@carol: your pick conflicted/);

    // The remote's push branch: the base plus exactly two cherry-picks, in request order, each recording its origin.
    const log = t.git.log(branch);
    expect(log[2]?.sha).toBe(releaseSha);
    const picked = log.slice(0, 2).reverse();
    expect(picked.map((c) => c.subject)).toEqual(['Merge pull request #1 from acme/feature-a', 'bob: add his file']);
    expect(picked[0]!.body).toContain(`(cherry picked from commit ${shas.alice})`);
    expect(picked[1]!.body).toContain(`(cherry picked from commit ${shas.bob})`);
    expect(t.git.show(branch, 'feature-a.txt')).toBe('feature a\n');
    expect(t.git.show(branch, 'bob.txt')).toBe('bob\n');
    expect(t.git.show(branch, 'shared.txt')).toBe('greeting = hello\n');
    expect(() => t.git.show(branch, 'dave.txt')).toThrow();
    expect(() => t.git.show(branch, 'erin.txt')).toThrow();

    const rows = await t.store.db.cherryPick.findMany({ orderBy: { id: 'asc' } });
    const state = (id: number | undefined) => rows.find((r) => r.id === id);
    expect(state(ids.alice)).toMatchObject({ state: 'shipped', pickedSha: picked[0]!.sha });
    expect(state(ids.bob)).toMatchObject({ state: 'shipped', pickedSha: picked[1]!.sha });
    expect(state(ids.carol)).toMatchObject({ state: 'conflict', conflictFiles: 'shared.txt', pickedSha: null });
    expect(state(ids.dave)).toMatchObject({ state: 'deferred' });
    expect(state(ids.erin)).toMatchObject({ state: 'rejected', reason: 'too risky for a pick' });
    const push = await t.store.db.push.findFirstOrThrow({ where: { id: 1 } });
    expect(push).toMatchObject({ state: 'shipped', branch, headSha: log[0]!.sha, baseSha: releaseSha });
  });

  it('keeps the deferred pick requested for the next push', async () => {
    const started = await t.chat.say('rm', 'push start');
    expect(started).toMatch(/push 2 \(push\/\d{4}-\d\d-\d\d\.2\) started: cut from main/);
    expect(started).toMatch(/carried over from the last push \(requested again\): pick \d+/);
    const next = await t.store.db.cherryPick.findFirstOrThrow({ where: { pushId: 2 } });
    expect(next).toMatchObject({ sha: shas.dave, state: 'requested', carriedFromId: ids.dave, authorName: 'dave' });
    expect(await t.chat.say('rm', 'picks')).toMatch(new RegExp(`pick ${next.id} · ${shas.dave!.slice(0, 7)} "dave: add his file" by dave .* requested`));
    // The old row stays as history.
    expect((await t.store.db.cherryPick.findUniqueOrThrow({ where: { id: ids.dave } })).state).toBe('deferred');
    // Trunk already has it, so the branch cut from main carries the change: shipping it is a no-op, not an error.
    await t.chat.say('rm', `approve ${next.id}`);
    await t.chat.say('dave', 'here');
    const shipped = await t.chat.say('rm', 'push ship');
    expect(shipped).toMatch(/1 pick in, 0 conflicts, 0 deferred/);
    expect(shipped).toMatch(/already on the branch/);
  });

  it('answers bad input with one line and keeps state', async () => {
    expect(await t.chat.say('alice', 'cp')).toMatch(/usage: cherry-pick <#PR\|sha>/);
    expect(await t.chat.say('alice', 'cp --upload-pack=touch /tmp/x')).toMatch(/usage/);
    expect(await t.chat.say('alice', 'cp $(reboot)')).toMatch(/neither a pull request \(#12\) nor a commit SHA/);
    expect(await t.chat.say('alice', 'cp deadbeefdeadbeef')).toMatch(/no commit deadbeefdeadbeef in the push repository/);
    expect(await t.chat.say('alice', 'cp #999')).toMatch(/cannot look up PR #999: there is no GITHUB_TOKEN/);
    expect(await t.chat.say('rm', 'approve 9999')).toMatch(/there is no pick 9999/);
    expect(await t.chat.say('rm', 'approve x')).toMatch(/"x" is not a pick id/);
    expect(await t.chat.say('rm', 'push start from ../etc')).toMatch(/is not a branch name/);
    expect(await t.chat.say('rm', 'push frobnicate')).toMatch(/unknown push action/);
    expect(await t.chat.say('rm', 'push ship to mars')).toMatch(/no push going on|has no environment "mars"/);
  });
});
