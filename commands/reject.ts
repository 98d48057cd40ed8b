import { defineCommand, UsageError } from '../src/command.js';
import { who } from '../src/format.js';
import { pushService } from '../src/push/context.js';
import { pickName, subjectText } from '../src/push/messages.js';
import { parsePickId } from '../src/push/service.js';
import { reasonAfterFirstArg } from './support/karma.js';

export default defineCommand({
  name: 'reject',
  summary: 'turn down a cherry-pick request, saying why',
  usage: ['reject <pick-id> [reason]'],
  examples: ['reject 3 too big for a pick, wait for the next cut', 'reject p4'],
  roles: ['release_manager'],
  async run(ctx) {
    const id = parsePickId(ctx.args[0]);
    if (id === null) throw new UsageError(ctx.args[0] ? `"${ctx.args[0].slice(0, 40)}" is not a pick id (see \`picks\`)` : '');
    const reason = reasonAfterFirstArg(ctx);
    const pick = await pushService(ctx).reject(ctx.user, id, reason);
    const people = [pick.requester, ...(pick.authorId !== pick.requesterId ? [pick.author] : [])].map(ctx.mention).join(' ');
    await ctx.reply(`🚫 ${people}: ${who(ctx.user, ctx.provider)} rejected ${pickName(pick)} ${subjectText(pick)}${reason ? ` — "${reason}"` : ''}`);
  },
});
