import { defineCommand, Refusal } from '../src/command.js';
import { planDeploy } from '../src/deploy/plan.js';
import { deployQueued, lockLine, lockScope, shortSha } from '../src/format.js';
import { checkFlags, deployerOf, parseAppTarget, requireDeployRole } from './support/app-target.js';
import { passGates } from './support/gates.js';

export default defineCommand({
  name: 'rollback',
  summary: 'switch an environment back to its previous successful release (no rebuild)',
  usage: ['rollback <app> [in <env>] [--force]'],
  examples: ['rollback web', 'rollback web in production', 'rollback web in production --force'],
  roles: ['developer', 'release_manager'],
  async run(ctx) {
    // --force only matters to a freeze: a release manager may roll back through one (recorded as an override).
    checkFlags(ctx, ['force']);
    const force = ctx.command.flags.force === true;
    const target = parseAppTarget(ctx, 'in', { ref: false });
    const { app, environment } = target;
    requireDeployRole(ctx, target, 'rollback');
    const deployer = deployerOf(ctx);
    const found = await ctx.deps.store.deploys.rollbackTarget(app, environment);
    if (!found)
      throw new Refusal(`nothing to roll back to in ${app}/${environment}: it needs two successful deploys (see \`deploys ${app} in ${environment}\`)`);
    const { current, target: previous } = found;
    let plan: ReturnType<typeof planDeploy>;
    try {
      plan = planDeploy(ctx.deps.config, app, environment);
    } catch (err) {
      throw new Refusal((err as Error).message);
    }

    // The same gates as deploy; going back is what a rollback is for, so the direction gate lets it pass.
    const gates = await passGates(ctx, deployer.revisions, {
      entry: 'rollback',
      app,
      environment,
      plan,
      sha: previous.sha,
      force,
      subject: `roll ${app}/${environment} back from ${shortSha(current.sha)} to ${shortSha(previous.sha)} (#${previous.id})`,
      retry: `rollback ${app} in ${environment}`,
    });
    const result = await deployer.request({
      app,
      environment,
      ref: previous.ref,
      sha: previous.sha,
      kind: 'rollback',
      releaseId: previous.releaseId,
      requester: ctx.user,
      provider: ctx.provider,
      room: ctx.room,
      force,
      notes: [`back from ${shortSha(current.sha)} (#${current.id}) to the release of #${previous.id}`, ...gates.notes],
      approvals: gates.approvals,
    });
    if (result.outcome !== 'locked') await gates.link(result.deploy.id);
    if (result.outcome === 'locked')
      throw new Refusal(`${lockLine(result.held, ctx.deps.clock.now(), ctx.provider)} — unlock it first (\`unlock ${lockScope(result.held)}\`)`);
    if (result.outcome === 'queued') await ctx.reply(deployQueued(result.deploy, result.ahead, result.position, ctx.provider));
  },
});
