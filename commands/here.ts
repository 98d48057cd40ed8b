import { defineCommand, UsageError } from '../src/command.js';
import { when } from '../src/format.js';
import { pickName, pushName } from '../src/push/messages.js';
import { pushService } from '../src/push/context.js';

export default defineCommand({
  name: 'here',
  aliases: ['confirm', 'present'],
  summary: 'confirm you are online to support the current push (your approved picks only ship if you do)',
  usage: ['here'],
  examples: ['here', 'confirm'],
  roles: ['developer'],
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError('');
    const r = await pushService(ctx).confirm(ctx.user);
    const now = ctx.deps.clock.now();
    const name = pushName(r.push);
    const lines = [r.already ? `✅ you had already confirmed for ${name}` : `✅ thanks ${ctx.mention(ctx.user)}, you are confirmed for ${name}`];
    const live = r.picks.filter((p) => p.state === 'requested' || p.state === 'approved');
    if (live.length) lines.push(`   your picks: ${live.map((p) => `${pickName(p)} (${p.state})`).join(', ')}`);
    else if (!r.deferred.length) lines.push('   you have no picks in it (yet) — noted anyway');
    if (r.deferred.length) {
      const closed = r.push.deferredAt ? ` at ${when(r.push.deferredAt, now)}` : '';
      lines.push(
        `   the confirmation window closed${closed}: ${r.deferred.map(pickName).join(', ')} ${r.deferred.length === 1 ? 'was' : 'were'} deferred and will be requested again in the next push`,
      );
    }
    await ctx.reply(lines.join('\n'));
  },
});
