import { defineCommand, UsageError } from '../src/command.js';
import { lockLine, shiftLine } from '../src/format.js';
import { pushService } from '../src/push/context.js';
import { whereIs } from '../src/push/where.js';

export type { StatusSection } from '../src/services.js';

async function run(ctx: Parameters<Parameters<typeof defineCommand>[0]['run']>[0]) {
  const { store, clock, config, services } = ctx.deps;
  const rev = ctx.args[0];
  if (rev !== undefined) {
    if (ctx.args.length > 1) throw new UsageError('one revision at a time');
    // A deploy id is the deploy engine's (services.deployStatus answers null for anything that is not one);
    // every other argument is a revision: where is it (src/push/where.ts).
    const deployText = services.deployStatus ? await services.deployStatus(ctx, rev) : null;
    await ctx.reply(deployText ?? (await whereIs(pushService(ctx), { store, clock, provider: ctx.provider }, rev)));
    return;
  }
  const now = clock.now();
  const out: string[] = [];
  for (const section of services.statusSections) {
    const lines = await section.lines(ctx);
    out.push(`${section.title}:`, ...(lines.length ? lines.map((l) => `  ${l}`) : ['  none']));
  }
  const locks = await store.locks.list();
  out.push('Locks:', ...(locks.length ? locks.map((l) => `  ${lockLine(l, now, ctx.provider)}`) : ['  none']));
  const teams = await store.oncall.teams(Object.keys(config.teams));
  const shifts = await Promise.all(teams.map(async (t) => `  ${shiftLine(t, await store.oncall.lookup(t, now), now, ctx.provider)}`));
  out.push('On call:', ...(shifts.length ? shifts : ['  nobody set — `oncall set <team> @user`']));
  await ctx.reply(out.join('\n'));
}

export default defineCommand({
  name: 'status',
  summary: 'what is going on (deploys, locks, the push, on call), or where a revision is',
  usage: ['status', 'status <sha|branch|#PR|deploy-id>'],
  examples: ['status', 'status 9fceb02', 'status #1234', 'status push/2026-11-22'],
  roles: 'anyone',
  run,
});
