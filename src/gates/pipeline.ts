/**
 * The one gate pipeline (SPEC "Gates"): a pure function from what is known about a change to an environment
 * (the facts) to proceed | refuse(reason) | ask(question). Every way into an environment (deploy, rollback,
 * push ship, PR deploys and automatic deploys) calls it through src/gates/runner.ts.
 *
 *   const outcome = evaluateGates(facts); // { kind: 'ask', gates: ['confirm'], question: 'about to deploy … — answer `yes` …' }
 *   evaluateGates({ ...facts, answers: { confirm: 'yes' } }); // { kind: 'proceed', notes: [], overrides: [], approvals: null }
 *
 * Adding a gate (freeze, requires, approvals): add its optional fact to GateFacts (absent = the gate has
 * nothing to say and passes), write `const freezeGate: Gate = { name: 'freeze', check(f) { … } }` in
 * src/gates/gates.ts, put it in GATES, and give the runner's gatherFacts the fact. GATES is kept in
 * GATE_ORDER (a test checks), so the place in the list is the place in SPEC's order.
 */
import { CONFIRM_TIMEOUT_MS, type Answer } from '../command.js';
import type { EnvironmentConfig } from '../config.js';
import type { CiState } from '../github.js';
import type { Role } from '../roles.js';
import type { HeldLock } from '../store/locks.js';
import type { CommitsBehind } from '../format.js';
import type { ActiveFreeze } from '../policy/freeze-window.js';
import type { PromotionFacts } from '../policy/promotion.js';

/** SPEC's order; GATES lists the gates in it (a test checks). */
export const GATE_ORDER = ['roles', 'freeze', 'lock', 'requires', 'ci', 'direction', 'confirm', 'approvals'] as const;
export type GateName = (typeof GATE_ORDER)[number];

/** Who comes in: the chat commands (deploy, rollback, push ship, a PR deploy) and the automatic deploy. */
export type Entry = 'deploy' | 'rollback' | 'push ship' | 'pr deploy' | 'auto deploy';

/** How the change moves the environment, relative to the SHA live there now. */
export type Direction =
  | { kind: 'first' }
  | { kind: 'same' }
  | { kind: 'ahead'; count: number | null }
  /** head is an ancestor of what runs: going back `behind.total` commits (CommitList.behind). */
  | { kind: 'behind'; behind: CommitsBehind }
  /** Not known: no comparison possible (git/GitHub could not tell), or not relevant (rollback). */
  | { kind: 'unknown' };

/** The environment's rules from shepherd.yml that the gates read; approvals are optional (absent: none). */
export type EnvironmentRules = Pick<EnvironmentConfig, 'allowed_roles' | 'require_green_ci' | 'confirm'> &
  Partial<Pick<EnvironmentConfig, 'approvals' | 'approval_window'>>;

/** What the approvals gate asks of a deploy that passes: wait for `needed` release managers within `windowMs`. */
export interface ApprovalNeed {
  needed: number;
  windowMs: number;
}

/**
 * Everything the gates decide on. Required facts are the ones every entry point has today; a new gate adds an
 * OPTIONAL fact, so entry points that do not gather it yet still compile and that gate passes.
 */
