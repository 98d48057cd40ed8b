/**
 * `push ship` to an environment with `require_green_ci`: the push branch head was pushed a moment ago, so its
 * CI has only just started. Waits for it, bounded, saying in chat what it waits for ("waiting for CI on
 * 3f78685 (3 checks pending)"), and ends green, red (naming the failing checks) or out of time.
 *
 *   const r = await waitForGreenCi({ github, repo: 'acme/web', sha, say: (t) => ctx.reply(t) });
 *   if (!r.ok) deployError = r.reason;
 */
import type { CiCheck, GitHub } from '../github.js';
import { withGitHubBudget } from '../github-deadline.js';
import { short } from './messages.js';

export interface CiWaitOptions {
  /** How long to wait for CI to finish (default 10 minutes). */
  timeoutMs?: number;
  /** How often to ask GitHub (default 15 s). */
  pollMs?: number;
}

export const CI_WAIT_DEFAULTS = { timeoutMs: 10 * 60_000, pollMs: 15_000 } as const;

export type CiWaitResult = { ok: true; checks: CiCheck[] } | { ok: false; reason: string };

/** Polls the head's checks until none is pending; any failure ends it at once. GitHub failures throw (GitHubError). */
export async function waitForGreenCi(input: {
  github: Pick<GitHub, 'ciChecks'>;
  repo: string;
  sha: string;
  say: (text: string) => Promise<void>;
  options?: CiWaitOptions | undefined;
  now?: () => number;
}): Promise<CiWaitResult> {
  const timeoutMs = input.options?.timeoutMs ?? CI_WAIT_DEFAULTS.timeoutMs;
  const pollMs = input.options?.pollMs ?? CI_WAIT_DEFAULTS.pollMs;
  const now = input.now ?? Date.now;
  const until = now() + timeoutMs;
  let told = '';
  for (;;) {
    // Each round has a GitHub deadline of its own: a long wait of quick answers must not use up the command's.
    const checks = await withGitHubBudget(() => input.github.ciChecks(input.repo, input.sha));
    const failing = checks.filter((c) => c.state === 'failure');
    if (failing.length > 0) {
      return {
        ok: false,
        reason: `CI failed on ${short(input.sha)}: ${failing.map((c) => `${c.name}: ${c.conclusion}`).join(', ')} — fix it on the push branch`,
      };
    }
    const pending = checks.filter((c) => c.state === 'pending');
    // Green once every check passed. No check at all may mean CI has not picked the push up yet: wait for it too.
    if (checks.length > 0 && pending.length === 0) return { ok: true, checks };
    const what = checks.length === 0 ? 'no checks reported yet' : `${pending.length} check${pending.length === 1 ? '' : 's'} pending`;
    // Said again only when it changed, so a long wait is not a wall of the same line.
    if (what !== told) {
      told = what;
      await input.say(`⏳ waiting for CI on ${short(input.sha)} (${what})`);
    }
    if (now() + pollMs > until) {
      const names = pending.length ? `: ${pending.map((c) => c.name).join(', ')}` : '';
      return { ok: false, reason: `CI on ${short(input.sha)} did not finish within ${formatWait(timeoutMs)} (${what}${names})` };
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function formatWait(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
