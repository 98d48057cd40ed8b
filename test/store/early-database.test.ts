/**
 * The database as the start opens it (openEarly, src/store/db.ts): on SQLite the reply path's reads and the audit
 * rows run on a plain connection before Prisma's client is loaded; a Prisma call made then loads the client and
 * waits for it; once loaded, the hand-written reads run on Prisma's connection and see what Prisma wrote. On
 * PostgreSQL the same calls work on the database opened in full.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type EarlyDatabase, openDatabase, openEarly } from '../../src/store/db.js';
import { createStore } from '../../src/store/index.js';
import { queryRows, TEST_DB, type TempDatabase, tempDatabase } from '../support/db.js';

describe('the database opened early', () => {
  let db: TempDatabase | undefined;
  let early: EarlyDatabase | undefined;

  afterEach(async () => {
    await early?.close();
    await db?.drop();
    early = undefined;
    db = undefined;
  });

  it('answers a known user’s karma and writes its audit row without Prisma; a new user and a karma change asked for then load Prisma and wait for it; reads then see Prisma’s writes', async () => {
    db = await tempDatabase();
    // alice has talked to the bot before (a previous run of it).
    const before = await openDatabase(db.url);
    const seeded = createStore(before.prisma, { karmaInitial: 4 });
    const alice = await seeded.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    await before.prisma.$disconnect();

    early = await openEarly(db.url);
    const store = createStore(early.prisma, { karmaInitial: 4 });
    const known = await store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    expect(known).toMatchObject({ id: alice.id, name: 'alice', identities: [{ provider: 'irc', externalId: 'alice', handle: 'alice' }] });
    expect(await store.karma.stars(alice.id)).toBe(4);
    expect(await store.karma.history(alice.id, 5)).toEqual([]);
    await store.audit.recordMany([
      { userId: alice.id, identity: 'irc:alice', room: '#deploys', command: 'karma', text: 'karma', outcome: 'ok', at: new Date('2026-12-02T01:00:00Z') },
    ]);
    expect(await queryRows(db.url, `SELECT "command", "userId" FROM "AuditEvent"`)).toEqual([{ command: 'karma', userId: alice.id }]);
    // SQLite: none of that needed Prisma's client (PostgreSQL opens it at once: its reads go through Prisma).
    expect(early.loaded()).toBe(TEST_DB === 'postgresql');

    // Somebody new (a model call) and a karma change (a transaction) are Prisma's work: asked for together before
    // it is loaded, the client loads and both run on it.
    const [bob, liked] = await Promise.all([
      store.users.identify({ provider: 'irc', id: 'bob', handle: 'bob' }),
      store.karma.change({ kind: 'like', userId: alice.id, actorId: alice.id, reason: 'paired' }),
    ]);
    expect(bob).toMatchObject({ name: 'bob', identities: [{ provider: 'irc', externalId: 'bob', handle: 'bob' }] });
    expect(liked).toEqual({ before: 4, after: 5 });
    expect(early.loaded()).toBe(true);

    // Prisma's writes are seen at once by the hand-written reads (the same connection on SQLite).
    await store.karma.change({ kind: 'unlike', userId: bob.id, actorId: alice.id });
    expect(await store.karma.stars(bob.id)).toBe(3);
    expect(await store.karma.stars(alice.id)).toBe(5);
    expect((await store.users.identify({ provider: 'irc', id: 'bob', handle: 'bob' })).karma).toBe(3);
    expect((await store.karma.history(alice.id, 5)).map((e) => [e.kind, e.before, e.after])).toEqual([['like', 4, 5]]);
  });
});
