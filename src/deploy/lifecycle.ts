/**
 * The one declared lifecycle of a deploy and of each of its hosts: which state may follow which. The store
 * applies every change as a conditional write (`… WHERE state IN (fromStates(to))`), so a writer that lost a
 * race learns it (false) instead of overwriting. Adding a state is one entry here.
 *
 *   fromStates('cancelled')            // ['queued', 'running']
 *   canMove('succeeded', 'running')    // false
 */

/** Deploy state → the states it may move to. Terminal states move nowhere. */
export const DEPLOY_TRANSITIONS = {
  /** `approvals: N`: waits, holding no lock, for N release managers (→ queued) or the window's end (→ cancelled). */
  awaiting_approval: ['queued', 'cancelled'],
  queued: ['running', 'cancelled'],
  running: ['validating', 'succeeded', 'failed', 'cancelled', 'interrupted'],
  /**
   * `validate:` of the environment: every host switched, checks run for the window (lock held, heartbeating).
   * Passed → succeeded; failed → every switched host back, failed; `cancel` ends the checks and keeps the
   * release (succeeded, validation 'cancelled'); the bot dying → interrupted, hosts left as they are.
   */
  validating: ['succeeded', 'failed', 'interrupted'],
  succeeded: [],
  failed: [],
  cancelled: [],
  interrupted: [],
} as const satisfies Record<string, readonly string[]>;

export type DeployState = keyof typeof DEPLOY_TRANSITIONS;

/** States in which one instance owns a deploy, heartbeats it and may be asked to cancel it. */
export const OWNED_STATES = ['running', 'validating'] as const satisfies readonly DeployState[];

/** What a validation window ended with (Deploy.validation); null: the environment does not validate. */
export type ValidationOutcome = 'passed' | 'failed' | 'cancelled';

/** Host state → the states it may move to (a switched host may be switched back: rolled_back). */
export const HOST_TRANSITIONS = {
  pending: ['running', 'skipped', 'cancelled'],
  running: ['succeeded', 'failed', 'cancelled'],
  succeeded: ['rolled_back'],
  // A host that failed after it switched (a crash mid-prune) is still switched back.
  failed: ['rolled_back'],
  cancelled: [],
  skipped: [],
  rolled_back: [],
} as const satisfies Record<string, readonly string[]>;

export type HostState = keyof typeof HOST_TRANSITIONS;

/** A deploy that no longer changes. */
export type FinalDeployState = { [S in DeployState]: (typeof DEPLOY_TRANSITIONS)[S] extends readonly [] ? S : never }[DeployState];

function sources<S extends string>(table: Record<S, readonly string[]>, to: S): S[] {
  return (Object.keys(table) as S[]).filter((from) => table[from].includes(to));
}

/** The deploy states from which `to` may be reached. */
export function fromStates(to: DeployState): DeployState[] {
  return sources(DEPLOY_TRANSITIONS, to);
}

/** The host states from which `to` may be reached. */
export function hostFromStates(to: HostState): HostState[] {
  return sources(HOST_TRANSITIONS, to);
}

export function canMove(from: DeployState, to: DeployState): boolean {
  return (DEPLOY_TRANSITIONS[from] as readonly string[]).includes(to);
}

/** States a deploy is still in play in (queued or running, and any later waiting state). */
export function isLive(state: string): boolean {
  return state in DEPLOY_TRANSITIONS && DEPLOY_TRANSITIONS[state as DeployState].length > 0;
}
