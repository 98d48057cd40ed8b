import { defineCommand, Refusal } from '../src/command.js';
import { lockLine, lockScope } from '../src/format.js';
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
    if (lock.deployId)
      throw new Refusal(`${lockScope(lock)} is held by deploy #${lock.deployId}; it is freed when the deploy ends (or \`cancel ${lock.deployId}\`)`);
    if (lock.holderId !== ctx.user.id) {
      throw new Refusal(`${lockLine(lock, clock.now(), ctx.provider)} — ask them, or a release manager can \`unlock! ${lockScope(lock)}\``);
    }
    await store.locks.release(scope.app, scope.environment);
    await ctx.reply(`🔓 ${lockScope(scope)} is free`);
  },
});
