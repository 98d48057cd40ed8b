/**
 * Push timers on several instances fire once: two push services (two instances' worth) on one database tick at
 * the same moment; a reminder and the close of the confirmation window are each said once. The interleaving is
 * forced: both instances have read the push before either writes (a barrier in front of each claim), which is
 * exactly when a read-then-write timer would speak twice. Runs on SQLite and on PostgreSQL (the test matrix).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushService } from '../../src/push/service.js';
import { createPushService } from '../../src/push/setup.js';
import type { Store } from '../../src/store/index.js';
import { ManualTimers, pickIdOf, type PushBot, pushBot } from '../push/helpers.js';

const MIN = 60_000;

/** Holds every caller of the wrapped claims until `parties` callers have arrived (then lets them all go). */
class Barrier {
  private waiting: (() => void)[] = [];
  constructor(private readonly parties: number) {}
  arrive(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.waiting.length >= this.parties) for (const go of this.waiting.splice(0)) go();
    });
  }
}

/** The store as instance `name` sees it, with the push's timer claims held at `barrier`. */
function heldStore(store: Store, barrier: Barrier): Store {
  const push = new Proxy(store.push, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'claimReminder' && key !== 'closeWindow') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        await barrier.arrive();
        return (value as (...a: unknown[]) => Promise<boolean>).apply(target, args);
      };
    },
  });
  return { ...store, push } as Store;
}

describe('push reminders and the window close fire once across instances', () => {
  let t: PushBot;
  const said: string[] = [];
  const instances: { service: PushService; timers: ManualTimers; stop: () => void }[] = [];

  beforeAll(async () => {
    t = await pushBot();
    expect(await t.chat.say('rm', 'push start')).toMatch(/no approved picks yet/);
    const a = t.git.commit({ 'a.txt': 'fix a\n' }, 'fix a', 'alice');
    const b = t.git.commit({ 'b.txt': 'fix b\n' }, 'fix b', 'bob');
    pickIdOf(await t.chat.say('alice', `cp ${a}`));
    pickIdOf(await t.chat.say('bob', `cp ${b}`));
    expect(await t.chat.say('rm', 'approve all')).toMatch(/say `here`/);
    expect(await t.chat.say('alice', 'here')).toMatch(/confirmed for push 1/);
    // Two more instances on the same database; the bot's own timer is never fired.
    const barrier = new Barrier(2);
    for (const name of ['a', 'b']) {
      const service = createPushService({
        config: t.config,
        store: heldStore(t.store, barrier),
        clock: t.clock,
        dataDir: join(t.dir, `instance-${name}`),
        notifier: { say: async (_p, _room, text) => void said.push(text), mention: (_p, u) => `@${u.name}` },
      });
      if (!service) throw new Error('no push service');
      const timers = new ManualTimers();
      instances.push({ service, timers, stop: service.startTicking(5_000, timers) });
    }
  }, 300_000);
  afterAll(async () => {
    for (const i of instances) i.stop();
    await t?.close();
  });

  const fireBoth = () => Promise.all(instances.map((i) => i.timers.fire()));

  it('GIVEN a reminder due WHEN both instances tick at once THEN bob is reminded once', async () => {
    t.clock.advance(10 * MIN);
    await fireBoth();
    expect(said).toEqual([expect.stringMatching(/⏳ @bob: push 1 .* say `here`/)]);
    said.length = 0;
    t.clock.advance(10 * MIN);
    await fireBoth();
    expect(said).toEqual([expect.stringMatching(/⏳ @bob: .*\(10m left/)]);
  });

  it('GIVEN the window ends WHEN both instances tick at once THEN it closes once and bob is told once', async () => {
    said.length = 0;
    t.clock.advance(10 * MIN);
    await fireBoth();
    expect(said).toEqual([expect.stringMatching(/⏰ the confirmation window of push 1 .* closed: deferred .*@bob/)]);
  });
});
