import { type Ctx, defineCommand, Refusal, UsageError } from '../src/command.js';
import { parseTime } from '../src/duration.js';
import { frozenText } from '../src/policy/freeze.js';
import { knownEnvironments } from '../src/targets.js';

/** The environment argument: a plain name some app has (a freeze holds that environment of every app). */
export function freezeEnvironment(ctx: Ctx, arg: string | undefined): string {
  if (!arg) throw new UsageError('name an environment, e.g. production');
  const known = knownEnvironments(ctx.deps.config);
  if (arg.includes('/')) throw new Refusal(`a freeze holds an environment of every app: \`freeze ${arg.split('/').pop()} …\``);
  if (!known.includes(arg)) throw new Refusal(`unknown environment "${arg}" — known: ${known.join(', ') || 'none (add apps to shepherd.yml)'}`);
  return arg;
}

/** 'until <time> <reason…>': the longest time (up to three words) that reads, then the reason. */
function readUntil(words: string[], now: Date, zone: string): { until: Date; rest: string[] } {
  for (let n = Math.min(3, words.length); n >= 1; n--) {
    const at = parseTime(words.slice(0, n).join(' '), now, zone);
    if (at) return { until: at, rest: words.slice(n) };
  }
  throw new Refusal(`cannot read the time "${words.slice(0, 2).join(' ')}" — use mon 09:00, 18:00, 2026-12-23 09:00, tomorrow 9:00 or a duration like 8h`);
}

export default defineCommand({
  name: 'freeze',
  summary: 'stop deploys to an environment (of every app) for a while, or until `unfreeze`',
  usage: ['freeze <env> [until <time>] <reason>'],
  examples: ['freeze production until mon 09:00 black friday', 'freeze production incident 4711', 'freeze staging until 2h db migration'],
  roles: ['release_manager'],
  async run(ctx) {
    const { store, clock, config } = ctx.deps;
    const environment = freezeEnvironment(ctx, ctx.args[0]);
    const now = clock.now();
    let words = ctx.args.slice(1);
    let until: Date | null = null;
    if (words[0]?.toLowerCase() === 'until') {
      ({ until, rest: words } = readUntil(words.slice(1), now, config.timezone));
      if (until <= now) throw new Refusal('that time has passed — give a time still ahead');
    }
    const reason = words.join(' ').trim().slice(0, 200);
    if (!reason) throw new UsageError('say why, so a refused deploy can tell people');
    const row = await store.freezes.set({ environment, reason, until, createdById: ctx.user.id, at: now });
    const text = frozenText(environment, { reason: row.reason, until: row.until, source: 'chat' }, now, config.timezone);
    await ctx.reply(`❄️ ${text} — deploys to it are refused; \`unfreeze ${environment}\` to lift it`);
  },
});
