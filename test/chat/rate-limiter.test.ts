import { describe, expect, it } from 'vitest';
import { type Clock, RateLimiter } from '../../src/chat/rate-limiter.js';

/** A clock that only moves when the test says so; timers fire in due order as it moves. */
function manualClock(): Clock & { advance(ms: number): Promise<void> } {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      seq += 1;
      timers.set(seq, { at: now + ms, fn });
      return seq;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
        await Promise.resolve(); // let resolved waiters run before the next timer
      }
      now = end;
      await Promise.resolve();
    },
  };
}

function record(limiter: RateLimiter, key: string, clock: Clock, log: string[], label: string): Promise<void> {
  return limiter.take(key).then(() => {
    log.push(`${label}@${clock.now()}`);
  });
}

describe('RateLimiter', () => {
  it('lets a burst through at once, then paces at the steady rate, in call order', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ burst: 2, perSecond: 4, clock });
    const log: string[] = [];
    for (const label of ['a', 'b', 'c', 'd', 'e']) void record(limiter, 'k', clock, log, label);
    await clock.advance(0);
    expect(log).toEqual(['a@0', 'b@0']);
    await clock.advance(1000);
    expect(log).toEqual(['a@0', 'b@0', 'c@250', 'd@500', 'e@750']);
  });

  it('keeps keys independent', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ burst: 1, perSecond: 1, clock });
    const log: string[] = [];
    void record(limiter, 'room1', clock, log, 'r1a');
    void record(limiter, 'room1', clock, log, 'r1b');
    void record(limiter, 'room2', clock, log, 'r2a');
    await clock.advance(0);
    expect(log).toEqual(['r1a@0', 'r2a@0']);
    await clock.advance(1000);
    expect(log).toEqual(['r1a@0', 'r2a@0', 'r1b@1000']);
  });

  it('refills only up to the burst after a quiet spell', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ burst: 3, perSecond: 1, clock });
    for (let i = 0; i < 3; i++) expect(limiter.tryTake('k')).toBe(true);
    expect(limiter.tryTake('k')).toBe(false);
    expect(limiter.delay('k')).toBe(1000);
    await clock.advance(60_000);
    for (let i = 0; i < 3; i++) expect(limiter.tryTake('k')).toBe(true);
    expect(limiter.tryTake('k')).toBe(false);
  });

  it('tryTake does not jump ahead of queued waiters', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ burst: 1, perSecond: 1, clock });
    expect(limiter.tryTake('k')).toBe(true);
    const log: string[] = [];
    void record(limiter, 'k', clock, log, 'waiter');
    await clock.advance(1000);
    expect(limiter.tryTake('k')).toBe(false);
    expect(log).toEqual(['waiter@1000']);
  });

  it('penalize holds the key for the given time (Retry-After), then resumes the steady rate', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ burst: 5, perSecond: 1, clock });
    limiter.penalize('k', 3000);
    const log: string[] = [];
    void record(limiter, 'k', clock, log, 'a');
    void record(limiter, 'k', clock, log, 'b');
    await clock.advance(2999);
    expect(log).toEqual([]);
    await clock.advance(1);
    expect(log).toEqual(['a@3000']);
    await clock.advance(1000);
    expect(log).toEqual(['a@3000', 'b@4000']);
  });

  it('stop rejects waiters and cancels timers', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ burst: 1, perSecond: 1, clock });
    await limiter.take('k');
    const waiting = limiter.take('k');
    limiter.stop(new Error('adapter stopped'));
    await expect(waiting).rejects.toThrow('adapter stopped');
  });
});
