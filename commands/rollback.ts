import { CONFIRM_TIMEOUT_MS, defineCommand, Refusal } from '../src/command.js';
import { deployQueued, lockLine, lockScope, shortSha } from '../src/format.js';
import { checkFlags, deployerOf, parseAppTarget, requireDeployRole } from '../src/deploy/chat-args.js';

export default defineCommand({
  name: 'rollback',
  summary: 'switch an environment back to its previous successful release (no rebuild)',
  usage: ['rollback <app> [in <env>]'],
  examples: ['rollback web', 'rollback web in production'],
  roles: ['developer', 'release_manager'],
  async run(ctx) {
    checkFlags(ctx, []);
    const target = parseAppTarget(ctx, 'in', { ref: false });
    const { app, environment } = target;
    requireDeployRole(ctx, target, 'roll back');
    const deployer = deployerOf(ctx);
    const found = await ctx.deps.store.deploys.rollbackTarget(app, environment);
    if (!found)
      throw new Refusal(`nothing to roll back to in ${app}/${environment}: it needs two successful deploys (see \`deploys ${app} in ${environment}\`)`);
    const { current, target: previous } = found;

    if (target.envConfig.confirm) {
      const answer = await ctx.confirm(
        `about to roll ${app}/${environment} back from ${shortSha(current.sha)} to ${shortSha(previous.sha)} (#${previous.id}) — answer \`yes\` within ${CONFIRM_TIMEOUT_MS / 1000}s`,
      );
      if (answer !== 'yes') {
        await ctx.reply(`cancelled: not confirmed — ${environment} stays on ${shortSha(current.sha)}`);
        return;
      }
    }
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
      notes: [`back from ${shortSha(current.sha)} (#${current.id}) to the release of #${previous.id}`],
    });
    if (result.outcome === 'locked')
      throw new Refusal(`${lockLine(result.held, ctx.deps.clock.now(), ctx.provider)} — unlock it first (\`unlock ${lockScope(result.held)}\`)`);
    if (result.outcome === 'queued') await ctx.reply(deployQueued(result.deploy, result.ahead, result.position, ctx.provider));
  },
});
