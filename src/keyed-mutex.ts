/**
 * One at a time per key, in call order, inside this process: a git mirror's fetch and clone, writes to one
 * known_hosts file, the messages to one Slack channel. A failed run does not block the runs after it.
 *
 *   const mirrors = new KeyedMutex();
 *   await mirrors.run('/data/git-cache/web', () => fetchMirror(...)); // waits for the previous run on that key
 */
export class KeyedMutex {
  /** The last run queued per key; removed when it settles and nothing was queued behind it. */
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs fn once every earlier run on `key` has settled; resolves or rejects as fn does. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(() => fn());
    const tail = result.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a run queued or in progress. */
  get size(): number {
    return this.tails.size;
  }
}
