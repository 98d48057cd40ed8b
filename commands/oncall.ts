import { type Ctx, defineCommand, Refusal, UsageError } from '../src/command.js';
import { configEntry } from '../src/config.js';
import { parseDuration, parseTime } from '../src/duration.js';
import { shiftLine, when, who } from '../src/format.js';
import { resolveUser } from '../src/targets.js';

const DEFAULT_TAKE_MS = 3_600_000;
const TEAM = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function checkTeam(ctx: Ctx, team: string | undefined): string {
  if (!team) throw new UsageError('name a team');
  const teams = Object.keys(ctx.deps.config.teams);
  if (!TEAM.test(team)) throw new Refusal(`"${team}" is not a team name${teams.length ? ` — teams: ${teams.join(', ')}` : ''}`);
  if (teams.length > 0 && !configEntry(ctx.deps.config.teams, team)) throw new Refusal(`unknown team "${team}" — teams: ${teams.join(', ')}`);
  return team;
}

/** Reads 'from <time>' / 'until <time>' pairs; the time may be two words ('2026-11-23 09:00', 'tomorrow 9:00'). */
function readTimes(ctx: Ctx, words: string[]): { from?: Date; until?: Date } {
  const now = ctx.deps.clock.now();
  const out: { from?: Date; until?: Date } = {};
  for (let i = 0; i < words.length; ) {
    const key = words[i]?.toLowerCase();
    if (key !== 'from' && key !== 'until') throw new UsageError(`unexpected "${words[i]}"`);
    let j = i + 1;
    while (j < words.length && !['from', 'until'].includes(words[j]!.toLowerCase())) j++;
    const text = words.slice(i + 1, j).join(' ');
    const at = text ? parseTime(text, now, ctx.deps.config.timezone) : null;
    if (!at) throw new Refusal(`cannot read the time "${text}" — use 18:00, 2026-11-23 09:00, tomorrow 9:00 or a duration like 8h`);
    out[key] = at;
    i = j;
  }
  return out;
}

export default defineCommand({
  name: 'oncall',
  summary: 'who is on call now and next; set the rotation or take the pager for a while',
  usage: ['oncall [team]', 'oncall set <team> @user [from <time>] [until <time>]', 'oncall take <team> [for <duration>]'],
  examples: ['oncall', 'oncall web', 'oncall set web @alice until friday 18:00', 'oncall set web @bob from tomorrow 9:00', 'oncall take web for 2h'],
  roles: 'anyone',
  async run(ctx) {
    const { store, clock, config } = ctx.deps;
    const [sub, ...rest] = ctx.args;
    const now = clock.now();
    if (sub?.toLowerCase() === 'set') {
      ctx.requireRole('release_manager', 'set the on-call rotation');
      const team = checkTeam(ctx, rest[0]);
      const user = await resolveUser(ctx, rest[1]);
      const { from, until } = readTimes(ctx, rest.slice(2));
      const startsAt = from ?? now;
      if (until && until <= startsAt) throw new Refusal(`the shift would end (${when(until, now)}) before it starts (${when(startsAt, now)})`);
      await store.oncall.set({ team, userId: user.id, setById: ctx.user.id, startsAt, endsAt: until ?? null });
      const span = `${from ? ` from ${when(startsAt, now)}` : ' from now'}${until ? ` until ${when(until, now)}` : ''}`;
      await ctx.reply(`📟 ${ctx.mention(user)} is on call for ${team}${span}`);
      return;
    }
    if (sub?.toLowerCase() === 'take') {
      ctx.requireRole('developer', 'take the pager');
      const team = checkTeam(ctx, rest[0]);
      let ms = DEFAULT_TAKE_MS;
      if (rest.length > 1) {
        if (rest[1]?.toLowerCase() !== 'for' || rest.length !== 3) throw new UsageError('');
        const parsed = parseDuration(rest[2]!);
        if (parsed === null) throw new Refusal(`"${rest[2]}" is not a duration — try 30m, 2h or 1h30m`);
        if (parsed > 7 * 86_400_000) throw new Refusal('an override lasts at most 7 days — ask a release manager to `oncall set` the rotation');
        ms = parsed;
      }
      const endsAt = new Date(now.getTime() + ms);
      await store.oncall.take({ team, userId: ctx.user.id, setById: ctx.user.id, startsAt: now, endsAt });
      await ctx.reply(`📟 ${who(ctx.user, ctx.provider)} has the ${team} pager until ${when(endsAt, now)}`);
      return;
    }
    if (ctx.args.length > 1) throw new UsageError('');
    const teams = sub ? [checkTeam(ctx, sub)] : await store.oncall.teams(Object.keys(config.teams));
    if (teams.length === 0) {
      await ctx.reply('no teams yet — a release manager can `oncall set <team> @user`');
      return;
    }
    const lines = await Promise.all(teams.map(async (team) => shiftLine(team, await store.oncall.lookup(team, now), now, ctx.provider)));
    await ctx.reply(lines.join('\n'));
  },
});
