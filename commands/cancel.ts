import { defineCommand, Refusal, UsageError } from '../src/command.js';
import { deployDetail, who } from '../src/format.js';
import { deployerOf } from './support/app-target.js';

/** '12' or '#12' → 12. */
export function deployId(arg: string | undefined): number {
  const m = /^#?(\d{1,9})$/.exec(arg ?? '');
  if (!m) throw new UsageError(arg ? `"${arg.slice(0, 20)}" is not a deploy id (like 12 or #12)` : 'name the deploy, e.g. `cancel 12`');
  return Number(m[1]);
}

export default defineCommand({
  name: 'cancel',
  summary: 'stop a running deploy (or drop a queued one): no new host starts, running steps are killed',
  usage: ['cancel <deploy-id>'],
  examples: ['cancel 12', 'cancel #12'],
  roles: ['developer', 'release_manager'],
  async run(ctx) {
    const id = deployId(ctx.args[0]);
    const { store, clock, config } = ctx.deps;
    const deploy = await store.deploys.get(id);
    if (!deploy) throw new Refusal(`there is no deploy #${id} — \`deploys\` lists recent ones`);
    if (deploy.requesterId !== ctx.user.id && !ctx.roles.includes('release_manager')) {
      throw new Refusal(`only ${who(deploy.requester, ctx.provider)} (who asked for #${id}) or a release manager can cancel it`);
    }
    const result = await deployerOf(ctx).cancel(id, who(ctx.user, ctx.provider));
    switch (result) {
      case 'stopping':
        // During validation every host already runs the new release: cancel ends the checks and keeps it.
        await ctx.reply(
          deploy.state === 'validating'
            ? `🛑 stopping the validation of #${id}: the new release stays on every host (\`rollback ${deploy.app} in ${deploy.environment}\` to go back)`
            : `🛑 stopping #${id}: no new host starts, running steps are being killed; hosts that switched go back`,
        );
        return;
      case 'already-stopping':
        await ctx.reply(`#${id} is already being cancelled`);
        return;
      case 'dequeued':
        await ctx.reply(`🛑 #${id} was queued; it is cancelled and will not run`);
        return;
      case 'requested':
        await ctx.reply(
          `🛑 #${id} runs in another Shepherd process: it is asked to stop and will within ${Math.round(deployerOf(ctx).heartbeatMs / 1000)}s (its next heartbeat)`,
        );
        return;
      default:
        throw new Refusal(`#${id} already ended: ${deployDetail(deploy, clock.now(), config.webBaseUrl, ctx.provider).split('\n')[0]}`);
    }
  },
});
