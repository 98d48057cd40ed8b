/**
 * How a chat command passes the gates: facts from the command's deps, questions through ctx.confirm, the
 * decision in the audit trail, and a refusal the user reads when a gate says no.
 *
 *   const { notes } = await passGates(ctx, deployer.revisions, { entry: 'deploy', app, environment, plan, sha, force, subject, retry });
 */
import { type Ctx, Refusal } from '../../src/command.js';
import { deployerOf, sourceRefusal } from './app-target.js';
import { planDeploy } from '../../src/deploy/plan.js';
import type { ShipGate } from '../../src/push/ship.js';
import type { Revisions } from '../../src/deploy/source.js';
import { type FactsInput, gatherFacts, runGates } from '../../src/gates/runner.js';
import type { GateFacts } from '../../src/gates/pipeline.js';

export async function passGates(
  ctx: Ctx,
  revisions: Pick<Revisions, 'ciState' | 'commits'>,
  input: Omit<FactsInput, 'actor' | 'provider'>,
): Promise<{ notes: string[]; answers: GateFacts['answers'] }> {
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
    who: {
      userId: ctx.user.id,
      identity: `${ctx.provider}:${ctx.user.identities.find((i) => i.provider === ctx.provider)?.externalId ?? ctx.user.name}`,
      room: ctx.room.room,
    },
    now: clock.now(),
  });
  if (!decision.ok) throw new Refusal(decision.reason);
  return { notes: decision.notes, answers: decision.answers };
}

/**
 * The gates of `push ship` for the push's app: asked before anything changes (sha null) and again for the
 * pushed head; the answers of the first round are kept, so nobody is asked twice.
 *
 *   await push.ship(ctx.user, place, env, shipGate(ctx, push.app, force));
 */
export function shipGate(ctx: Ctx, app: string, force: boolean): ShipGate {
  let answers: GateFacts['answers'] = {};
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
      return { ok: true, notes: passed.notes };
    } catch (err) {
      if (err instanceof Refusal) return { ok: false, reason: err.message };
      throw err;
    }
  };
}
