/**
 * Keeps statements made outside a transaction out of the transaction Prisma holds open on SQLite's connection.
 *
 * Prisma's better-sqlite3 adapter runs everything on one connection. An interactive transaction takes the
 * adapter's mutex and sends BEGIN; but a query made meanwhile *outside* it (another command's write, a
 * heartbeat) does not take that mutex: it runs on the same connection, inside the open transaction, sees its
 * uncommitted rows and is undone with it if it rolls back — a write the caller saw succeed, silently gone.
 * This gate makes such a statement wait until the open transaction has ended (as a second connection would).
 *
 *   const gate = gateTransactions(adapter, client);   // once, on connect
 *   await gate.outside();                              // before a hand-written statement on `client`
 */
import { channel } from 'node:diagnostics_channel';
import type Database from 'better-sqlite3';

/** Told each time a statement or a transaction starts waiting for the open transaction to end (tests, diagnostics). */
export const transactionWaits = channel('shepherd:sqlite:transaction-wait');

/** What this needs of Prisma's driver adapter (`SqlDriverAdapter` and its `Transaction`). */
interface AdapterTransaction {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}
interface Adapter {
  startTransaction(isolationLevel?: never): Promise<AdapterTransaction>;
  queryRaw(query: never): Promise<unknown>;
  executeRaw(query: never): Promise<unknown>;
  executeScript(script: never): Promise<unknown>;
}

/** A promise with its resolve (Promise.withResolvers is Node 22+). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export interface TransactionGate {
  /** Resolves when no transaction of Prisma's is open on the connection (at once when none is). */
  outside(): Promise<void>;
  /** Whether Prisma holds a transaction open on the connection now. */
  readonly open: boolean;
}

/**
 * Wraps `adapter` (Prisma's better-sqlite3 adapter on `client`) in place: its statements outside a transaction
 * wait for the open one to end; a transaction rolled back after its COMMIT was refused is ended for real, so the
 * connection never stays inside it (the adapter only releases its mutex there).
 */
export function gateTransactions(adapter: Adapter, client: Database.Database): TransactionGate {
  let openCount = 0;
  let ended = signal();
  const end = () => {
    openCount--;
    const done = ended;
    ended = signal();
    done.resolve();
  };
  const gate: TransactionGate = {
    get open() {
      return openCount > 0 && client.inTransaction;
    },
    async outside() {
      // openCount counts transactions asked for and not ended (so the moment between BEGIN and the wrapper
      // seeing it is covered); inTransaction is SQLite's own word, so nothing waits when none is open after all.
      while (openCount > 0 && client.inTransaction) {
        if (transactionWaits.hasSubscribers) transactionWaits.publish(null);
        await ended.promise;
      }
    },
  };

  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (isolationLevel) => {
    // One transaction at a time: the adapter's mutex queues this one behind the open one.
    if (gate.open && transactionWaits.hasSubscribers) transactionWaits.publish(null);
    openCount++;
    let tx: AdapterTransaction;
    try {
      tx = await startTransaction(isolationLevel);
    } catch (err) {
      end();
      throw err;
    }
    const commit = tx.commit.bind(tx);
    const rollback = tx.rollback.bind(tx);
    let closed = false;
    const close = async (finish: () => Promise<void>) => {
      try {
        await finish();
      } finally {
        if (!closed) {
          closed = true;
          end();
        }
      }
    };
    tx.commit = () => close(commit);
    tx.rollback = () => {
      // Prisma rolls back after a refused COMMIT (SQLITE_BUSY) or a failed ROLLBACK statement: SQLite may still be
      // inside the transaction, and the adapter's rollback() only releases its mutex. End it here, before the
      // next transaction can BEGIN, so nothing made later joins it.
      if (client.inTransaction) {
        try {
          client.exec('ROLLBACK');
        } catch {
          // Already ended.
        }
      }
      return close(rollback);
    };
    return tx;
  };
  for (const method of ['queryRaw', 'executeRaw', 'executeScript'] as const) {
    const original = adapter[method].bind(adapter);
    adapter[method] = async (arg: never) => {
      if (gate.open) await gate.outside();
      return original(arg);
    };
  }
  return gate;
}
