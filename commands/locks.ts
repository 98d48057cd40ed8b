import { defineCommand } from '../src/command.js';
import { lockLine } from '../src/format.js';

export default defineCommand({
  name: 'locks',
  summary: 'who holds which environment, why and since when',
  usage: ['locks'],
  examples: ['locks'],
  roles: 'anyone',
  async run(ctx) {
    const locks = await ctx.deps.store.locks.list();
    const now = ctx.deps.clock.now();
    await ctx.reply(locks.length ? locks.map((l) => lockLine(l, now, ctx.provider)).join('\n') : 'no locks: every environment is free');
  },
});
