/**
 * What karma-changing commands (like, unlike, karma reset) and decision commands (reject) share: applying a
 * change and telling the room, and the free-text reason after '@user'.
 *
 *   await changeKarma(ctx, 'unlike', target, reasonAfterFirstArg(ctx));
 */
import { type Ctx, Refusal } from '../../src/command.js';
import { stars, who } from '../../src/format.js';
import type { KarmaKind } from '../../src/store/karma.js';
import type { KnownUser } from '../../src/store/users.js';

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
