import { type Ctx, defineCommand, Refusal, UsageError } from '../src/command.js';
import { ago, stars, who } from '../src/format.js';
import type { KarmaKind } from '../src/store/karma.js';
import type { KnownUser } from '../src/store/users.js';
import { resolveUser } from '../src/targets.js';

/** Applies like/unlike/reset and tells the room, mentioning the person affected. Shared by like, unlike, karma reset. */
export async function changeKarma(ctx: Ctx, kind: KarmaKind, target: KnownUser, reason: string | undefined): Promise<void> {
  const { store, config } = ctx.deps;
  if (kind === 'like' && target.id === ctx.user.id) throw new Refusal('you cannot like yourself — ask another release manager');
  const { before, after } = await store.karma.change({ userId: target.id, actorId: ctx.user.id, kind, reason, at: ctx.deps.clock.now() });
  const verb = { like: 'gave a star to', unlike: 'took a star from', reset: 'reset the karma of' }[kind];
  const bounded = before === after && kind !== 'reset' ? ` (already at the ${kind === 'like' ? 'top' : 'bottom'})` : '';
  let line = `${ctx.mention(target)}: ${who(ctx.user, ctx.provider)} ${verb} you${reason ? ` — "${reason}"` : ''}: ${stars(after)}${bounded}`;
  if (after <= config.karma.block_at) line += ` — your cherry-picks are paused until a release manager runs \`karma reset ${who(target, ctx.provider)}\``;
  await ctx.reply(line);
}

/** The reason text after '@user' (everything after the first argument). */
export function reasonAfterFirstArg(ctx: Ctx): string | undefined {
  const rest = ctx.command.rest;
  const first = ctx.args[0];
  if (!first) return undefined;
  const at = rest.indexOf(first);
  const reason = rest
    .slice(at + first.length)
    .trim()
    .replace(/^["']|["']$/g, '');
  return reason || undefined;
}

export default defineCommand({
  name: 'karma',
  summary: 'push karma (1–5 stars) and its recent history',
  usage: ['karma [@user]', 'karma reset @user [reason]'],
  examples: ['karma', 'karma @alice', 'karma reset @alice paired on the fix'],
  roles: 'anyone',
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
