/**
 * The gate runner: gathers the facts for an entry point, calls the pure pipeline, asks the question of an
 * `ask` outcome (ctx.confirm) and evaluates again with the answer, and records overrides, answers and
 * refusals (and the approvals a deploy waits for) as decision rows of the audit trail. Without a way to ask
 * (webhook, auto deploy) an `ask` refuses with the question.
 *
 *   const facts = await gatherFacts(sources, { entry: 'deploy', app, environment, plan, ref, sha, actor, force, subject, retry, provider });
 *   const decision = await runGates(facts, { confirm: (q) => ctx.confirm(q), audit: store.audit, who });
 *   if (!decision.ok) throw new Refusal(decision.reason);
 *   await deployer.request({ ...request, approvals: decision.approvals });
 */
import type { Answer } from '../command.js';
import type { Config } from '../config.js';
import { formatDuration } from '../duration.js';
import { shortSha } from '../format.js';
import type { Plan } from '../deploy/plan.js';
import { activeFreeze } from '../policy/freeze-window.js';
import { storedFreezes } from '../policy/freeze.js';
import { promotionFacts } from '../policy/promotion.js';
import type { Revisions } from '../deploy/source.js';
import type { Audit, Decision } from '../store/audit.js';
import type { Store } from '../store/index.js';
import { GATES } from './gates.js';
import {
  type ApprovalNeed,
  type Direction,
  type Entry,
  evaluateGates,
  type Gate,
  type GateFacts,
  type GateName,
  GATE_ORDER,
  type Override,
} from './pipeline.js';

/** Where facts come from: the store (locks, what runs, freezes, promotion), revisions (CI, commits), the config, the clock. */
export interface FactSources {
  config: Pick<Readonly<Config>, 'apps' | 'release_managers' | 'freezes' | 'timezone'>;
  store: Pick<Store, 'locks' | 'deploys' | 'freezes' | 'promotion'>;
  revisions: Pick<Revisions, 'ciState' | 'commits'>;
  now: Date;
}

export interface FactsInput {
  entry: Entry;
  app: string;
  environment: string;
  plan: Pick<Plan, 'appConfig' | 'repoUrl'>;
  /** null while not known yet (push ship before the branch is pushed): CI and direction wait for it. */
  sha: string | null;
  actor: GateFacts['actor'];
  force: boolean;
  subject: string;
  retry: string | null;
  provider?: string | undefined;
  answers?: GateFacts['answers'];
}

/**
 * Reads every fact the gates need. GitHub/git failures reading CI throw (the caller says so in one line);
 * a commit list that cannot be read leaves the direction unknown.
 */
export async function gatherFacts(src: FactSources, input: FactsInput): Promise<GateFacts> {
  // Own keys only: 'constructor' or '__proto__' must not find Object's members.
  const app = Object.hasOwn(src.config.apps, input.app) ? src.config.apps[input.app] : undefined;
  const rules = app && Object.hasOwn(app.environments, input.environment) ? app.environments[input.environment] : undefined;
  if (!rules) throw new Error(`${input.app} has no environment "${input.environment}"`);
  const sha = input.sha;
  // A rollback passes requires, CI and direction by design (see gates.ts): nothing to look up.
  const lookUp = sha !== null && input.entry !== 'rollback';
  const [lock, live, stored, promotion] = await Promise.all([
    src.store.locks.blocking(input.app, input.environment),
    src.store.deploys.current(input.app, input.environment),
    storedFreezes(src.store, src.now, input.environment),
    lookUp ? promotionFacts(src.store, src.config, { app: input.app, environment: input.environment, sha }) : null,
  ]);
  const liveSha = live?.sha ?? null;
  const frozen = activeFreeze({ freezes: src.config.freezes, stored, environment: input.environment, now: src.now, timezone: src.config.timezone });
  const ci = lookUp ? await src.revisions.ciState(input.plan, sha) : undefined;
  let direction: Direction = { kind: 'unknown' };
  if (lookUp) {
    if (!liveSha) direction = { kind: 'first' };
    else if (liveSha === sha) direction = { kind: 'same' };
    else {
      const list = await src.revisions.commits(input.plan, liveSha, sha, 10).catch(() => null);
      if (list?.behind) direction = { kind: 'behind', behind: list.behind };
      else if (list) direction = { kind: 'ahead', count: list.total };
    }
  }
  return {
    entry: input.entry,
    app: input.app,
    environment: input.environment,
    rules,
    actor: input.actor,
    releaseManagers: src.config.release_managers,
    subject: input.subject,
    retry: input.retry,
    sha,
    liveSha,
    force: input.force,
    lock,
    ci,
    direction,
    answers: input.answers ?? {},
    now: src.now,
    provider: input.provider,
    freeze: frozen ? { active: frozen, timezone: src.config.timezone } : null,
    promotion,
  };
}

