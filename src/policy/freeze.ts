/**
 * The freeze gate: its facts (what freeze holds the environment now) and the pure check on them.
 *
 *   const facts = await freezeFacts(store, config, { environment: 'production', now, force, roles });
 *   const r = freezeCheck(facts); // null | { refuse } | { override }
 */
import type { Config } from '../config.js';
import type { Role } from '../roles.js';
import type { Store } from '../store/index.js';
import { formatClock } from '../zoned-time.js';
import { type ActiveFreeze, activeFreeze, type StoredFreeze } from './freeze-window.js';

export interface FreezeFacts {
  environment: string;
  freeze: ActiveFreeze | null;
  /** The requester asked for `--force`. */
  force: boolean;
  roles: readonly Role[];
  now: Date;
  timezone: string;
  /** How to ask again, for the refusal ("deploy web/main to production"); default "deploy …". */
  retry?: string | undefined;
}

/**
 * null: not frozen. { refuse }: frozen, with the reason, the end as a clock time and what to do.
 * { override }: frozen, but a release manager forced it: the pipeline proceeds and records the override.
 */
export type FreezeVerdict = null | { refuse: string } | { override: string };

/** 'production is frozen until mon 08:00: weekend' (or '… until someone runs `unfreeze production`'). */
export function frozenText(environment: string, freeze: ActiveFreeze, now: Date, timezone: string): string {
  const until = freeze.until ? ` until ${formatClock(freeze.until, now, timezone)}` : '';
  const by = freeze.by ? ` (set by ${freeze.by})` : '';
  return `${environment} is frozen${until}: ${freeze.reason}${by}`;
}

export function freezeCheck(f: FreezeFacts): FreezeVerdict {
  if (!f.freeze) return null;
  const frozen = frozenText(f.environment, f.freeze, f.now, f.timezone);
  const manager = f.roles.includes('release_manager');
  if (f.force && manager) return { override: `${frozen}; forced through by a release manager` };
  const retry = f.retry ?? 'deploy …';
  const wait = f.freeze.until ? `wait until ${formatClock(f.freeze.until, f.now, f.timezone)}` : `wait for \`unfreeze ${f.environment}\``;
  if (f.force) return { refuse: `${frozen} — only a release manager can deploy through a freeze with --force; ask one, or ${wait}` };
  return { refuse: `${frozen} — a release manager can \`${retry} --force\`, or ${wait}` };
}

/** Who set a stored freeze, as chat shows it. */
function setter(row: { createdBy: { name: string; identities: { handle: string }[] } }): string {
  return row.createdBy.identities[0]?.handle ?? row.createdBy.name;
}

/** The freezes in force from the database, in the shape activeFreeze takes. */
export async function storedFreezes(store: Pick<Store, 'freezes'>, now: Date, environment?: string): Promise<StoredFreeze[]> {
  const rows = await store.freezes.inForce(now, environment);
  return rows.map((r) => ({ environment: r.environment, reason: r.reason, until: r.until, by: setter(r) }));
}

/** Gathers the freeze gate's facts: config freezes and stored ones, in the configured zone. */
export async function freezeFacts(
  store: Pick<Store, 'freezes'>,
  config: Pick<Config, 'freezes' | 'timezone'>,
  input: { environment: string; now: Date; force: boolean; roles: readonly Role[]; retry?: string },
): Promise<FreezeFacts> {
  const stored = await storedFreezes(store, input.now, input.environment);
  const freeze = activeFreeze({ freezes: config.freezes, stored, environment: input.environment, now: input.now, timezone: config.timezone });
  return { ...input, freeze, timezone: config.timezone };
}
