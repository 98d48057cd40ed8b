import { type Ctx, defineCommand, Refusal, UsageError } from '../src/command.js';
import { who } from '../src/format.js';
import { pushService } from '../src/push/context.js';
import { askText, pickName } from '../src/push/messages.js';
import { parsePickId } from '../src/push/service.js';
import { deployerOf } from './support/app-target.js';
import { auditWho } from './support/gates.js';

/**
 * `approve deploy <id>`: a release manager other than the requester approves a deploy awaiting approval;
 * the last approval needed lets it go ahead (queued, then started as usual).
 */
async function approveDeploy(ctx: Ctx, arg: string | undefined): Promise<void> {
  const id = arg && /^#?\d{1,9}$/.test(arg) ? Number(arg.replace('#', '')) : null;
  if (ctx.args.length !== 2 || id === null)
    throw new UsageError(arg ? `"${arg.slice(0, 40)}" is not a deploy id (see \`deploys\`)` : 'name the deploy: `approve deploy <id>`');
  const { store } = ctx.deps;
  const deploy = await store.deploys.get(id);
  if (!deploy) throw new Refusal(`there is no deploy #${id} — see \`deploys\``);
  const me = who(ctx.user, ctx.provider);
  // The approvals gate's decisions on this deploy, in the audit trail of its environment.
  const decide = (decision: 'approved' | 'refused', detail: string) =>
    store.audit
      .recordDecision({
        ...auditWho(ctx),
        command: 'approve deploy',
        app: deploy.app,
        environment: deploy.environment,
        deployId: id,
        gate: 'approvals',
        decision,
        detail,
        at: ctx.deps.clock.now(),
      })
      .catch(() => {});
  if (deploy.requesterId === ctx.user.id) {
    await decide('refused', `${me} asked for #${id} and cannot approve it`);
    throw new Refusal(`you asked for #${id} yourself: another release manager has to approve it (\`approve deploy ${id}\`)`);
  }
  const r = await deployerOf(ctx).approve(id, ctx.user.id);
  if (r.outcome === 'recorded' || r.outcome === 'ready') {
    await decide('approved', `approved by ${me} (${r.count}/${r.needed})${r.outcome === 'ready' ? ': goes ahead' : ''}`);
  }
  switch (r.outcome) {
    case 'unknown':
      throw new Refusal(`there is no deploy #${id} — see \`deploys\``);
    case 'not-waiting':
      throw new Refusal(`#${id} is not waiting for approval (it is ${r.state.replace('_', ' ')})`);
    case 'expired':
      throw new Refusal(`the approval window of #${id} has passed — ask for the deploy again`);
    case 'already':
      throw new Refusal(`you already approved #${id} (${r.count}/${r.needed}) — another release manager has to approve it too`);
    case 'recorded':
      await ctx.reply(`👍 ${me} approved deploy #${id} (${r.count}/${r.needed}) — waiting for ${r.needed - r.count} more`);
      return;
    case 'ready':
      await ctx.reply(`👍 ${me} approved deploy #${id} (${r.count}/${r.needed}) — it goes ahead now`);
      return;
  }
}

export default defineCommand({
  name: 'approve',
  summary: 'approve a cherry-pick request (or all waiting ones) for the current push, or a deploy awaiting approval',
  usage: ['approve <pick-id|all>', 'approve deploy <id>'],
  examples: ['approve 3', 'approve all', 'approve deploy 42'],
  roles: ['release_manager'],
  async run(ctx) {
    const arg = ctx.args[0];
    if (arg?.toLowerCase() === 'deploy') return approveDeploy(ctx, ctx.args[1]);
    const id = arg?.toLowerCase() === 'all' ? 'all' : parsePickId(arg);
    if (ctx.args.length !== 1 || id === null) throw new UsageError(arg ? `"${arg.slice(0, 40)}" is not a pick id (see \`picks\`)` : '');
    const r = await pushService(ctx).approve(ctx.user, id);
    const lines = [`👍 ${who(ctx.user, ctx.provider)} approved ${r.approved.map(pickName).join(', ')}`];
    for (const s of r.skipped) lines.push(`  (${pickName(s.pick)} left as is: ${s.why})`);
    if (r.ask.length > 0) lines.push(askText(r.push, r.ask, ctx.mention, ctx.deps.clock.now()));
    await ctx.reply(lines.join('\n'));
  },
});
