import { defineCommand, Refusal } from '../src/command.js';
import { lockLine, lockScope, who } from '../src/format.js';
import { parseScope } from '../src/targets.js';
import { lockReason } from './support/lock.js';

export default defineCommand({
  name: 'lock!',
  summary: "take over an environment's lock from whoever holds it (they are told)",
  usage: ['lock! [<app>/]<env> [reason]'],
  examples: ['lock! staging hotfix for incident 4711'],
  roles: ['release_manager'],
  async run(ctx) {
    const { store, clock } = ctx.deps;
    const scope = parseScope(ctx.deps.config, ctx.args[0]);
    const request = { ...scope, holderId: ctx.user.id, reason: lockReason(ctx), at: clock.now() };
    const first = await store.locks.acquire(request);
    if (first.ok) {
      await ctx.reply(`${lockLine(first.lock, clock.now(), ctx.provider)} — \`unlock ${lockScope(scope)}\` when done`);
      return;
    }
    const held = first.held;
    if (held.deployId) throw new Refusal(`${lockScope(held)} is held by running deploy #${held.deployId} — \`cancel ${held.deployId}\` first`);
    if (held.app !== scope.app) {
      throw new Refusal(`${lockLine(held, clock.now(), ctx.provider)} — take over that one with \`lock! ${lockScope(held)}\``);
    }
    const lock = await store.locks.takeOver(held, request);
    const previous = await store.users.byId(held.holderId);
    const tell = previous && previous.id !== ctx.user.id ? `${ctx.mention(previous)}: ` : '';
    await ctx.reply(`${tell}${lockLine(lock, clock.now(), ctx.provider)} (taken over from ${who(held.holder, ctx.provider)})`);
  },
});
