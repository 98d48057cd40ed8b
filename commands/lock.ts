import { type Ctx, defineCommand, Refusal } from '../src/command.js';
import { lockLine, lockScope } from '../src/format.js';
import { parseScope } from '../src/targets.js';
import { lockReason } from './support/lock.js';

export default defineCommand({
  name: 'lock',
  summary: 'hold an environment (of one app, or of every app) so nobody deploys to it',
  usage: ['lock [<app>/]<env> [reason]'],
  examples: ['lock staging testing the migration', 'lock web/production incident 4711'],
  roles: ['developer'],
  async run(ctx) {
    const { store, clock } = ctx.deps;
    const scope = parseScope(ctx.deps.config, ctx.args[0]);
    const result = await store.locks.acquire({ ...scope, holderId: ctx.user.id, reason: lockReason(ctx), at: clock.now() });
    if (!result.ok) {
      const line = lockLine(result.held, clock.now(), ctx.provider);
      if (result.held.holderId === ctx.user.id && !result.held.deployId && result.held.app === scope.app) {
        throw new Refusal(`you already hold ${lockScope(scope)} — \`unlock ${lockScope(scope)}\` to free it`);
      }
      throw new Refusal(`${line} — ask them, or a release manager can \`lock! ${lockScope(result.held)}\``);
    }
    await ctx.reply(`${lockLine(result.lock, clock.now(), ctx.provider)} — \`unlock ${lockScope(scope)}\` when done`);
  },
});
