import { defineCommand, UsageError } from '../src/command.js';
import { parseSubject } from '../src/push/change.js';
import { pushService } from '../src/push/context.js';
import { requestedText } from '../src/push/messages.js';

export default defineCommand({
  name: 'cherry-pick',
  aliases: ['cp'],
  summary: 'ask for a merged PR or a commit to go into the current push (shows its risk score, size, discussion, author karma)',
  usage: ['cherry-pick <#PR|sha>'],
  examples: ['cherry-pick #1234', 'cp 9fceb02'],
  roles: ['developer'],
  async run(ctx) {
    if (ctx.args.length !== 1) throw new UsageError(ctx.args.length ? 'one PR or SHA at a time' : '');
    const push = pushService(ctx);
    const r = await push.request(ctx.user, parseSubject(ctx.args[0]), ctx.provider);
    await ctx.reply(
      requestedText({
        pick: r.pick,
        push: r.push,
        carried: r.carried,
        inTrunk: r.change.inTrunk,
        trunk: ctx.deps.config.push.trunk,
        authorStars: await push.stars(r.pick.authorId),
        thresholds: ctx.deps.config.push.risk,
        autoApproved: r.autoApproved,
        mention: ctx.mention,
        provider: ctx.provider,
      }),
    );
  },
});