export interface GateFacts {
  entry: Entry;
  app: string;
  environment: string;
  rules: EnvironmentRules;
  /** Who asks, with their roles; a system entry (auto deploy) passes `system: true`. */
  actor: { name: string; roles: readonly Role[]; system?: boolean };
  /** release_managers from shepherd.yml, named in a roles refusal. */
  releaseManagers: readonly string[];
  /** What goes where, for questions after 'about to ': 'deploy web/main (3f78685) to production on 2 host(s)'. */
  subject: string;
  /** The command that asks again, for refusals that say "… or `<retry> --force`"; null when there is none. */
  retry: string | null;
  /** The SHA that would run; null when not known yet (push ship before its branch is pushed). */
  sha: string | null;
  /** What runs there now (for "stays on …"); null for a first deploy. */
  liveSha: string | null;
  force: boolean;
  /** The lock standing in the way, if any: held by hand refuses; held by a deploy queues (passes). */
  lock: HeldLock | null;
  /** CI of `sha`: null = nobody can tell (no GitHub); undefined = not known yet (push ship asks again later). */
  ci?: CiState | null | undefined;
  direction: Direction;
  /** Answers to earlier questions, by the gate that asked. */
  answers: Partial<Record<GateName, Answer>>;
  now: Date;
  /** Chat network, for how lock holders are named. */
  provider?: string | undefined;
  /** The freeze holding the environment now (shepherd.yml or chat) and the zone its end is shown in; absent or null: not frozen. */
  freeze?: { active: ActiveFreeze; timezone: string } | null | undefined;
  /** Promotion order (`requires`) for `sha`; absent or null: nothing required, or not known yet (push ship before its push). */
  promotion?: PromotionFacts | null | undefined;
}

/**
 * What one gate says. A pass may carry a note (shown in the start message), an override (recorded), or the
 * approvals the deploy waits for once recorded (the approvals gate).
 */
export type GateVerdict =
  | { pass: true; note?: string | undefined; override?: string | undefined; approvals?: ApprovalNeed | undefined }
  | { pass: false; refuse: string }
  | { pass: false; ask: string };

export interface Gate {
  name: GateName;
  check(facts: GateFacts): GateVerdict;
}

export interface Override {
  gate: GateName;
  what: string;
}

export type GateOutcome =
  /** `approvals`: the deploy is recorded awaiting that many approvals (null: it goes ahead at once). */
  | { kind: 'proceed'; notes: string[]; overrides: Override[]; approvals: ApprovalNeed | null }
  | { kind: 'refuse'; gate: GateName; reason: string; notes: string[]; overrides: Override[] }
  /** One question for every gate that asked; a `yes` answers all of them (answers[gate] = 'yes'). */
  | { kind: 'ask'; gates: GateName[]; question: string; notes: string[]; overrides: Override[] };

/**
 * Joins the gates' questions into one, so a backwards deploy to a confirm environment is asked once:
 * 'about to deploy web/v1 (3f78685) to production on 2 host(s): it goes back 3 commits: … — answer `yes` within 60s to go on'.
 * A gate with nothing to add to the subject asks with ''.
 */
export function questionOf(subject: string, parts: string[]): string {
  const extra = parts.filter(Boolean);
  return `about to ${subject}${extra.length ? `: ${extra.join('; ')}` : ''} — answer \`yes\` within ${CONFIRM_TIMEOUT_MS / 1000}s to go on`;
}

/**
 * Runs the gates in order. A refusal ends it at once (a later refusal wins over an earlier question: nobody
 * is asked to confirm what would be refused anyway); the questions of every asking gate become one.
 */
export function evaluateGates(facts: GateFacts, gates: readonly Gate[]): GateOutcome {
  const notes: string[] = [];
  const overrides: Override[] = [];
  const asking: { gate: GateName; question: string }[] = [];
  let approvals: ApprovalNeed | null = null;
  for (const gate of gates) {
    const verdict = gate.check(facts);
    if (verdict.pass) {
      if (verdict.note) notes.push(verdict.note);
      if (verdict.override) overrides.push({ gate: gate.name, what: verdict.override });
      if (verdict.approvals) approvals = verdict.approvals;
    } else if ('refuse' in verdict) return { kind: 'refuse', gate: gate.name, reason: verdict.refuse, notes, overrides };
    else asking.push({ gate: gate.name, question: verdict.ask });
  }
  if (asking.length > 0) {
    return {
      kind: 'ask',
      gates: asking.map((a) => a.gate),
      question: questionOf(
        facts.subject,
        asking.map((a) => a.question),
      ),
      notes,
      overrides,
    };
  }
  return { kind: 'proceed', notes, overrides, approvals };
}
