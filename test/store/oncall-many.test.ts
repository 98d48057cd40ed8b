/** OnCallStore.lookupMany: now and next for several teams at once, as `status` shows them. */
import { afterEach, describe, expect, it } from 'vitest';
import { type TempStore, tempStore } from '../support/db.js';

const HOUR = 3_600_000;

describe('on call for several teams at once', () => {
  let t: TempStore | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('GIVEN rotations, an override in force and a shift to come THEN each team gets its own now and next', async () => {
    t = await tempStore();
    const { users, oncall } = t.store;
    const [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((h) => users.identify({ provider: 'irc', id: h, handle: h })));
    if (!alice || !bob || !carol || !dave) throw new Error('users');
    const now = new Date('2026-12-01T12:00:00Z');
    const at = (hours: number) => new Date(now.getTime() + hours * HOUR);
    // web: alice's rotation; bob took the pager for two hours, an hour ago.
    await oncall.set({ team: 'web', userId: alice.id, setById: alice.id, startsAt: at(-24), endsAt: null });
    await oncall.take({ team: 'web', userId: bob.id, setById: bob.id, startsAt: at(-1), endsAt: at(1) });
    // infra: carol until two hours from now, then dave; an old rotation of dave's long over.
    await oncall.set({ team: 'infra', userId: dave.id, setById: alice.id, startsAt: at(-100), endsAt: at(-50) });
    await oncall.set({ team: 'infra', userId: carol.id, setById: alice.id, startsAt: at(-24), endsAt: at(2) });
    await oncall.set({ team: 'infra', userId: dave.id, setById: alice.id, startsAt: at(2), endsAt: null });

    const all = await oncall.lookupMany(['web', 'infra', 'db'], now);
    const view = (team: string) => {
      const l = all.get(team);
      return { now: l?.now?.user.name ?? null, kind: l?.now?.kind ?? null, next: l?.next?.user.name ?? null, nextAt: l?.nextAt ?? null };
    };
    expect(view('web')).toEqual({ now: 'bob', kind: 'override', next: 'alice', nextAt: at(1) });
    expect(view('infra')).toEqual({ now: 'carol', kind: 'rotation', next: 'dave', nextAt: at(2) });
    expect(view('db')).toEqual({ now: null, kind: null, next: null, nextAt: null });
    expect(all.get('web')?.now?.user.identities).toEqual([{ provider: 'irc', externalId: 'bob', handle: 'bob' }]);
    // One team at a time answers the same.
    for (const team of ['web', 'infra', 'db']) expect(await oncall.lookup(team, now)).toEqual(all.get(team));
  });

  it('GIVEN no teams THEN an empty answer', async () => {
    t = await tempStore();
    expect((await t.store.oncall.lookupMany([], new Date())).size).toBe(0);
  });
});
