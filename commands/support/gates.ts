/**
 * How a chat command passes the gates: facts from the command's deps, questions through ctx.confirm, the
 * decision in the audit trail, and a refusal the user reads when a gate says no.
 *
 *   const { notes } = await passGates(ctx, deployer.revisions, { entry: 'deploy', app, environment, plan, sha, force, subject, retry });
 */
import { type Ctx, Refusal } from '../../src/command.js';
import { sourceRefusal } from './app-target.js';
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
    who: { userId: ctx.user.id, identity: `${ctx.provider}:${ctx.user.identities.find((i) => i.provider === ctx.provider)?.externalId ?? ctx.user.name}`, room: ctx.room.room },
    now: clock.now(),
  });
  if (!decision.ok) throw new Refusal(decision.reason);
  return { notes: decision.notes, answers: decision.answers };
}
