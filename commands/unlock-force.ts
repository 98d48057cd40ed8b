import { defineCommand, Refusal } from '../src/command.js';
import { lockScope, who } from '../src/format.js';
import { heldByDeployRefusal } from '../src/store/locks.js';
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
    if (lock.deployId) throw new Refusal(heldByDeployRefusal(lockScope(lock), lock.deployId));
    // Only the manual lock just seen is removed: a deploy that took the environment meanwhile keeps its lock.
    const freed = await store.locks.unlock(scope.app, scope.environment, lock.id);
    if (!freed.ok) {
      if (freed.heldByDeploy) throw new Refusal(heldByDeployRefusal(lockScope(scope), freed.heldByDeploy));
      throw new Refusal(`${lockScope(scope)} is ${freed.lock ? 'locked again meanwhile — see `locks`' : 'already free'}`);
    }
    const holder = await store.users.byId(lock.holderId);
    const tell = holder && holder.id !== ctx.user.id ? `${ctx.mention(holder)}: ` : '';
    await ctx.reply(`${tell}🔓 ${lockScope(scope)} lock broken by ${who(ctx.user, ctx.provider)}${lock.reason ? ` (was: "${lock.reason}")` : ''}`);
  },
});
