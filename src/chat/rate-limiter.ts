/**
 * The one output rate limiter: a token bucket per key (a room, a channel, or one key for a whole IRC
 * connection). Each key holds up to `burst` tokens and regains `perSecond` of them a second; a send takes one.
 * Waiters on a key are served in call order. The clock and timers are injectable, so tests need no sleeps.
 *
 *   const slack = new RateLimiter({ burst: 1, perSecond: 1 });
 *   await slack.take('C123'); // resolves at once, then at most once a second for that channel
 */

/** Time and timers, injectable so tests can step time by hand. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * performance.now(): only differences are used, and it neither jumps (a wall clock set back would stall the
 * pacing) nor rounds (Date.now()'s whole milliseconds let a 1/s pace send two messages 999.6 ms apart).
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface RateLimitPolicy {
  /** Tokens a key can save up: how many sends may go out back to back after a quiet spell. */
  burst: number;
  /** Steady rate once the burst is spent, in sends per second. */
  perSecond: number;
  clock?: Clock;
}

interface Bucket {
  /** May be negative after penalize(): the key then owes time before its next token. */
  tokens: number;
  updatedAt: number;
  waiters: { resolve(): void; reject(err: Error): void }[];
  timer?: unknown;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly perMs: number;
  private readonly clock: Clock;

  constructor(policy: RateLimitPolicy) {
    this.burst = Math.max(1, policy.burst);
    this.perMs = Math.max(0.01, policy.perSecond) / 1000;
    this.clock = policy.clock ?? systemClock;
  }

  /** Resolves once a token for `key` is taken (after earlier waiters on that key); rejects on stop(). */
  take(key = ''): Promise<void> {
    if (this.tryTake(key)) return Promise.resolve();
    const bucket = this.bucket(key);
    return new Promise((resolve, reject) => {
      bucket.waiters.push({ resolve, reject });
      this.arm(key, bucket);
    });
  }

  /** Takes a token now if one is free and nobody is waiting for one; false otherwise. */
  tryTake(key = ''): boolean {
    const bucket = this.bucket(key);
    if (bucket.waiters.length > 0 || this.refill(bucket) < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Milliseconds until `key` has a token (0: now), not counting waiters already queued. */
  delay(key = ''): number {
    const tokens = this.refill(this.bucket(key));
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.perMs);
  }

  /** No token for `key` before `ms` from now (a server's Retry-After); earlier saved tokens are lost. */
  penalize(key: string, ms: number): void {
    const bucket = this.bucket(key);
    bucket.tokens = Math.min(this.refill(bucket), 1 - ms * this.perMs);
    if (bucket.timer !== undefined) {
      this.clock.clearTimeout(bucket.timer);
      bucket.timer = undefined;
    }
    this.arm(key, bucket);
  }

  /** Cancels every timer and rejects every waiter with `reason` (on shutdown). */
  stop(reason = new Error('rate limiter stopped')): void {
    for (const bucket of this.buckets.values()) {
      if (bucket.timer !== undefined) this.clock.clearTimeout(bucket.timer);
      for (const w of bucket.waiters) w.reject(reason);
    }
    this.buckets.clear();
  }

  private bucket(key: string): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.burst, updatedAt: this.clock.now(), waiters: [] };
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  private refill(bucket: Bucket): number {
    const now = this.clock.now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.updatedAt) * this.perMs);
    bucket.updatedAt = now;
    return bucket.tokens;
  }

  /** Serves waiters while tokens last, then sleeps until the next token; one timer per key at most. */
  private arm(key: string, bucket: Bucket): void {
    if (bucket.timer !== undefined) return;
    while (bucket.waiters.length > 0 && this.refill(bucket) >= 1) {
      bucket.tokens -= 1;
      bucket.waiters.shift()?.resolve();
    }
    if (bucket.waiters.length === 0) {
      // A full, idle bucket is the same as no bucket: forget it so rooms seen once do not pile up.
      if (bucket.tokens >= this.burst) this.buckets.delete(key);
      return;
    }
    bucket.timer = this.clock.setTimeout(() => {
      bucket.timer = undefined;
      this.arm(key, bucket);
    }, this.delay(key));
  }
}
