/**
 * How a chat command passes the gates: facts from the command's deps, questions through ctx.confirm, the
 * decision in the audit trail, and a refusal the user reads when a gate says no.
 *
 *   const gates = await passGates(ctx, deployer.revisions, { entry: 'deploy', app, environment, plan, sha, force, subject, retry });
 *   const result = await deployer.request({ ...request, notes: gates.notes, approvals: gates.approvals });
 *   if (result.outcome !== 'locked') await gates.link(result.deploy.id);
 */
import { type Ctx, Refusal } from '../../src/command.js';
import { deployerOf, sourceRefusal } from './app-target.js';
import { planDeploy } from '../../src/deploy/plan.js';
import type { ShipGate } from '../../src/push/ship.js';
import type { Revisions } from '../../src/deploy/source.js';
import { type FactsInput, gatherFacts, runGates } from '../../src/gates/runner.js';
import type { ApprovalNeed, GateFacts } from '../../src/gates/pipeline.js';

/** Who an audit decision row is about: the user, as the bot's own command rows name them, and the room. */
export function auditWho(ctx: Ctx): { userId: number; identity: string; room: string } {
  return {
    userId: ctx.user.id,
    identity: `${ctx.provider}:${ctx.user.identities.find((i) => i.provider === ctx.provider)?.externalId ?? ctx.user.name}`,
    room: ctx.room.room,
  };
}

export async function passGates(
  ctx: Ctx,
  revisions: Pick<Revisions, 'ciState' | 'commits'>,
  input: Omit<FactsInput, 'actor' | 'provider'>,
): Promise<PassedGates> {
  const { config, store, clock } = ctx.deps;
  const facts = await gatherFacts(
    { config, store, revisions, now: clock.now() },
    { ...input, actor: { name: ctx.user.name, roles: ctx.roles }, provider: ctx.provider },
  ).catch((err) => {
    throw sourceRefusal(err, `read the CI state of ${input.sha?.slice(0, 7) ?? input.app}`);
  });
  const decision = await runGates(facts, {
    confirm: (question) => ctx.confirm(question),
    audit: store.audit,
    who: auditWho(ctx),
    now: clock.now(),
  });
  if (!decision.ok) throw new Refusal(decision.reason);
  const { audited } = decision;
  return {
    notes: decision.notes,
    answers: decision.answers,
    approvals: decision.approvals,
    link: (deployId) => store.audit.linkDeploy(audited, deployId).catch(() => {}),
  };
}

/** What passing the gates gives the entry point: notes, answers, the approvals to wait for, and the audit link. */
export interface PassedGates {
  notes: string[];
  answers: GateFacts['answers'];
  approvals: ApprovalNeed | null;
  /** Names the recorded deploy in this pass's audit rows (overrides, answers, the approval wait). */
  link(deployId: number): Promise<void>;
}

/**
 * The gates of `push ship` for the push's app: asked before anything changes (sha null) and again for the
 * pushed head; the answers of the first round are kept, so nobody is asked twice.
 *
 *   await push.ship(ctx.user, place, env, shipGate(ctx, push.app, force));
 */
export function shipGate(ctx: Ctx, app: string, force: boolean): ShipGate {
  let answers: GateFacts['answers'] = {};
  // Both rounds' audit rows (the question of the first, the overrides and the wait of the second) name the deploy.
  const passes: PassedGates[] = [];
  return async ({ environment, sha }) => {
    let plan: ReturnType<typeof planDeploy>;
    try {
      plan = planDeploy(ctx.deps.config, app, environment);
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    try {
      const passed = await passGates(ctx, deployerOf(ctx).revisions, {
        entry: 'push ship',
        app,
        environment,
        plan,
        sha,
        force,
        subject: `ship the push to ${app}/${environment}${sha ? ` at ${sha.slice(0, 7)}` : ''} on ${plan.hosts.length} host(s)`,
        retry: `push ship to ${environment}`,
        answers,
      });
      answers = passed.answers;
      passes.push(passed);
      return {
        ok: true,
        notes: passed.notes,
        approvals: passed.approvals,
        link: async (deployId) => {
          for (const p of passes) await p.link(deployId);
        },
      };
    } catch (err) {
      if (err instanceof Refusal) return { ok: false, reason: err.message };
      throw err;
    }
  };
}
