/**
 * Every gate, one entry each, in SPEC's order (roles, freeze, lock, requires, CI, direction, confirmation,
 * approvals); see src/gates/pipeline.ts for how they combine.
 *
 *   evaluateGates(facts, GATES)
 */
import { goesBack, lockLine, lockScope, shortSha } from '../format.js';
import { freezeCheck } from '../policy/freeze.js';
import { promotionCheck } from '../policy/promotion.js';
import { ROLE_LABEL } from '../roles.js';
import type { Entry, EnvironmentRules, Gate, GateFacts } from './pipeline.js';

export type { Entry };

/** What the actor is doing, as the roles refusal says it: 'only a release manager can roll back web/production'. */
const DOING: Record<Entry, string> = {
  deploy: 'deploy to',
  rollback: 'roll back',
  'push ship': 'ship the push to',
  'pr deploy': 'deploy a pull request to',
  'auto deploy': 'deploy to',
};

const where = (f: GateFacts) => `${f.app}/${f.environment}`;

/** 'cancelled: not confirmed — web/production stays on 3f78685'. */
function notConfirmed(f: GateFacts, answer: string): string {
  const why = answer === 'timeout' ? 'no answer in time' : 'not confirmed';
  return `cancelled: ${why} — ${where(f)} stays on ${f.liveSha ? shortSha(f.liveSha) : 'what it runs now'}, nothing was deployed`;
}

/** The roles refusal, or null when the actor may: shared by the gate and commands that check it before a lookup. */
export function rolesRefusal(
  entry: Entry,
  app: string,
  environment: string,
  rules: Pick<EnvironmentRules, 'allowed_roles'>,
  actor: GateFacts['actor'],
  releaseManagers: readonly string[],
): string | null {
  if (actor.system || rules.allowed_roles.some((r) => actor.roles.includes(r))) return null;
  const names = rules.allowed_roles.map((r) => ROLE_LABEL[r]).join(' or ');
  const managers = releaseManagers.join(', ');
  return `only a ${names} can ${DOING[entry]} ${app}/${environment}${managers ? ` — ask one of: ${managers}` : ''}`;
}

/** allowed_roles: who may change this environment at all (and so who may --force). */
export const rolesGate: Gate = {
  name: 'roles',
  check(f) {
    const refusal = rolesRefusal(f.entry, f.app, f.environment, f.rules, f.actor, f.releaseManagers);
    return refusal ? { pass: false, refuse: refusal } : { pass: true };
  },
};

/**
 * A freeze (shepherd.yml window or `freeze <env>`) stops every way in, automatic ones too; `--force` by a
 * release manager goes through and is recorded as an override. The refusal names the reason and the end.
 */
export const freezeGate: Gate = {
  name: 'freeze',
  check(f) {
    if (!f.freeze) return { pass: true };
    const verdict = freezeCheck({
      environment: f.environment,
      freeze: f.freeze.active,
      force: f.force,
      roles: f.actor.roles,
      now: f.now,
      timezone: f.freeze.timezone,
      retry: f.retry ?? undefined,
    });
    if (!verdict) return { pass: true };
    if ('override' in verdict) return { pass: true, override: `${verdict.override} (${f.actor.name}, --force)` };
    return { pass: false, refuse: verdict.refuse };
  },
};

/** A lock taken by hand stops every way in; a deploy's lock only queues (the deployer re-checks atomically). */
export const lockGate: Gate = {
  name: 'lock',
  check(f) {
    if (!f.lock || f.lock.deployId !== null) return { pass: true };
    return { pass: false, refuse: `${lockLine(f.lock, f.now, f.provider)} — deploys wait until it is unlocked (\`unlock ${lockScope(f.lock)}\`)` };
  },
};

/**
 * requires: the SHA must have succeeded (after its validation, if any) in the required environment first.
 * A rollback goes back to a release that already ran here, so it is not asked again; --force does not skip it.
 */
