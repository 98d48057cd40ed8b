/**
 * The chat tables several instances share (on SQLite and PostgreSQL): the IRC lease is held by one holder at a
 * time and taken over only once it ran out; outbox rows come out in order and each once, however many takers
 * race; a Slack event id is taken by exactly one of several instances claiming it at once.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { ChatOutbox } from '../../src/chat/outbox.js';
import { ChatEvents } from '../../src/store/chat-events.js';
import { ChatLeases } from '../../src/store/chat-leases.js';
import { ChatOutboxStore } from '../../src/store/chat-outbox.js';
import { TEST_DB, type TempStore, tempStore } from '../support/db.js';

describe(`chat tables for several instances (${TEST_DB})`, () => {
  let t: TempStore;
  beforeAll(async () => {
    t = await tempStore();
  });
  afterAll(async () => {
    await t.close();
  });

  it('GIVEN A holds the IRC lease THEN B cannot take it until it runs out, A renews it, and a released lease is free at once', async () => {
    const leases = new ChatLeases(t.store.db);
    const t0 = new Date('2026-12-02T08:00:00Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    expect(await leases.acquire('irc', 'A', 2_000, t0)).toBe('taken');
    expect(await leases.acquire('irc', 'B', 2_000, at(1_000))).toBeNull();
    expect(await leases.acquire('irc', 'A', 2_000, at(1_500))).toBe('renewed');
    // Renewed until 3.5 s: at 3 s B still waits; at 4 s (A silent) the lease is B's, and A's renewal fails.
    expect(await leases.acquire('irc', 'B', 2_000, at(3_000))).toBeNull();
    expect(await leases.acquire('irc', 'B', 2_000, at(4_000))).toBe('taken');
    expect(await leases.acquire('irc', 'A', 2_000, at(4_100))).toBeNull();
    expect(await leases.holder('irc')).toMatchObject({ holder: 'B' });
    // A release by someone who does not hold it changes nothing; the holder's frees it for anyone.
    expect(await leases.release('irc', 'A')).toBe(false);
    expect(await leases.release('irc', 'B')).toBe(true);
    expect(await leases.acquire('irc', 'A', 2_000, at(4_200))).toBe('taken');
  });

  it('GIVEN several instances racing for a free lease THEN exactly one gets it', async () => {
    const leases = new ChatLeases(t.store.db);
    const now = new Date();
    const got = await Promise.all(['p', 'q', 'r', 's', 'u'].map((h) => leases.acquire('race', h, 10_000, now)));
    expect(got.filter((g) => g === 'taken')).toHaveLength(1);
  });

  it('GIVEN 40 outbox messages and two takers racing THEN every message is taken once, each taker in order, and nothing after the last delivered is skipped', async () => {
    const outbox = new ChatOutboxStore(t.store.db);
    const ids: number[] = [];
    for (let i = 1; i <= 40; i++) ids.push(await outbox.add({ network: 'irc', room: '#deploys', text: `line ${i}` }));
    await outbox.add({ network: 'slack', room: 'C1', text: 'not for IRC' });
    // The first holder said 5 before it died; the next goes on from the 6th.
    for (let i = 0; i < 5; i++) expect((await outbox.take('irc', 'dead'))?.text).toBe(`line ${i + 1}`);
    const taken: Record<string, number[]> = { A: [], B: [] };
    const drain = async (by: 'A' | 'B') => {
      for (let row = await outbox.take('irc', by); row; row = await outbox.take('irc', by)) taken[by]?.push(row.id);
    };
    await Promise.all([drain('A'), drain('B')]);
    const all = [...(taken.A ?? []), ...(taken.B ?? [])].sort((a, b) => a - b);
    expect(all).toEqual(ids.slice(5));
    expect(taken.A).toEqual([...(taken.A ?? [])].sort((a, b) => a - b));
    expect(taken.B).toEqual([...(taken.B ?? [])].sort((a, b) => a - b));
    expect(await outbox.take('irc', 'A')).toBeNull();
    expect((await outbox.take('slack', 'A'))?.text).toBe('not for IRC');
  });

  it('GIVEN no notifications THEN the holder finds what another instance wrote by polling, in the order written', async () => {
    const store = new ChatOutboxStore(t.store.db);
    const logger = pino({ level: 'silent' });
    const writer = new ChatOutbox({ store, network: 'poll', instanceId: 'W', logger });
    const holder = new ChatOutbox({ store, network: 'poll', instanceId: 'H', pollMs: 100, logger });
    const said: string[] = [];
    await holder.startDelivering(async (row) => void said.push(`${row.room} ${row.asker ?? '-'} ${row.text}`));
    // Written without waiting for each other: this instance's order is kept all the same.
    await Promise.all(Array.from({ length: 12 }, (_, i) => writer.write({ room: '#deploys', asker: i % 2 ? 'alice' : undefined, text: `m${i}` })));
    await vi.waitFor(() => expect(said).toHaveLength(12), { timeout: 20_000, interval: 50 });
    expect(said).toEqual(Array.from({ length: 12 }, (_, i) => `#deploys ${i % 2 ? 'alice' : '-'} m${i}`));
    await holder.stopDelivering();
    await writer.write({ room: '#deploys', text: 'after the stop' });
    expect(await store.take('poll', 'next')).toMatchObject({ text: 'after the stop' });
  });

  it('GIVEN the same Slack event id claimed by three instances at once THEN one takes it; a new id is free', async () => {
    const events = new ChatEvents(t.store.db);
    const got = await Promise.all([1, 2, 3].map(() => events.claim('slack', 'Ev0AAAA1')));
    expect(got.filter(Boolean)).toHaveLength(1);
    expect(await events.claim('slack', 'Ev0AAAA1')).toBe(false);
    expect(await events.claim('slack', 'Ev0AAAA2')).toBe(true);
    expect(await events.prune(new Date(Date.now() + 60_000))).toBe(2);
    expect(await events.claim('slack', 'Ev0AAAA1')).toBe(true);
  });
});
