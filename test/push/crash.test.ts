/**
 * GIVEN a push with alice's confirmed pick and dave's unconfirmed one
 * WHEN `push ship` stops for good right after the cherry-picks (the process died: a hook that never returns),
 *   and the bot restarts (a new push service on the same database and clone, recover() as main.ts calls it)
 * THEN the push is back to confirming, alice's pick approved again, dave's pick NOT deferred (deferrals are
 *   written only after a ship succeeded), the channel is told, `cp` and `push abort` would work again, and a
 *   second `push ship` ships it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPushService } from '../../src/push/setup.js';
import type { PushService } from '../../src/push/service.js';
import { pickIdOf, type PushBot, pushBot } from './helpers.js';

describe('push ship killed mid-way and restarted', () => {
  let t: PushBot;
  let reached = false;
  const ids: Record<string, number> = {};
  let restarted: PushService;

  beforeAll(async () => {
    t = await pushBot({
      hooks: {
        // The "crash": the ship never gets past this point, as if the process had died here.
        afterPicks: () => {
          reached = true;
          return new Promise<void>(() => {});
        },
      },
    });
    // The push is cut from a release branch, so the picks are what brings the changes.
    t.git.branch('release', t.git.sha('main'));
    const alice = t.git.commit({ 'alice.txt': 'alice\n' }, 'alice: fix', 'alice');
    const dave = t.git.commit({ 'dave.txt': 'dave\n' }, 'dave: fix', 'dave');
    ids.alice = pickIdOf(await t.chat.say('alice', `cp ${alice}`));
    ids.dave = pickIdOf(await t.chat.say('dave', `cp ${dave}`));
    await t.chat.say('rm', 'approve all');
    await t.chat.say('rm', 'push start from release');
    await t.chat.say('alice', 'here');
  });
  afterAll(async () => t?.close());

  it('leaves the push shipping while it is stuck', async () => {
    const rm = await t.store.users.resolve('rm');
    void t.push.ship(rm!, { provider: 'irc', room: '#deploys' });
    await vi.waitFor(() => expect(reached).toBe(true), { timeout: 60_000 });
    expect((await t.store.db.push.findUniqueOrThrow({ where: { id: 1 } })).state).toBe('shipping');
    expect((await t.store.db.cherryPick.findUniqueOrThrow({ where: { id: ids.alice } })).state).toBe('picked');
    // Nothing deferred yet: deferrals wait for a ship that succeeded.
    expect((await t.store.db.cherryPick.findUniqueOrThrow({ where: { id: ids.dave } })).state).toBe('approved');
  });

  it('after a restart the push is back to confirming, nothing deferred, and the channel is told', async () => {
    t.notices();
    restarted = createPushService({
      config: t.config,
      store: t.store,
      clock: t.clock,
      dataDir: t.dir,
      notifier: { say: (_p, target, text) => t.chat.send(target, text).then(() => {}), mention: (_p, u) => `@${u.name}` },
    })!;
    const back = await restarted.recover();
    expect(back).toMatchObject({ id: 1, state: 'confirming' });
    const picks = await t.store.db.cherryPick.findMany({ orderBy: { id: 'asc' } });
    expect(picks.map((p) => [p.id, p.state, p.pickedSha])).toEqual([
      [ids.alice, 'approved', null],
      [ids.dave, 'approved', null],
    ]);
    expect(t.notices().join('\n')).toMatch(
      /⚠️ push 1 \(push\/[\d-]+\) was being shipped when the bot stopped: it is back to confirming, nothing was deployed and no pick was deferred — `push ship` again/,
    );
    // A second recover finds nothing to do.
    expect(await restarted.recover()).toBeNull();
  });

  it('a second ship works on the restarted service', async () => {
    const rm = await t.store.users.resolve('rm');
    const report = await restarted.ship(rm!, { provider: 'irc', room: '#deploys' });
    expect(report.push.state).toBe('shipped');
    expect(report.shipped.map((p) => p.id)).toEqual([ids.alice]);
    expect(report.deferred.map((p) => p.id)).toEqual([ids.dave]);
    const branch = report.push.branch!;
    expect(t.git.show(branch, 'alice.txt')).toBe('alice\n');
    expect(() => t.git.show(branch, 'dave.txt')).toThrow();
    expect(t.git.log(branch).filter((c) => c.body.includes('cherry picked from commit'))).toHaveLength(1);
  });
});
