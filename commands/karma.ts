import { defineCommand, UsageError } from '../src/command.js';
import { ago, stars, who } from '../src/format.js';
import { resolveUser } from '../src/targets.js';
import { changeKarma } from './support/karma.js';

export default defineCommand({
  name: 'karma',
  summary: 'push karma (1–5 stars) and its recent history',
  usage: ['karma [@user]', 'karma reset @user [reason]'],
  examples: ['karma', 'karma @alice', 'karma reset @alice paired on the fix'],
  roles: 'anyone',
  // Your own karma is yours; someone else's, or a reset, is the room's business.
  personal: (args) => args.length === 0,
  async run(ctx) {
    const { store, clock } = ctx.deps;
    if (ctx.args[0]?.toLowerCase() === 'reset') {
      ctx.requireRole('release_manager', 'reset karma');
      const target = await resolveUser(ctx, ctx.args[1]);
      const rest = ctx.command.rest.replace(/^reset\s+\S+\s*/i, '').trim();
      await changeKarma(ctx, 'reset', target, rest || undefined);
      return;
    }
    if (ctx.args.length > 1) throw new UsageError('');
    const target = ctx.args[0] ? await resolveUser(ctx, ctx.args[0]) : ctx.user;
    const current = await store.karma.stars(target.id);
    const history = await store.karma.history(target.id, 5);
    const name = target.id === ctx.user.id ? 'you' : who(target, ctx.provider);
    const lines = [`${name}: ${stars(current)}`];
    const now = clock.now();
    for (const e of history) {
      lines.push(`  ${ago(e.createdAt, now)}: ${e.kind} by ${who(e.actor, ctx.provider)} ${e.before}→${e.after}${e.reason ? ` — "${e.reason}"` : ''}`);
    }
    if (history.length === 0) lines.push('  no changes yet');
    await ctx.reply(lines.join('\n'));
  },
});