export const requiresGate: Gate = {
  name: 'requires',
  check(f) {
    if (f.entry === 'rollback' || !f.promotion) return { pass: true };
    const verdict = promotionCheck(f.promotion);
    return verdict ? { pass: false, refuse: verdict.refuse } : { pass: true };
  },
};

const CI_WORDS: Record<string, string> = { none: 'not reported (no CI status at all)', failure: 'red', pending: 'still running' };

/**
 * require_green_ci: the SHA's CI must be green; --force (by allowed roles, the roles gate came first) skips it.
 * A rollback goes back to a release that already passed the gates when it went out, so CI is not asked again.
 */
export const ciGate: Gate = {
  name: 'ci',
  check(f) {
    if (f.entry === 'rollback' || f.ci === undefined || f.sha === null) return { pass: true };
    if (f.ci === null) return { pass: true, note: `GitHub not configured for ${f.app}: CI not checked, no GitHub deployment` };
    if (!f.rules.require_green_ci || f.ci === 'success') return { pass: true };
    const state = CI_WORDS[f.ci] ?? f.ci;
    if (f.force) return { pass: true, override: `CI is ${state}: check skipped with --force by ${f.actor.name}` };
    return {
      pass: false,
      refuse: `CI for ${shortSha(f.sha)} is ${state} and ${where(f)} requires green CI — wait for it${f.retry ? `, or \`${f.retry} --force\` to skip the check` : ''}`,
    };
  },
};

/**
 * Going back: a deploy of an ancestor of what runs is named ("goes back 3 commits: …") and needs a yes, or
 * --force by allowed roles. `rollback` is the named way back and passes.
 */
export const directionGate: Gate = {
  name: 'direction',
  check(f) {
    if (f.entry === 'rollback' || f.direction.kind !== 'behind') return { pass: true };
    const back = goesBack(f.direction.behind);
    if (f.force) return { pass: true, override: `${back}: allowed with --force by ${f.actor.name}` };
    const answer = f.answers.direction;
    if (answer === 'yes') return { pass: true, note: `${back}: confirmed by ${f.actor.name}` };
    if (answer) return { pass: false, refuse: notConfirmed(f, answer) };
    return { pass: false, ask: `it ${back}${f.liveSha ? ` (${f.environment} runs ${shortSha(f.liveSha)})` : ''}` };
  },
};

/** confirm: true — the requester answers `yes` (the question names what goes where). */
export const confirmGate: Gate = {
  name: 'confirm',
  check(f) {
    if (!f.rules.confirm) return { pass: true };
    const answer = f.answers.confirm;
    if (answer === 'yes') return { pass: true };
    if (answer) return { pass: false, refuse: notConfirmed(f, answer) };
    return { pass: false, ask: '' };
  },
};

/** Without approval_window in the rules: SPEC's default, 30 minutes. */
export const DEFAULT_APPROVAL_WINDOW_MS = 30 * 60_000;

/**
 * approvals: N — the deploy is recorded `awaiting_approval` and waits for N release managers other than the
 * requester (`approve deploy <id>`) within approval_window. --force does not skip it: it is the second pair of
 * eyes. A rollback goes back to a release that was approved when it went out (as requires and CI), and must not
 * wait half an hour while production is broken; it locks the environment instead (lock_after_rollback).
 */
export const approvalsGate: Gate = {
  name: 'approvals',
  check(f) {
    const needed = f.rules.approvals ?? 0;
    // sha null: push ship before its push; the round for the pushed head decides (once, for the deploy it asks for).
    if (f.entry === 'rollback' || needed <= 0 || f.sha === null) return { pass: true };
    return { pass: true, approvals: { needed, windowMs: f.rules.approval_window ?? DEFAULT_APPROVAL_WINDOW_MS } };
  },
};

/** Every gate, in GATE_ORDER. */
export const GATES: readonly Gate[] = [rolesGate, freezeGate, lockGate, requiresGate, ciGate, directionGate, confirmGate, approvalsGate];
