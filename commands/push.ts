import { type Ctx, defineCommand, UsageError } from '../src/command.js';
import { who } from '../src/format.js';
import { pushService } from '../src/push/context.js';
import { askText, pickName, pushName, shipText, statusText } from '../src/push/messages.js';
import { checkFlags } from './support/app-target.js';
import { shipGate } from './support/gates.js';

/** 'from <branch>' / 'to <env>': the value after `word`, or undefined; anything else is a usage error. */
function option(ctx: Ctx, word: string): string | undefined {
  const rest = ctx.args.slice(1);
  if (rest.length === 0) return undefined;
  if (rest.length !== 2 || rest[0]?.toLowerCase() !== word) throw new UsageError(`expected \`${word} <${word === 'from' ? 'branch' : 'env'}>\``);
  return rest[1];
}

export default defineCommand({
  name: 'push',
  summary: 'the daily push: cut the branch and collect confirmations, see where it stands, ship it, or abort it',
  usage: ['push start [from <branch>]', 'push status', 'push ship [to <env>] [--force]', 'push abort'],
  examples: [
    'push start',
    'push start from release-base',
    'push status',
    'push ship',
    'push ship to production',
    'push ship to production --force',
    'push abort',
  ],
  roles: 'anyone',
  async run(ctx) {
    const sub = ctx.args[0]?.toLowerCase();
    const now = () => ctx.deps.clock.now();
    switch (sub) {
      case 'start': {
        ctx.requireRole('release_manager', 'start the push');
        const from = option(ctx, 'from');
        const r = await pushService(ctx).start(ctx.user, { provider: ctx.provider, room: ctx.room.room }, from);
        const lines = [`🌱 ${pushName(r.push)} started: cut from ${r.push.baseRef} at ${r.push.baseSha?.slice(0, 7)} by ${who(ctx.user, ctx.provider)}`];
        if (r.carried.length) lines.push(`   carried over from the last push (requested again): ${r.carried.map(pickName).join(', ')}`);
        lines.push(
          `   ${r.approved.length} approved pick${r.approved.length === 1 ? '' : 's'}${r.alreadyConfirmed.length ? `; already confirmed: ${r.alreadyConfirmed.map((u) => who(u, ctx.provider)).join(', ')}` : ''}`,
        );
        if (r.ask.length) lines.push(askText(r.push, r.ask, ctx.mention, now()));
        else if (r.approved.length === 0) lines.push('   no approved picks yet — `approve <id|all>`; their authors will be asked to confirm');
        await ctx.reply(lines.join('\n'));
        return;
      }
      case 'status': {
        if (ctx.args.length > 1) throw new UsageError('');
        const s = await pushService(ctx).status();
        await ctx.reply(statusText({ ...s, now: now(), provider: ctx.provider }));
        return;
      }
      case 'ship': {
        ctx.requireRole('release_manager', 'ship the push');
        checkFlags(ctx, ['force']);
        const force = ctx.command.flags.force === true;
        const env = option(ctx, 'to');
        const push = pushService(ctx);
        // The target environment's gates (roles, lock, CI, direction, confirmation), as for `deploy`.
        // Where the environment needs green CI, ship waits for it on the pushed head and says so here meanwhile.
        const r = await push.ship(ctx.user, { provider: ctx.provider, room: ctx.room.room, thread: ctx.room.thread }, env, shipGate(ctx, push.app, force), {
          force,
          say: async (text) => void (await ctx.reply(text)),
        });
        // Returns once the deploy is requested; "your picks are live" comes when the deploy ends.
        await ctx.reply(
          shipText({ ...r, deployWired: Boolean(push.options.deploy), trunk: ctx.deps.config.push.trunk, mention: ctx.mention, provider: ctx.provider }),
        );
        return;
      }
      case 'abort': {
        ctx.requireRole('release_manager', 'abort the push');
        if (ctx.args.length > 1) throw new UsageError('');
        const r = await pushService(ctx).abort();
        const kept = r.kept.length ? `; kept for the next push: ${r.kept.map(pickName).join(', ')}` : '';
        const branch = !r.branch
          ? ''
          : r.branch.deleted
            ? `; the branch ${r.branch.name} was deleted on the remote`
            : r.branch.error
              ? `; the branch ${r.branch.name} could not be deleted on the remote (${r.branch.error}) — delete it by hand`
              : `; the branch ${r.branch.name} was already gone from the remote`;
        await ctx.reply(`🛑 ${pushName(r.push)} aborted by ${who(ctx.user, ctx.provider)}${kept}${branch}`);
        return;
      }
      default:
        throw new UsageError(sub ? `unknown push action "${sub.slice(0, 20)}"` : '');
    }
  },
});
