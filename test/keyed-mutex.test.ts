import { describe, expect, it, vi } from 'vitest';
import { KeyedMutex } from '../src/keyed-mutex.js';

/** A promise the test settles by hand, so the interleaving is the test's choice. */
function gate<T = void>() {
  let open!: (value: T) => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

describe('KeyedMutex', () => {
  it('GIVEN two runs on one key THEN the second starts only after the first settled, even when it failed', async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    const first = gate();
    const a = mutex.run('k', async () => {
      order.push('a start');
      await first.promise;
      order.push('a end');
    });
    const b = mutex.run('k', async () => {
      order.push('b');
      return 2;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual(['a start']);
    first.fail(new Error('boom'));
    await expect(a).rejects.toThrow('boom');
    expect(await b).toBe(2);
    expect(order).toEqual(['a start', 'b']);
    await vi.waitFor(() => expect(mutex.size).toBe(0), { timeout: 10_000 });
  });

  it('GIVEN runs on different keys THEN they do not wait for each other', async () => {
    const mutex = new KeyedMutex();
    const held = gate();
    const slow = mutex.run('one', () => held.promise);
    expect(await mutex.run('two', async () => 'free')).toBe('free');
    held.open();
    await slow;
    await vi.waitFor(() => expect(mutex.size).toBe(0), { timeout: 10_000 });
  });
});
