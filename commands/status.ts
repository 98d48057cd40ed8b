import { defineCommand } from '../src/command.js';
import { lockLine, shiftLine } from '../src/format.js';

/** A part of the `status` overview contributed by a feature (deploys, the push). */
export interface StatusSection {
  title: string;
  lines(ctx: Parameters<typeof run>[0]): Promise<string[]>;
}

async function run(ctx: Parameters<Parameters<typeof defineCommand>[0]['run']>[0]) {
  const { store, clock, config, services } = ctx.deps;
  const now = clock.now();
  const out: string[] = [];
  for (const section of (services.statusSections as StatusSection[] | undefined) ?? []) {
    const lines = await section.lines(ctx);
    out.push(`${section.title}:`, ...(lines.length ? lines.map((l) => `  ${l}`) : ['  none']));
  }
  const locks = await store.locks.list();
  out.push('Locks:', ...(locks.length ? locks.map((l) => `  ${lockLine(l, now, ctx.provider)}`) : ['  none']));
  const teams = [...new Set([...Object.keys(config.teams), ...(await store.oncall.teams())])].sort();
  const shifts = await Promise.all(teams.map(async (t) => `  ${shiftLine(t, await store.oncall.lookup(t, now), now, ctx.provider)}`));
  out.push('On call:', ...(shifts.length ? shifts : ['  nobody set — `oncall set <team> @user`']));
  await ctx.reply(out.join('\n'));
}

export default defineCommand({
  name: 'status',
  summary: 'what is going on: running deploys, locks, the current push, who is on call',
  usage: ['status'],
  examples: ['status'],
  roles: 'anyone',
  run,
});
