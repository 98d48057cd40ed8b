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

  it('answers a known user’s karma and writes its audit row without Prisma; a new user loads Prisma and waits for it; reads then see Prisma’s writes', async () => {
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

    // Somebody new: creating them is Prisma's work, so the client loads, and the call waits for it.
    const bob = await store.users.identify({ provider: 'irc', id: 'bob', handle: 'bob' });
    expect(bob).toMatchObject({ name: 'bob', identities: [{ provider: 'irc', externalId: 'bob', handle: 'bob' }] });
    expect(early.loaded()).toBe(true);

    // A karma change is Prisma's write; the hand-written reads see it at once (the same connection on SQLite).
    await store.karma.change({ kind: 'like', userId: bob.id, actorId: alice.id, reason: 'paired' });
    expect(await store.karma.stars(bob.id)).toBe(5);
    expect((await store.users.identify({ provider: 'irc', id: 'bob', handle: 'bob' })).karma).toBe(5);
  });
});
