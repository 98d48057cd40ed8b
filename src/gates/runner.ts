/**
 * The gate runner: gathers the facts for an entry point, calls the pure pipeline, asks the question of an
 * `ask` outcome (ctx.confirm) and evaluates again with the answer, and records overrides, answers and
 * refusals in the audit trail. Without a way to ask (webhook, auto deploy) an `ask` refuses with the question.
 *
 *   const facts = await gatherFacts(sources, { entry: 'deploy', app, environment, plan, ref, sha, actor, force, subject, retry, provider });
 *   const decision = await runGates(facts, { confirm: (q) => ctx.confirm(q), audit: store.audit, who });
 *   if (!decision.ok) throw new Refusal(decision.reason);
 */
import type { Answer } from '../command.js';
import type { Config } from '../config.js';
import { shortSha } from '../format.js';
import type { Plan } from '../deploy/plan.js';
import { activeFreeze } from '../policy/freeze-window.js';
import { storedFreezes } from '../policy/freeze.js';
import { promotionFacts } from '../policy/promotion.js';
import type { Revisions } from '../deploy/source.js';
import type { AuditEntry } from '../store/audit.js';
import type { Store } from '../store/index.js';
import { GATES } from './gates.js';
import { type Direction, type Entry, evaluateGates, type Gate, type GateFacts, type GateName, GATE_ORDER, type Override } from './pipeline.js';

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
  /** The audit trail; overrides, answers and refusals are recorded there. */
  audit?: { record(entry: AuditEntry): Promise<void> } | undefined;
  /** Who the audit rows are about. */
  who?: { userId: number | null; identity: string; room: string } | undefined;
  now?: Date | undefined;
}

export type GateDecision = { ok: true; notes: string[]; overrides: Override[]; answers: GateFacts['answers'] } | { ok: false; gate: GateName; reason: string };

/** Evaluates, asks while the pipeline asks (each gate at most once), and records what is worth auditing. */
export async function runGates(facts: GateFacts, io: GateIo = {}, gates: readonly Gate[] = GATES): Promise<GateDecision> {
  const answers = { ...facts.answers };
  const asked: string[] = [];
  for (let round = 0; round <= GATE_ORDER.length; round++) {
    const outcome = evaluateGates({ ...facts, answers }, gates);
    if (outcome.kind === 'ask') {
      // A gate that asks again after its answer would loop: refuse instead.
      if (outcome.gates.some((g) => answers[g] !== undefined)) return refuse(facts, io, outcome.gates[0] as GateName, 'the gates asked twice', asked);
      if (!io.confirm) {
        return refuse(
          facts,
          io,
          outcome.gates[0] as GateName,
          `needs a yes that nobody can give here: ${outcome.question.replace(/ — answer .*$/, '')}`,
          asked,
        );
      }
      const answer = await io.confirm(outcome.question);
      for (const g of outcome.gates) answers[g] = answer;
      asked.push(`${outcome.gates.join('+')}: ${answer}`);
      continue;
    }
    if (outcome.kind === 'refuse') return refuse(facts, io, outcome.gate, outcome.reason, asked);
    if (outcome.overrides.length > 0 || asked.length > 0) {
      const detail = [...outcome.overrides.map((o) => `override ${o.gate}: ${o.what}`), ...asked.map((a) => `asked ${a}`)].join('; ');
      await record(facts, io, 'ok', `passed — ${detail}`);
    }
    return { ok: true, notes: [...outcome.notes, ...outcome.overrides.map((o) => o.what)], overrides: outcome.overrides, answers };
  }
  return refuse(facts, io, 'confirm', 'the gates kept asking', asked);
}

async function refuse(facts: GateFacts, io: GateIo, gate: GateName, reason: string, asked: string[]): Promise<GateDecision> {
  await record(facts, io, 'refused', `refused by ${gate}: ${reason}${asked.length ? ` (asked ${asked.join(', ')})` : ''}`);
  return { ok: false, gate, reason };
}

/** One audit row per gate decision worth keeping: command 'gate', text '<entry> <app>/<env> <sha>'. */
async function record(facts: GateFacts, io: GateIo, outcome: 'ok' | 'refused', detail: string): Promise<void> {
  if (!io.audit) return;
  await io.audit
    .record({
      userId: io.who?.userId ?? null,
      identity: io.who?.identity ?? facts.actor.name,
      room: io.who?.room ?? '',
      command: 'gate',
      text: `${facts.entry} ${facts.app}/${facts.environment}${facts.sha ? ` ${shortSha(facts.sha)}` : ''}`,
      outcome,
      detail,
      at: io.now ?? facts.now,
    })
    .catch(() => {
      // The audit row must not decide the deploy: a failed write is logged by the store's caller, not fatal here.
    });
}
