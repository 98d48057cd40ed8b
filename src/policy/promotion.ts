/**
 * The promotion-order gate (`requires: staging`): its facts and the pure check, plus the path a SHA took
 * through an app's environments for `status <sha>`.
 *
 *   const facts = await promotionFacts(store, config, { app: 'web', environment: 'production', sha });
 *   promotionCheck(facts) // null | { refuse: 'production requires staging: abc1234 has not succeeded there; …' }
 */
import type { Config } from '../config.js';
import { ago, shortSha } from '../format.js';
import type { Store } from '../store/index.js';

export interface PromotionFacts {
  app: string;
  environment: string;
  sha: string;
  /** The environment that must have run `sha` first; null when the environment requires none. */
  requires: string | null;
  /** The deploy that passed `requires` with this SHA, if any. */
  passed: { id: number } | null;
  /** The newest deploy that passed `requires` (any SHA), if any. */
  lastPassed: { id: number; sha: string } | null;
}

export function promotionCheck(f: PromotionFacts): null | { refuse: string } {
  if (!f.requires || f.passed) return null;
  const head = `${f.environment} requires ${f.requires}: ${shortSha(f.sha)} has not succeeded there`;
  if (!f.lastPassed) return { refuse: `${head}; nothing has yet — deploy ${f.app}/${shortSha(f.sha)} to ${f.requires} first` };
  return {
    refuse: `${head}; the last that did is ${shortSha(f.lastPassed.sha)} (#${f.lastPassed.id}) — deploy ${f.app}/${shortSha(f.sha)} to ${f.requires} first, or deploy ${f.app}/${shortSha(f.lastPassed.sha)} to ${f.environment}`,
  };
}

export async function promotionFacts(
  store: Pick<Store, 'promotion'>,
  config: Pick<Config, 'apps'>,
  input: { app: string; environment: string; sha: string },
): Promise<PromotionFacts> {
  const requires = config.apps[input.app]?.environments[input.environment]?.requires ?? null;
  if (!requires) return { ...input, requires: null, passed: null, lastPassed: null };
  const [passed, lastPassed] = await Promise.all([store.promotion.passed(input.app, requires, input.sha), store.promotion.lastPassed(input.app, requires)]);
  return { ...input, requires, passed, lastPassed };
}

/**
 * An app's environments in promotion order: each after the one it requires (by chain depth), ties in config
 * order. promotionOrder({ production: { requires: 'staging' }, staging: {} }) // ['staging', 'production']
 */
export function promotionOrder(environments: Record<string, { requires?: string | undefined }>): string[] {
  const names = Object.keys(environments);
  const depth = (env: string, seen: string[] = []): number => {
    const r = environments[env]?.requires;
    return r && names.includes(r) && !seen.includes(r) ? 1 + depth(r, [...seen, env]) : 0;
  };
  return names
    .map((n, i) => ({ n, i, d: depth(n) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((x) => x.n);
}

/**
 * `status <sha>`: per app where the SHA succeeded, the environments in promotion order with ✓ and when, or
 * · for not yet. [] when it succeeded nowhere (or the text is not a SHA).
 */
export async function promotionPath(store: Pick<Store, 'promotion'>, config: Pick<Config, 'apps'>, rev: string, now: Date): Promise<string[]> {
  if (!/^[0-9a-f]{7,40}$/i.test(rev)) return [];
  const reached = await store.promotion.reached(rev);
  const apps = [...new Set(reached.map((r) => r.app))];
  return apps.map((app) => {
    const order = promotionOrder(config.apps[app]?.environments ?? {});
    const mine = reached.filter((r) => r.app === app);
    for (const r of mine) if (!order.includes(r.environment)) order.push(r.environment);
    const steps = order.map((env) => {
      const hit = mine.find((r) => r.environment === env);
      return hit ? `${env} ✓ (#${hit.id}${hit.finishedAt ? `, ${ago(hit.finishedAt, now)}` : ''})` : `${env} · not yet`;
    });
    return `path of ${app}: ${steps.join(' → ')}`;
  });
}
