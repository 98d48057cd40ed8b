/**
 * `push abort` on a real git remote (a bare repository).
 * GIVEN a started push (its branch cut on the remote) WHEN a release manager aborts it THEN the branch is
 * deleted on the remote and the picks are kept for the next push; GIVEN someone pushed to the branch after
 * the bot last saw it THEN their commit is not thrown away: the push still ends and the reply says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PushBot, pushBot } from './helpers.js';

describe('push abort', () => {
  let t: PushBot;
  const remoteBranches = () =>
    t.git
      .git(['ls-remote', '--heads', t.git.remote])
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[1]);

  beforeAll(async () => {
    t = await pushBot();
  });
  afterAll(async () => t?.close());

  it('deletes the push branch on the remote and keeps the picks', async () => {
    const sha = t.git.commit({ 'a.txt': 'a\n' }, 'fix: a', 'alice');
    expect(await t.chat.say('alice', `cp ${sha}`)).toMatch(/pick \d+/);
    await t.chat.say('rm', 'approve all');
    expect(await t.chat.say('rm', 'push start')).toMatch(/push 1 \(.*\) started/);
    const branch = (await t.store.db.push.findFirstOrThrow({ where: { id: 1 } })).branch!;
    expect(remoteBranches()).toContain(`refs/heads/${branch}`);

    const reply = await t.chat.say('rm', 'push abort');
    expect(reply).toMatch(new RegExp(`push 1 .*aborted by rm; kept for the next push: pick \\d+; the branch ${branch} was deleted on the remote`));
    expect(remoteBranches()).not.toContain(`refs/heads/${branch}`);
    expect(remoteBranches()).toContain('refs/heads/main');
    expect((await t.store.db.push.findFirstOrThrow({ where: { id: 1 } })).state).toBe('aborted');
  });

  it('a branch someone pushed to since is left alone, and the reply says so', async () => {
    expect(await t.chat.say('rm', 'push start')).toMatch(/push 2 \(.*\) started/);
    const branch = (await t.store.db.push.findFirstOrThrow({ where: { id: 2 } })).branch!;
    t.git.git(['fetch', '--quiet', 'origin']);
    const theirs = t.git.commit({ 'b.txt': 'b\n' }, 'hand-made fix on the push branch', 'bob', branch);
    const reply = await t.chat.say('rm', 'push abort');
    expect(reply).toMatch(new RegExp(`push 2 .*aborted by rm.*; the branch ${branch} could not be deleted on the remote \\(.*\\) — delete it by hand`));
    expect(reply.split('\n')).toHaveLength(1);
    expect(t.git.git(['ls-remote', '--heads', t.git.remote, branch])).toContain(theirs);
    expect((await t.store.db.push.findFirstOrThrow({ where: { id: 2 } })).state).toBe('aborted');
  });
});
