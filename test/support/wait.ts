/**
 * The tests' one waiting helper, on vi.waitFor: waits until `check` gives a truthy value and returns it.
 * It adds what vi.waitFor lacks: a falsy result means "not yet" (vi.waitFor only retries on a throw), and a
 * timeout names what was awaited. Use it for state another process or a database writes, where there is no
 * event to listen to; prefer an event when there is one.
 *
 *   const pid = await waitUntil('the step to start', () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')));
 */
import { vi } from 'vitest';

export function waitUntil<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await check();
      if (!value) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      return value;
    },
    { timeout: timeoutMs, interval: 20 },
  );
}
