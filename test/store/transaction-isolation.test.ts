/**
 * A transaction open on one command's behalf never takes in what another does meanwhile. On PostgreSQL each
 * transaction has a connection of its own; on SQLite Prisma's adapter shares one connection, and without
 * src/store/sqlite-transactions.ts a write made outside the transaction ran inside it: undone with its rollback
 * although the caller saw it succeed, and a read saw the transaction's uncommitted rows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/store/sql.js';
import { transactionWaits } from '../../src/store/sqlite-transactions.js';
import { type TempStore, tempStore } from '../support/db.js';

/**
 * Starts `work` and settles once each part has either finished or started waiting for the open transaction
 * (SQLite's gate says so; on PostgreSQL these reads and writes do not wait). Finishing the transaction before
 * that would let even a broken gate pass: the work would simply come after it. Returns the started work.
 */
async function attempted(start: () => Promise<unknown>[]): Promise<Promise<unknown>[]> {
  let waits = 0;
  let pending = 0;
  let wake!: () => void;
  const settled = new Promise<void>((r) => {
    wake = r;
  });
  const check = () => {
    if (waits >= pending) wake();
  };
  const onWait = () => {
    waits++;
    check();
  };
  transactionWaits.subscribe(onWait);
  try {
    const work = start();
    pending = work.length;
    for (const w of work)
      w.finally(() => {
        pending--;
        check();
      }).catch(() => {});
    check();
    await settled;
    return work;
  } finally {
    transactionWaits.unsubscribe(onWait);
  }
}

/** An interactive transaction that writes, tells the test it did, and ends (commit or failure) when told. */
function openTransaction(t: TempStore, userId: number) {
  let opened!: () => void;
  const inside = new Promise<void>((r) => {
    opened = r;
  });
  let finish!: (how: 'commit' | 'fail') => void;
  const finishing = new Promise<'commit' | 'fail'>((r) => {
    finish = r;
  });
  const done = t.store.db
    .$transaction(
      async (tx) => {
        await tx.user.update({ where: { id: userId }, data: { karma: 99 } });
        opened();
        if ((await finishing) === 'fail') throw new Error('rolled back on purpose');
      },
      { timeout: 30_000 },
    )
    .then(
      () => 'committed',
      (err: Error) => err.message,
    );
  return { inside, finish, done };
}

describe('transactions and what is done beside them', () => {
  let t: TempStore | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('GIVEN a transaction that will roll back WHEN another write is made meanwhile THEN that write stays', async () => {
    t = await tempStore();
    const { users, db } = t.store;
    const alice = await users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const bob = await users.identify({ provider: 'irc', id: 'bob', handle: 'bob' });
    const tx = openTransaction(t, alice.id);
    await tx.inside;
    // Writes another command makes while the transaction is open, one statement each (Prisma runs a write of
    // several statements as a transaction of its own, which waits its turn anyway).
    const written = await attempted(() => [
      db.user.updateMany({ where: { id: bob.id }, data: { karma: 7 } }),
      db.$executeRaw`UPDATE "User" SET "name" = ${'Bob'} WHERE "id" = ${bob.id}`,
    ]);
    tx.finish('fail');
    expect(await tx.done).toBe('rolled back on purpose');
    await Promise.all(written);
    expect((await db.user.findUniqueOrThrow({ where: { id: alice.id } })).karma).toBeNull();
    expect(await db.user.findUniqueOrThrow({ where: { id: bob.id } })).toMatchObject({ karma: 7, name: 'Bob' });
  });

  it('GIVEN an open transaction WHEN a hand-written read runs meanwhile THEN it sees only committed rows', async () => {
    t = await tempStore();
    const { users, db } = t.store;
    const alice = await users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const tx = openTransaction(t, alice.id);
    await tx.inside;
    const [read, modelRead] = (await attempted(() => [
      queryRows<{ karma: number | null }>(db, sql`SELECT "karma" FROM "User" WHERE "id" = ${alice.id}`),
      db.user.findUniqueOrThrow({ where: { id: alice.id } }),
    ])) as [Promise<{ karma: number | null }[]>, Promise<{ karma: number | null }>];
    tx.finish('fail');
    expect(await tx.done).toBe('rolled back on purpose');
    expect((await read)[0]?.karma ?? null).toBeNull();
    expect((await modelRead).karma).toBeNull();
  });

  it('GIVEN an open transaction WHEN it commits THEN writes made beside it are kept too, in order', async () => {
    t = await tempStore();
    const { users, db } = t.store;
    const alice = await users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const tx = openTransaction(t, alice.id);
    await tx.inside;
    const beside = db.user.update({ where: { id: alice.id }, data: { karma: 5 } });
    tx.finish('commit');
    expect(await tx.done).toBe('committed');
    await beside;
    // The write made beside the transaction came after it: its value is the one left.
    expect((await db.user.findUniqueOrThrow({ where: { id: alice.id } })).karma).toBe(5);
  });
});
