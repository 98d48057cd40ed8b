/**
 * The reads on the reply path (src/store/sql.ts: hand-written joined SELECTs, straight on SQLite's connection or
 * through Prisma on PostgreSQL) answer what Prisma's model queries answered, and nothing on that path is
 * cached: a role given or taken by another instance on the same database applies to the very next command.
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { rolesOf } from '../../src/roles.js';
import { type Db, openDatabase, sqlitePath } from '../../src/store/db.js';
import { createStore, type Store } from '../../src/store/index.js';
import { inList, queryRows, sql } from '../../src/store/sql.js';
import { testBot, type TestBot } from '../support/bot.js';
import { TEST_DB, type TempStore, tempStore } from '../support/db.js';

const HOUR = 3_600_000;

describe('reads on the reply path', () => {
  let t: TempStore | undefined;
  let bot: TestBot | undefined;
  const others: Db[] = [];
  afterEach(async () => {
    for (const db of others.splice(0)) await db.$disconnect();
    await t?.close();
    await bot?.close();
    t = undefined;
    bot = undefined;
  });

  /** Another instance on the same database: its own client and store. */
  async function otherInstance(url: string): Promise<Store> {
    const { prisma } = await openDatabase(url);
    others.push(prisma);
    return createStore(prisma, { karmaInitial: 4 });
  }

  it('identify: the user with every identity in order, in one read; a new handle is stored', async () => {
    t = await tempStore();
    const { users, db } = t.store;
    const alice = await users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    await db.identity.create({ data: { provider: 'slack', externalId: 'U0ALICE', handle: 'Alice', userId: alice.id } });
    const again = await users.identify({ provider: 'slack', id: 'U0ALICE', handle: 'alice.w' });
    expect(again).toEqual({
      id: alice.id,
      name: 'alice',
      githubLogin: null,
      githubVerifiedAt: null,
      karma: null,
      identities: [
        { provider: 'irc', externalId: 'alice', handle: 'alice' },
        { provider: 'slack', externalId: 'U0ALICE', handle: 'alice.w' },
      ],
    });
    const stored = await db.identity.findUnique({ where: { provider_externalId: { provider: 'slack', externalId: 'U0ALICE' } } });
    expect(stored?.handle).toBe('alice.w');
    // The same person from the other network is the same user; nobody new was created.
    expect((await users.identify({ provider: 'irc', id: 'alice', handle: 'alice' })).id).toBe(alice.id);
    expect(await db.user.count()).toBe(1);
  });

  it('identify sees a GitHub login verified, then unlinked, by another instance at once (nothing cached)', async () => {
    t = await tempStore();
    const other = await otherInstance(t.url);
    const config = { release_managers: ['rm-login'], developers: undefined };
    const alice = await t.store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    expect(rolesOf(config, alice)).toEqual(['developer']);
    await other.users.verifyGithub(alice.id, 'rm-login', new Date());
    const verified = await t.store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    expect(verified.githubVerifiedAt).toBeInstanceOf(Date);
    expect(rolesOf(config, verified)).toEqual(['developer', 'release_manager']);
    await other.users.linkGithub(alice.id, 'someone-else');
    expect(rolesOf(config, await t.store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' }))).toEqual(['developer']);
  });

  it('a role given and taken by another instance applies to the next command', async () => {
    bot = await testBot();
    const other = await otherInstance(bot.url);
    await bot.chat.say('bob', 'karma');
    const alice = await bot.store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    expect(await bot.chat.say('alice', 'karma reset @bob')).toMatch(/only a release manager can reset karma/);
    // TEST_CONFIG makes the GitHub login rm-login a release manager; another instance records the verification.
    await other.users.verifyGithub(alice.id, 'rm-login', new Date());
    expect(await bot.chat.say('alice', 'whoami')).toMatch(/roles: .*release manager/);
    expect(await bot.chat.say('alice', 'karma reset @bob paired on the fix')).not.toMatch(/only a release manager/);
    expect(await bot.store.karma.history((await bot.store.users.identify({ provider: 'irc', id: 'bob', handle: 'bob' })).id)).toHaveLength(1);
    await other.users.linkGithub(alice.id, 'not-a-manager');
    expect(await bot.chat.say('alice', 'karma reset @bob')).toMatch(/only a release manager can reset karma/);
  });

  it('karma: stars and the history newest first, limited, each with its actor and their identities', async () => {
    t = await tempStore();
    const { users, karma, db } = t.store;
    const bob = await users.identify({ provider: 'irc', id: 'bob', handle: 'bob' });
    const rm = await users.identify({ provider: 'irc', id: 'rm', handle: 'rm' });
    await db.identity.create({ data: { provider: 'slack', externalId: 'U0RM', handle: 'rm', userId: rm.id } });
    const gh = await users.githubUser('ghost-gh'); // an actor without any chat identity
    expect(await karma.stars(bob.id)).toBe(4);
    const at = (h: number) => new Date(Date.UTC(2026, 11, 1, h));
    await karma.change({ userId: bob.id, actorId: rm.id, kind: 'unlike', reason: 'broke the build', at: at(1) });
    await karma.change({ userId: bob.id, actorId: gh.id, kind: 'like', at: at(2) });
    await karma.change({ userId: bob.id, actorId: rm.id, kind: 'unlike', at: at(3) });
    expect(await karma.stars(bob.id)).toBe(3);
    const history = await karma.history(bob.id, 2);
    expect(history.map((e) => [e.kind, e.before, e.after, e.reason, e.createdAt, e.actor.name])).toEqual([
      ['unlike', 4, 3, null, at(3), 'rm'],
      ['like', 3, 4, null, at(2), 'ghost-gh'],
    ]);
    expect(history[0]?.actor.identities).toEqual([
      { provider: 'irc', externalId: 'rm', handle: 'rm' },
      { provider: 'slack', externalId: 'U0RM', handle: 'rm' },
    ]);
    expect(history[1]?.actor.identities).toEqual([]);
    const all = await karma.history(bob.id);
    expect(all.map((e) => e.reason)).toEqual([null, null, 'broke the build']);
    expect(await karma.history(rm.id)).toEqual([]);
  });

  it('locks: listed by environment then app, each with its holder', async () => {
    t = await tempStore();
    const { users, locks } = t.store;
    const alice = await users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const gh = await users.githubUser('ghost-gh');
    expect(await locks.list()).toEqual([]);
    const when = new Date('2026-12-01T10:00:00Z');
    await locks.acquire({ app: 'web', environment: 'staging', holderId: alice.id, reason: 'testing', at: when });
    await locks.acquire({ app: '*', environment: 'production', holderId: gh.id, at: when });
    await locks.acquire({ app: 'api', environment: 'staging', holderId: alice.id, at: when });
    const list = await locks.list();
    expect(list.map((l) => [l.environment, l.app, l.holder.name, l.reason, l.createdAt])).toEqual([
      ['production', '*', 'ghost-gh', null, when],
      ['staging', 'api', 'alice', null, when],
      ['staging', 'web', 'alice', 'testing', when],
    ]);
    expect(list[0]?.holder.identities).toEqual([]);
    expect(list[1]?.holder.identities).toEqual([{ provider: 'irc', externalId: 'alice', handle: 'alice' }]);
    // The same rows Prisma's own read gives.
    expect(list).toEqual(await Promise.all(list.map((l) => locks.get(l.app, l.environment))));
  });

  it('freezes in force and active deploys: none is one read, some are loaded whole', async () => {
    t = await tempStore();
    const { users, freezes, deploys } = t.store;
    const alice = await users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const now = new Date('2026-12-01T12:00:00Z');
    expect(await freezes.inForce(now)).toEqual([]);
    await freezes.set({
      environment: 'staging',
      reason: 'ran out',
      until: new Date(now.getTime() - HOUR),
      createdById: alice.id,
      at: new Date(now.getTime() - 2 * HOUR),
    });
    await freezes.set({ environment: 'qa', reason: 'ended', until: null, createdById: alice.id, at: now });
    await freezes.end('qa', alice.id, now);
    expect(await freezes.inForce(now)).toEqual([]);
    await freezes.set({ environment: 'production', reason: 'incident', until: new Date(now.getTime() + HOUR), createdById: alice.id, at: now });
    expect((await freezes.inForce(now)).map((f) => [f.environment, f.reason, f.createdBy.name])).toEqual([['production', 'incident', 'alice']]);
    expect(await freezes.inForce(now, 'staging')).toEqual([]);
    expect((await freezes.inForce(now, 'production')).length).toBe(1);
    // An hour and a millisecond later it has run out.
    expect(await freezes.inForce(new Date(now.getTime() + HOUR + 1))).toEqual([]);

    expect(await deploys.active()).toEqual([]);
    const r = await deploys.request({
      app: 'web',
      environment: 'staging',
      ref: 'main',
      sha: 'f'.repeat(40),
      kind: 'deploy',
      requesterId: alice.id,
      provider: 'irc',
      room: '#d',
      hosts: [],
    });
    expect(r.outcome).toBe('started');
    expect((await deploys.active()).map((d) => [d.id, d.requester.name])).toEqual([[r.outcome === 'started' ? r.deploy.id : 0, 'alice']]);
  });

  it('sql: values are bound, never spliced; IN lists and nested pieces keep their order', async () => {
    t = await tempStore();
    const { users, db } = t.store;
    const evil = 'x\'); DROP TABLE "User"; --';
    const alice = await users.identify({ provider: 'irc', id: evil, handle: evil });
    const rows = await queryRows<{ id: number; handle: string }>(
      db,
      sql`SELECT "userId" AS "id", "handle" FROM "Identity" WHERE "externalId" IN (${inList(['nobody', evil])}) AND "userId" = ${alice.id}`,
    );
    expect(rows).toEqual([{ id: alice.id, handle: evil }]);
    expect(await db.user.count()).toBe(1);
    expect(() => inList([])).toThrow(/empty/);
  });

  it('audit rows: written in batches of any size, masked, with every field', async () => {
    t = await tempStore();
    const { users, audit, db } = t.store;
    const alice = await users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const at = new Date('2026-12-01T10:00:00.123Z');
    const entries = Array.from({ length: 1_201 }, (_, i) => ({
      userId: i % 2 ? alice.id : null,
      identity: 'irc:alice',
      room: '#deploys',
      command: 'karma',
      text: i === 0 ? 'karma token ghp_0123456789abcdefghijABCDEFGHIJ012345' : `karma ${i}`,
      outcome: 'ok' as const,
      detail: i === 1 ? 'refused: why' : undefined,
      ...(i === 2 ? { app: 'web', environment: 'staging', deployId: 7 } : {}),
      at: new Date(at.getTime() + i),
    }));
    await audit.recordMany(entries);
    await audit.recordMany([]);
    expect(await db.auditEvent.count()).toBe(1_201);
    const rows = await db.auditEvent.findMany({ orderBy: { id: 'asc' }, take: 3 });
    expect(rows.map(({ id: _, ...r }) => r)).toEqual([
      {
        kind: 'command',
        userId: null,
        identity: 'irc:alice',
        room: '#deploys',
        command: 'karma',
        text: expect.not.stringContaining('ghp_0123') as unknown as string,
        outcome: 'ok',
        detail: null,
        app: null,
        environment: null,
        deployId: null,
        gate: null,
        createdAt: at,
      },
      {
        kind: 'command',
        userId: alice.id,
        identity: 'irc:alice',
        room: '#deploys',
        command: 'karma',
        text: 'karma 1',
        outcome: 'ok',
        detail: 'refused: why',
        app: null,
        environment: null,
        deployId: null,
        gate: null,
        createdAt: new Date(at.getTime() + 1),
      },
      {
        kind: 'command',
        userId: null,
        identity: 'irc:alice',
        room: '#deploys',
        command: 'karma',
        text: 'karma 2',
        outcome: 'ok',
        detail: null,
        app: 'web',
        environment: 'staging',
        deployId: 7,
        gate: null,
        createdAt: new Date(at.getTime() + 2),
      },
    ]);
    const last = await db.auditEvent.findFirst({ orderBy: { id: 'desc' } });
    expect(last?.text).toBe('karma 1200');
  });

  it('audit rows written while a transaction is open elsewhere are not undone with it', async () => {
    t = await tempStore();
    const { users, audit, db } = t.store;
    const alice = await users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    let inside!: () => void;
    const opened = new Promise<void>((r) => {
      inside = r;
    });
    let fail!: () => void;
    const failing = new Promise<void>((r) => {
      fail = r;
    });
    // A transaction that has written, then waits, then fails: everything done in it is rolled back.
    const tx = db
      .$transaction(async (t2) => {
        await t2.user.update({ where: { id: alice.id }, data: { karma: 1 } });
        inside();
        await failing;
        throw new Error('rolled back on purpose');
      })
      .catch((err: Error) => err.message);
    await opened;
    const written = audit.recordMany([{ userId: alice.id, identity: 'irc:alice', room: '#d', command: 'karma', text: 'karma', outcome: 'ok' }]);
    fail();
    expect(await tx).toBe('rolled back on purpose');
    await written;
    expect((await db.user.findUniqueOrThrow({ where: { id: alice.id } })).karma).toBeNull();
    expect(await db.auditEvent.count()).toBe(1);
  });

  it.runIf(TEST_DB === 'sqlite')('SQLite: Prisma and the direct connection read the same rows', async () => {
    t = await tempStore();
    const { users, karma, locks } = t.store;
    const bob = await users.identify({ provider: 'irc', id: 'bob', handle: 'bob' });
    await users.verifyGithub(bob.id, 'bob-gh', new Date('2026-12-01T09:00:00Z'));
    await karma.change({ userId: bob.id, actorId: bob.id, kind: 'like', reason: 'r', at: new Date('2026-12-01T10:00:00Z') });
    await locks.acquire({ app: 'web', environment: 'staging', holderId: bob.id, at: new Date('2026-12-01T11:00:00Z') });
    // A client opened without openDatabase has no direct connection registered: queryRows goes through Prisma.
    const plain = new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: `file:${sqlitePath(t.url)}` }) }) as unknown as Db;
    others.push(plain);
    const viaPrisma = createStore(plain, { karmaInitial: 4 });
    const who = { provider: 'irc' as const, id: 'bob', handle: 'bob' };
    expect(await viaPrisma.users.identify(who)).toEqual(await users.identify(who));
    expect(await viaPrisma.karma.history(bob.id)).toEqual(await karma.history(bob.id));
    expect(await viaPrisma.locks.list()).toEqual(await locks.list());
    expect((await users.identify(who)).githubVerifiedAt).toEqual(new Date('2026-12-01T09:00:00Z'));
  });
});
