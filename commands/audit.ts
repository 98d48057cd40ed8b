import { type Ctx, defineCommand, UsageError } from '../src/command.js';
import { auditLine } from '../src/policy/messages.js';
import type { AuditFilter } from '../src/store/audit.js';
import { knownEnvironments, resolveUser } from '../src/targets.js';

const SHOWN = 10;

/** '@bob' / 'bob' → a user, 'production' → an environment, '42' / '#42' → a deploy id. */
async function filterFor(ctx: Ctx, arg: string | undefined): Promise<{ filter: AuditFilter; what: string }> {
  if (arg === undefined) return { filter: {}, what: '' };
  if (/^#?\d{1,9}$/.test(arg)) {
    const id = Number(arg.replace('#', ''));
    return { filter: { deployId: id }, what: ` about deploy #${id}` };
  }
  if (!arg.startsWith('@') && knownEnvironments(ctx.deps.config).includes(arg)) return { filter: { environment: arg }, what: ` about ${arg}` };
  const user = await resolveUser(ctx, arg);
  return { filter: { userId: user.id }, what: ` by ${arg.replace(/^@/, '')}` };
}

export default defineCommand({
  name: 'audit',
  summary: 'the last 10 commands, refusals, gate decisions and overrides (of a user, an environment or a deploy)',
  usage: ['audit [@user|<env>|<deploy-id>]'],
  examples: ['audit', 'audit @alice', 'audit production', 'audit 42'],
  roles: 'anyone',
  async run(ctx) {
    if (ctx.args.length > 1) throw new UsageError('one filter at a time');
    const { store, config } = ctx.deps;
    const { filter, what } = await filterFor(ctx, ctx.args[0]);
    const rows = await store.audit.query({ ...filter, limit: SHOWN });
    if (rows.length === 0) {
      await ctx.reply(`nothing in the audit trail${what} yet`);
      return;
    }
    const lines = rows.reverse().map((r) => auditLine(r, config.timezone, ctx.provider));
    await ctx.reply([`last ${rows.length}${what} (oldest first; all of it: ${config.webBaseUrl}/audit):`, ...lines].join('\n'));
  },
});
