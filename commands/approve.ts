import { defineCommand, UsageError } from '../src/command.js';
import { who } from '../src/format.js';
import { pushService } from '../src/push/context.js';
import { askText, pickName } from '../src/push/messages.js';
import { parsePickId } from '../src/push/service.js';

export default defineCommand({
  name: 'approve',
  summary: 'approve a cherry-pick request (or all waiting ones) for the current push',
  usage: ['approve <pick-id|all>'],
  examples: ['approve 3', 'approve all'],
  roles: ['release_manager'],
  async run(ctx) {
    const arg = ctx.args[0];
    const id = arg?.toLowerCase() === 'all' ? 'all' : parsePickId(arg);
    if (ctx.args.length !== 1 || id === null) throw new UsageError(arg ? `"${arg.slice(0, 40)}" is not a pick id (see \`picks\`)` : '');
    const r = await pushService(ctx).approve(ctx.user, id);
    const lines = [`👍 ${who(ctx.user, ctx.provider)} approved ${r.approved.map(pickName).join(', ')}`];
    for (const s of r.skipped) lines.push(`  (${pickName(s.pick)} left as is: ${s.why})`);
    if (r.ask.length > 0) lines.push(askText(r.push, r.ask, ctx.mention, ctx.deps.clock.now()));
    await ctx.reply(lines.join('\n'));
  },
});
