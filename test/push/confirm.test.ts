/**
 * GIVEN a started push with approved picks by alice and bob, a 30m confirmation window and 10m reminders
 * WHEN alice says `here` and the injected clock moves while the timer fires
 * THEN bob (only bob) is reminded every 10 minutes, at 30 minutes his pick is deferred and he is told, the
 * deferral happens once, a late `here` is told it is too late, ship takes only alice's pick, and bob's pick
 * is requested again in the next push.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickIdOf, type PushBot, pushBot } from './helpers.js';

const MIN = 60_000;

describe('confirmation window on an injected clock', () => {
  let t: PushBot;
  let alicePick = 0;
  let bobPick = 0;
  let bobSha = '';

  beforeAll(async () => {
    t = await pushBot();
    // Cut first (from trunk), then the fixes land on trunk: the usual order of a daily push.
    expect(await t.chat.say('rm', 'push start')).toMatch(/no approved picks yet/);
    const a = t.git.commit({ 'a.txt': 'fix a\n' }, 'fix a', 'alice');
    bobSha = t.git.commit({ 'b.txt': 'fix b\n' }, 'fix b', 'bob');
    alicePick = pickIdOf(await t.chat.say('alice', `cp ${a}`));
    bobPick = pickIdOf(await t.chat.say('bob', `cp ${bobSha}`));
  });
  afterAll(async () => t?.close());

  it('asks the authors when their picks are approved during the window', async () => {
    const reply = await t.chat.say('rm', 'approve all');
    expect(reply).toMatch(/🙋 @alice @bob: push 1 \(push\/[\d-]+\) has your approved picks — say `here` by (?:\w{3} \d{1,2} \w{3} )?\d\d:\d\d/);
    expect(await t.chat.say('alice', 'here')).toMatch(/confirmed for push 1/);
  });

  it('reminds only the authors who have not confirmed, every reminder_interval', async () => {
    t.notices();
    t.clock.advance(9 * MIN);
    await t.timers.fire();
    expect(t.notices()).toEqual([]);

    t.clock.advance(1 * MIN);
    await t.timers.fire();
    const first = t.notices();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/⏳ @bob: push 1 .* say `here` .* \(20m left, until (?:\w{3} \d{1,2} \w{3} )?\d\d:\d\d\); otherwise your picks are deferred/);
    expect(first[0]).not.toContain('@alice');

    // Firing again right away does not repeat it.
    await t.timers.fire();
    expect(t.notices()).toEqual([]);

    t.clock.advance(10 * MIN);
    await t.timers.fire();
    expect(t.notices()).toEqual([expect.stringMatching(/⏳ @bob: .*\(10m left/)]);
    expect(await t.chat.say('erin', 'push status')).toMatch(/confirmed: alice\n\s+waiting for: bob/);
  });

  it('defers the picks of authors who did not confirm when the window ends, once', async () => {
    t.notices();
    t.clock.advance(10 * MIN);
    await t.timers.fire();
    expect(t.notices()).toEqual([
      expect.stringMatching(new RegExp(`⏰ the confirmation window of push 1 .* closed: deferred to the next push.*: @bob \\(pick ${bobPick}\\)`)),
    ]);
    expect((await t.store.db.cherryPick.findUniqueOrThrow({ where: { id: bobPick } })).state).toBe('deferred');
    expect((await t.store.db.cherryPick.findUniqueOrThrow({ where: { id: alicePick } })).state).toBe('approved');

    t.clock.advance(15 * MIN);
    await t.timers.fire();
    expect(t.notices()).toEqual([]);
  });

  it('tells a late author the pick was deferred', async () => {
    expect(await t.chat.say('bob', 'here')).toMatch(
      new RegExp(
        `the confirmation window closed at (?:\\w{3} \\d{1,2} \\w{3} )?\\d\\d:\\d\\d: pick ${bobPick} was deferred and will be requested again in the next push`,
      ),
    );
  });

  it('ships only the confirmed pick; the deferred one is requested in the next push', async () => {
    const shipped = await t.chat.say('rm', 'push ship');
    expect(shipped).toMatch(/1 pick in, 0 conflicts, 0 deferred/);
    expect(shipped).toContain(`pick ${alicePick}`);
    expect(shipped).not.toContain(`pick ${bobPick} `);
    const reply = await t.chat.say('carol', `cp ${t.git.commit({ 'c.txt': 'c\n' }, 'fix c', 'carol')}`);
    expect(reply).toMatch(/requested for push 2/);
    expect(reply).toMatch(/push 2 opened with 1 pick deferred from the last push/);
    const carried = await t.store.db.cherryPick.findFirstOrThrow({ where: { pushId: 2, sha: bobSha } });
    expect(carried).toMatchObject({ state: 'requested', carriedFromId: bobPick });
  });
});
