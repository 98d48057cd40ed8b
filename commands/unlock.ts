import { defineCommand, Refusal } from '../src/command.js';
import { lockLine, lockScope } from '../src/format.js';
import { heldByDeployRefusal } from '../src/store/locks.js';
import { parseScope } from '../src/targets.js';

export default defineCommand({
  name: 'unlock',
  summary: 'free an environment you hold',
  usage: ['unlock [<app>/]<env>'],
  examples: ['unlock staging', 'unlock web/production'],
  roles: ['developer'],
  async run(ctx) {
    const { store, clock } = ctx.deps;
    const scope = parseScope(ctx.deps.config, ctx.args[0]);
    const lock = await store.locks.get(scope.app, scope.environment);
    if (!lock) {
      const other = await store.locks.blocking(scope.app, scope.environment);
      throw new Refusal(`${lockScope(scope)} is not locked${other ? ` (but ${lockLine(other, clock.now(), ctx.provider)})` : ''}`);
    }
    if (lock.deployId) throw new Refusal(heldByDeployRefusal(lockScope(lock), lock.deployId));
    if (lock.holderId !== ctx.user.id) {
      throw new Refusal(`${lockLine(lock, clock.now(), ctx.provider)} — ask them, or a release manager can \`unlock! ${lockScope(lock)}\``);
    }
    // Only the manual lock just seen is removed: a deploy that took the environment meanwhile keeps its lock.
    const freed = await store.locks.unlock(scope.app, scope.environment, lock.id);
    if (!freed.ok) {
      if (freed.heldByDeploy) throw new Refusal(heldByDeployRefusal(lockScope(scope), freed.heldByDeploy));
      throw new Refusal(`${lockScope(scope)} is ${freed.lock ? 'locked again meanwhile — see `locks`' : 'already free'}`);
    }
    await ctx.reply(`🔓 ${lockScope(scope)} is free`);
  },
});