export interface GateIo {
  /** Asks the requester a yes/no question (ctx.confirm). Absent where nobody can answer: an ask refuses. */
  confirm?: ((question: string) => Promise<Answer>) | undefined;
  /** The audit trail; every refusal, override, question and approval requirement is a decision row there. */
  audit?: Pick<Audit, 'recordDecision'> | undefined;
  /** Who the audit rows are about. */
  who?: { userId: number | null; identity: string; room: string } | undefined;
  now?: Date | undefined;
}

export type GateDecision =
  | {
      ok: true;
      notes: string[];
      overrides: Override[];
      answers: GateFacts['answers'];
      /** The approvals the deploy waits for (the approvals gate); null: it goes ahead once recorded. */
      approvals: ApprovalNeed | null;
      /** Ids of the audit rows written for this pass, to link to the deploy once it is recorded (Audit.linkDeploy). */
      audited: number[];
    }
  | { ok: false; gate: GateName; reason: string };

/** Evaluates, asks while the pipeline asks (each gate at most once), and records every decision worth auditing. */
export async function runGates(facts: GateFacts, io: GateIo = {}, gates: readonly Gate[] = GATES): Promise<GateDecision> {
  const answers = { ...facts.answers };
  const audited: number[] = [];
  const note = async (gate: string, decision: Decision, detail: string) => {
    const id = await record(facts, io, gate, decision, detail);
    if (id !== null) audited.push(id);
  };
  for (let round = 0; round <= GATE_ORDER.length; round++) {
    const outcome = evaluateGates({ ...facts, answers }, gates);
    if (outcome.kind === 'ask') {
      // A gate that asks again after its answer would loop: refuse instead.
      if (outcome.gates.some((g) => answers[g] !== undefined)) return refuse(facts, io, outcome.gates[0] as GateName, 'the gates asked twice');
      if (!io.confirm) {
        return refuse(facts, io, outcome.gates[0] as GateName, `needs a yes that nobody can give here: ${outcome.question.replace(/ — answer .*$/, '')}`);
      }
      const answer = await io.confirm(outcome.question);
      for (const g of outcome.gates) {
        answers[g] = answer;
        await note(g, 'asked', `${outcome.question.replace(/ — answer .*$/, '')} → ${answer}`);
      }
      continue;
    }
    if (outcome.kind === 'refuse') return refuse(facts, io, outcome.gate, outcome.reason);
    for (const o of outcome.overrides) await note(o.gate, 'override', o.what);
    if (outcome.approvals) {
      const n = outcome.approvals.needed;
      await note(
        'approvals',
        'waiting',
        `waits for ${n} approval${n === 1 ? '' : 's'} by a release manager other than ${facts.actor.name}, within ${formatDuration(outcome.approvals.windowMs)}`,
      );
    }
    return {
      ok: true,
      notes: [...outcome.notes, ...outcome.overrides.map((o) => o.what)],
      overrides: outcome.overrides,
      answers,
      approvals: outcome.approvals,
      audited,
    };
  }
  return refuse(facts, io, 'confirm', 'the gates kept asking');
}

async function refuse(facts: GateFacts, io: GateIo, gate: GateName, reason: string): Promise<GateDecision> {
  await record(facts, io, gate, 'refused', reason);
  return { ok: false, gate, reason };
}

/** One decision row: the gate, the outcome, why (with the SHA), who, and the entry point as its command. */
async function record(facts: GateFacts, io: GateIo, gate: string, decision: Decision, detail: string): Promise<number | null> {
  if (!io.audit) return null;
  return io.audit
    .recordDecision({
      userId: io.who?.userId ?? null,
      identity: io.who?.identity ?? facts.actor.name,
      room: io.who?.room ?? '',
      command: facts.entry,
      app: facts.app,
      environment: facts.environment,
      gate,
      decision,
      detail: `${facts.sha ? `${shortSha(facts.sha)}: ` : ''}${detail}`,
      at: io.now ?? facts.now,
    })
    .catch(() => null); // The audit row must not decide the deploy; the bot's own command row still says what happened.
}
