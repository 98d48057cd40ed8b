import { defineCommand, Refusal, UsageError } from '../src/command.js';
import { lockLine, shiftLine } from '../src/format.js';
import { activeFreeze, upcomingFreezes } from '../src/policy/freeze-window.js';
import { storedFreezes } from '../src/policy/freeze.js';
import { activeFreezeLine, upcomingFreezeLine } from '../src/policy/messages.js';
import { promotionPath } from '../src/policy/promotion.js';
import { knownEnvironments } from '../src/targets.js';
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
    if (deployText) {
      await ctx.reply(deployText);
      return;
    }
    // The promotion path (environments the SHA reached, in promotion order) follows where the push has it.
    const path = await promotionPath(store, config, rev, clock.now());
    let where: string | null = null;
    try {
      where = await whereIs(pushService(ctx), { store, clock, provider: ctx.provider }, rev);
    } catch (err) {
      if (!(err instanceof Refusal) || path.length === 0) throw err;
    }
    await ctx.reply([where, ...path].filter((l) => l !== null).join('\n'));
    return;
  }
  const now = clock.now();
  const out: string[] = [];
  for (const section of services.statusSections) {
    const lines = await section.lines(ctx);
    out.push(`${section.title}:`, ...(lines.length ? lines.map((l) => `  ${l}`) : ['  none']));
  }
  const stored = await storedFreezes(store, now);
  const frozen = knownEnvironments(config).flatMap((env) => {
    const freeze = activeFreeze({ freezes: config.freezes, stored, environment: env, now, timezone: config.timezone });
    return freeze ? [`  ${activeFreezeLine(env, freeze, now, config.timezone)}`] : [];
  });
  const upcoming = upcomingFreezes({ freezes: config.freezes, now, timezone: config.timezone }).map(
    (f) => `  next: ${upcomingFreezeLine(f, now, config.timezone)}`,
  );
  // Only when there is one: most teams never freeze, and an empty section would be noise.
  if (frozen.length || upcoming.length) out.push('Freezes:', ...frozen, ...upcoming);
  const locks = await store.locks.list();
  out.push('Locks:', ...(locks.length ? locks.map((l) => `  ${lockLine(l, now, ctx.provider)}`) : ['  none']));
  const teams = await store.oncall.teams(Object.keys(config.teams));
  const onCall = await store.oncall.lookupMany(teams, now);
  const shifts = teams.map((t) => `  ${shiftLine(t, onCall.get(t) ?? { now: null, next: null, nextAt: null }, now, ctx.provider)}`);
  out.push('On call:', ...(shifts.length ? shifts : ['  nobody set — `oncall set <team> @user`']));
  await ctx.reply(out.join('\n'));
}

export default defineCommand({
  name: 'status',
  summary: 'what is going on (deploys, freezes, locks, the push, on call), or where a revision is',
  usage: ['status', 'status <sha|branch|#PR|deploy-id>'],
  examples: ['status', 'status 9fceb02', 'status #1234', 'status push/2026-11-22'],
  roles: 'anyone',
  run,
});
