import { defineCommand, Refusal } from '../src/command.js';
import { lockScope, who } from '../src/format.js';
import { parseScope } from '../src/targets.js';

export default defineCommand({
  name: 'unlock!',
  summary: "break someone else's lock (they are told)",
  usage: ['unlock! [<app>/]<env>'],
  examples: ['unlock! staging'],
  roles: ['release_manager'],
  async run(ctx) {
    const { store } = ctx.deps;
    const scope = parseScope(ctx.deps.config, ctx.args[0]);
    const lock = await store.locks.get(scope.app, scope.environment);
    if (!lock) throw new Refusal(`${lockScope(scope)} is not locked`);
    if (lock.deployId) throw new Refusal(`${lockScope(lock)} is held by deploy #${lock.deployId} — \`cancel ${lock.deployId}\` to stop it`);
    await store.locks.release(scope.app, scope.environment);
    const holder = await store.users.byId(lock.holderId);
    const tell = holder && holder.id !== ctx.user.id ? `${ctx.mention(holder)}: ` : '';
    await ctx.reply(`${tell}🔓 ${lockScope(scope)} lock broken by ${who(ctx.user, ctx.provider)}${lock.reason ? ` (was: "${lock.reason}")` : ''}`);
  },
});
