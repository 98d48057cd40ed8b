import { defineCommand, UsageError } from '../src/command.js';
import { pushService } from '../src/push/context.js';
import { picksText } from '../src/push/messages.js';

export default defineCommand({
  name: 'picks',
  summary: "the current push's cherry-pick requests with state and risk",
  usage: ['picks'],
  examples: ['picks'],
  roles: 'anyone',
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError('');
    const push = pushService(ctx);
    const { push: current, picks } = await push.list();
    const starsOf = new Map<number, number>();
    for (const id of new Set(picks.map((p) => p.authorId))) starsOf.set(id, await push.stars(id));
    await ctx.reply(picksText(current, picks, starsOf, ctx.deps.config.push.risk, ctx.deps.clock.now(), ctx.provider));
  },
});
