/**
 * Every message the bot writes is shaped here, so Slack, IRC and the shell read the same.
 * Plain text with `backticks` for things to type; adapters turn that into their own markup where they have one.
 */
import type { Command } from './command.js';
import { formatDuration } from './duration.js';
import { ROLE_LABEL, type Role } from './roles.js';
import { MAX_STARS } from './store/karma.js';
import type { HeldLock } from './store/locks.js';
import { ALL_APPS } from './store/locks.js';
import type { Shift } from './store/oncall.js';
import type { KnownUser } from './store/users.js';

type Named = Pick<KnownUser, 'name' | 'identities'>;

/** A user's name as seen from `provider`. */
export function who(user: Named, provider?: string): string {
  return (user.identities.find((i) => i.provider === provider) ?? user.identities[0])?.handle ?? user.name;
}

export function stars(n: number): string {
  return `${'★'.repeat(n)}${'☆'.repeat(MAX_STARS - n)} (${n}/${MAX_STARS})`;
}

/** '3m ago', '2h ago', or the date for anything older than a week. */
export function ago(then: Date, now: Date): string {
  const ms = now.getTime() - then.getTime();
  if (Math.abs(ms) < 10_000) return 'just now';
  if (ms < 0) return `in ${formatDuration(-ms)}`;
  if (ms > 7 * 86_400_000) return `on ${then.toISOString().slice(0, 10)}`;
  return `${formatDuration(ms)} ago`;
}

/** '18:00' today, or 'Mon 23 Nov 09:00' further out. */
export function when(at: Date, now: Date): string {
  const hm = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
  if (at.toDateString() === now.toDateString()) return hm;
  return `${at.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short' })} ${hm}`;
}

export function lockScope(lock: Pick<HeldLock, 'app' | 'environment'>): string {
  return lock.app === ALL_APPS ? lock.environment : `${lock.app}/${lock.environment}`;
}

export function lockLine(lock: HeldLock, now: Date, provider?: string): string {
  const why = lock.reason ? ` — "${lock.reason}"` : '';
  const by = lock.deployId ? `deploy #${lock.deployId} by ${who(lock.holder, provider)}` : who(lock.holder, provider);
  return `🔒 ${lockScope(lock)} held by ${by} since ${ago(lock.createdAt, now)}${why}`;
}

export function shiftLine(team: string, lookup: { now: Shift | null; next: Shift | null; nextAt: Date | null }, now: Date, provider?: string): string {
  if (!lookup.now && !lookup.next) return `${team}: nobody on call — a release manager can \`oncall set ${team} @user\``;
  const current = lookup.now
    ? `${who(lookup.now.user, provider)}${lookup.now.kind === 'override' ? ' (override)' : ''}${lookup.now.endsAt ? ` until ${when(lookup.now.endsAt, now)}` : ''}`
    : 'nobody';
  const next = lookup.next ? `, next: ${who(lookup.next.user, provider)}${lookup.nextAt ? ` from ${when(lookup.nextAt, now)}` : ''}` : '';
  return `${team}: on call now ${current}${next}`;
}

export function roleList(roles: Role[]): string {
  return roles.length ? roles.map((r) => ROLE_LABEL[r]).join(', ') : 'no role (not listed in developers)';
}

/** 'usage: lock [<app>/]<env> [reason]' (every grammar line of the command). */
export function usage(command: Command): string {
  return command.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}${u}`).join('\n');
}

export function helpList(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return ['Commands (`help <command>` for usage and examples):', ...lines].join('\n');
}

export function helpOne(command: Command): string {
  const aliases = command.aliases?.length ? ` (also: ${command.aliases.join(', ')})` : '';
  const roles = command.roles === 'anyone' ? 'anyone' : command.roles.map((r) => ROLE_LABEL[r]).join(' or ');
  return [
    `${command.name}${aliases} — ${command.summary}`,
    usage(command),
    `who: ${roles}`,
    'examples:',
    ...command.examples.map((e) => `  ${e}`),
  ].join('\n');
}

export function unknownCommand(name: string, suggestion?: string): string {
  return `unknown command \`${name}\` — try \`help\`${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}`;
}

export function refused(reason: string): string {
  return `✋ ${reason}`;
}

export function failed(reason: string): string {
  return `⚠️ something went wrong: ${reason}`;
}
