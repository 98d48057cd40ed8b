/**
 * Push karma and who may do what.
 * GIVEN an author taken down to 2 stars THEN their picks are refused with "talk to a release manager", also
 * when someone else asks for their commit; AFTER `karma reset` they are accepted.
 * GIVEN a user with no role, a developer and a release manager THEN only the release manager can approve,
 * reject, unlike, start, ship or abort — the others get a refusal and nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickIdOf, type PushBot, pushBot } from './helpers.js';

describe('push karma gate', () => {
  let t: PushBot;
  let daveSha = '';
  beforeAll(async () => {
    t = await pushBot();
    daveSha = t.git.commit({ 'd.txt': 'd\n' }, 'dave fix', 'dave');
  });
  afterAll(async () => t?.close());

  it('refuses an author at 2 stars, and accepts them after karma reset', async () => {
    await t.chat.say('rm', 'unlike dave flaky picks');
    expect(await t.chat.say('rm', 'unlike @dave again')).toMatch(/2\/5/);
    expect(await t.chat.say('dave', `cp ${daveSha}`)).toMatch(/✋ you have ★★☆☆☆ \(2\/5\): picks are paused at 2 stars or fewer — talk to a release manager/);
    // Asking for a blocked author's commit on their behalf is refused too.
    expect(await t.chat.say('alice', `cp ${daveSha}`)).toMatch(
      /dave \(the author\) has ★★☆☆☆ \(2\/5\).*talk to a release manager \(they can `karma reset dave`\)/,
    );
    expect(await t.store.db.cherryPick.count()).toBe(0);

    await t.chat.say('rm', 'karma reset dave paired on the fix');
    const reply = await t.chat.say('dave', `cp ${daveSha}`);
    expect(reply).toMatch(/📝 pick \d+ requested for push 1: [0-9a-f]{7} "dave fix" by dave ★★★★☆ \(4\/5\)/);
    expect(await t.store.db.cherryPick.count()).toBe(1);
  });

  it('a developer at 3 stars is still accepted', async () => {
    await t.chat.say('rm', 'unlike carol');
    const sha = t.git.commit({ 'c.txt': 'c\n' }, 'carol fix', 'carol');
    expect(await t.chat.say('carol', `cp ${sha}`)).toMatch(/requested .* ★★★☆☆ \(3\/5\)/);
  });
});

describe('only release managers decide', () => {
  let t: PushBot;
  beforeAll(async () => {
    t = await pushBot();
    await t.chat.say('mallory', 'whoami'); // not in developers: no role at all
    for (const n of [1, 2]) pickIdOf(await t.chat.say('alice', `cp ${t.git.commit({ [`f${n}.txt`]: `${n}\n` }, `fix ${n}`, 'alice')}`));
  });
  afterAll(async () => t?.close());

  const snapshot = async () => ({
    picks: await t.store.db.cherryPick.findMany({ orderBy: { id: 'asc' }, select: { id: true, state: true } }),
    pushes: await t.store.db.push.findMany({ orderBy: { id: 'asc' }, select: { id: true, state: true, branch: true } }),
    karma: await t.store.db.user.findMany({ orderBy: { id: 'asc' }, select: { id: true, karma: true } }),
  });

  // In this order each command is valid for a release manager at the point it runs.
  const matrix: [string, RegExp][] = [
    ['approve 1', /approved pick 1/],
    ['reject 2 not now', /rejected pick 2/],
    ['unlike bob', /took a star from you/],
    ['push start', /push 1 \(push\/[\d-]+\) started/],
    ['push ship', /push 1 .* shipped/],
    ['push start', /push 2 .* started/],
    ['push abort', /push 2 .* aborted by rm/],
  ];

  for (const [command, success] of matrix) {
    it(`${command}: refused for no role and for a developer, done for a release manager`, async () => {
      const before = await snapshot();
      for (const user of ['mallory', 'bob']) {
        const reply = await t.chat.say(user, command);
        expect(reply, `${user}: ${command}`).toMatch(/^✋ only a release manager can .* — ask one of: irc:rm/);
      }
      expect(await snapshot()).toEqual(before);
      if (command === 'push ship') await t.chat.say('alice', 'here');
      expect(await t.chat.say('rm', command)).toMatch(success);
    });
  }

  it('anyone may look: picks and push status; developers may ask and confirm, no-role users may not', async () => {
    expect(await t.chat.say('mallory', 'picks')).toMatch(/push 2/);
    expect(await t.chat.say('mallory', 'push status')).toMatch(/push 2/);
    expect(await t.chat.say('mallory', 'cp #1')).toMatch(/only a developer can use `cherry-pick`/);
    expect(await t.chat.say('mallory', 'here')).toMatch(/only a developer can use `here`/);
  });
});
