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

/**
 * `help`: every command name on one line and how to learn more, so the answer fits any room (IRC pacing
 * sends about one line a second after a short burst; a 24-line list held the channel for half a minute).
 */
export function helpBrief(commands: readonly Command[]): string {
  return [`Commands: ${commands.map((c) => c.name).join(' ')}`, '`help <command>` for usage and examples, `help all` for a line on each'].join('\n');
}

/** `help all`: one line per command. */
export function helpList(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return ['Commands (`help <command>` for usage and examples):', ...lines].join('\n');
}

export function helpOne(command: Command): string {
  const aliases = command.aliases?.length ? ` (also: ${command.aliases.join(', ')})` : '';
  const roles = command.roles === 'anyone' ? 'anyone' : command.roles.map((r) => ROLE_LABEL[r]).join(' or ');
  return [`${command.name}${aliases} — ${command.summary}`, usage(command), `who: ${roles}`, 'examples:', ...command.examples.map((e) => `  ${e}`)].join('\n');
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

// ---- deploys ---------------------------------------------------------------------------------------------------

/** What the deploy messages need to know about a deploy (a Deploy row with its requester and hosts). */
export interface DeployView {
  id: number;
  app: string;
  environment: string;
  ref: string;
  sha: string;
  kind: string;
  state: string;
  releaseId: string;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  requester: Named;
  hosts?: { host: string; state: string; error: string | null }[];
  /** `validate:`: when the checks began (every host switched), and how the window ended. */
  validationStartedAt?: Date | null;
  validation?: string | null;
}

export interface CommitView {
  sha: string;
  message: string;
  author: string;
}

const STATE_ICON: Record<string, string> = {
  awaiting_approval: '⏸️',
  queued: '⏳',
  running: '🚀',
  validating: '🔎',
  succeeded: '✅',
  failed: '❌',
  cancelled: '🛑',
  interrupted: '⚠️',
};

export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

export function deployUrl(webBaseUrl: string, id: number): string {
  return `${webBaseUrl}/deploys/${id}`;
}

/** 'web/main (3f78685) → staging', or 'web back to 3f78685 in staging' for a rollback. */
export function deployTitle(d: Pick<DeployView, 'app' | 'environment' | 'ref' | 'sha' | 'kind'>): string {
  if (d.kind === 'rollback') return `${d.app} back to ${shortSha(d.sha)} (${d.ref}) in ${d.environment}`;
  const ref = d.ref === d.sha || d.sha.startsWith(d.ref) ? shortSha(d.sha) : `${d.ref} (${shortSha(d.sha)})`;
  return `${d.app}/${ref} → ${d.environment}`;
}

/** '  3f78685 fix login (alice)' lines, newest last, with '… and 12 more' on top when cut. */
export function commitLines(commits: CommitView[], total: number | null, max = 10): string[] {
  const shown = commits.slice(-max);
  const more = total === null ? (commits.length > shown.length ? '…' : 0) : total - shown.length;
  const lines = shown.map((c) => `  ${shortSha(c.sha)} ${(c.message.split('\n')[0] ?? '').slice(0, 72)} (${c.author})`);
  if (more === '…') lines.unshift('  … and more before these');
  else if (more > 0) lines.unshift(`  … and ${more} earlier commit${more === 1 ? '' : 's'}`);
  return lines;
}

/** The commits a backwards deploy takes away (CommitList.behind): oldest first, with how many in all. */
export interface CommitsBehind {
  commits: CommitView[];
  total: number | null;
}

/**
 * 'goes back 3 commits: "fix login", "add banner", …' — the newest subjects first (those leave first).
 *
 *   goesBack({ commits, total: 3 }) // 'goes back 3 commits: "c3", "c2", "c1"'
 */
export function goesBack(behind: CommitsBehind, max = 3): string {
  const n = behind.total ?? behind.commits.length;
  const count = behind.total === null ? `more than ${behind.commits.length} commits` : `${n} commit${n === 1 ? '' : 's'}`;
  const subjects = [...behind.commits]
    .reverse()
    .slice(0, max)
    .map((c) => `"${(c.message.split('\n')[0] ?? '').slice(0, 60)}"`);
  const more = n > subjects.length ? ', …' : '';
  return `goes back ${count}${subjects.length ? `: ${subjects.join(', ')}${more}` : ''}`;
}

export interface DeployStartInfo {
  hostCount: number;
  url: string;
  /** What ships: commits between the running SHA and the new one; null when unknown. */
  commits: { commits: CommitView[]; total: number | null; behind?: CommitsBehind | undefined } | null;
  previousSha: string | null;
  /** Things skipped or worth knowing ("CI not checked: no GITHUB_TOKEN"). */
  notes: string[];
  /** The environment's `url:`, when it has one. */
  environmentUrl?: string | null | undefined;
}

export function deployStarted(d: DeployView, info: DeployStartInfo, provider?: string): string {
  const verb = d.kind === 'rollback' ? 'rolling back' : 'deploying';
  const lines = [
    `🚀 #${d.id} ${verb} ${deployTitle(d)} on ${info.hostCount} host${info.hostCount === 1 ? '' : 's'} for ${who(d.requester, provider)} — ${info.url}`,
  ];
  if (info.environmentUrl) lines.push(`${d.environment}: ${info.environmentUrl}`);
  if (d.kind !== 'rollback') {
    if (!info.previousSha) lines.push('first deploy of this environment');
    else if (info.previousSha === d.sha) lines.push(`${shortSha(d.sha)} is already live here: redeploying it`);
    else if (info.commits && info.commits.commits.length > 0) {
      lines.push(`shipping since ${shortSha(info.previousSha)}:`, ...commitLines(info.commits.commits, info.commits.total));
    } else if (info.commits?.behind) lines.push(`${goesBack(info.commits.behind)} (from ${shortSha(info.previousSha)})`);
    else if (info.commits) lines.push(`no new commits since ${shortSha(info.previousSha)}`);
  }
  lines.push(...info.notes.map((n) => `(${n})`));
  return lines.join('\n');
}

export function deployQueued(d: DeployView, ahead: DeployView, position: number, provider?: string): string {
  return `⏳ #${d.id} ${deployTitle(d)} queued behind #${ahead.id} by ${who(ahead.requester, provider)}${position > 1 ? ` (${position} deploys ahead)` : ''} — it starts when that one ends; \`cancel ${d.id}\` to drop it`;
}

export function deployProgress(done: number, total: number, failed: number): string {
  return `${done}/${total} hosts done${failed ? `, ${failed} failed` : ''}`;
}

export function hostFailed(host: string, reason: string, lastLines: string[]): string {
  return [`✗ ${host}: ${reason}`, ...lastLines.map((l) => `  | ${l.slice(0, 300)}`)].join('\n');
}

export function deployFinished(
  d: DeployView,
  info: { durationMs: number; mention: string; url: string; failedHosts: string[]; environmentUrl?: string | null | undefined },
): string {
  const icon = STATE_ICON[d.state] ?? '';
  const failed = info.failedHosts.length ? ` (failed: ${info.failedHosts.slice(0, 5).join(', ')}${info.failedHosts.length > 5 ? ', …' : ''})` : '';
  const why = d.state !== 'succeeded' && d.error ? `: ${d.error}` : '';
  const live = d.state === 'succeeded' && info.environmentUrl ? `, live at ${info.environmentUrl}` : '';
  const checked = d.state === 'succeeded' && d.validation ? `, ${VALIDATION_WORDS[d.validation] ?? `validation ${d.validation}`}` : '';
  return `${icon} #${d.id} ${deployTitle(d)} ${d.state} in ${formatDuration(info.durationMs)}${why}${d.state === 'succeeded' ? failed : ''}${checked}${live} — ${info.mention} ${info.url}`;
}

const VALIDATION_WORDS: Record<string, string> = { passed: 'validated', cancelled: 'validation cancelled (release kept, not counted as validated)' };

export function deployInterrupted(d: DeployView, info: { mention: string; url: string }): string {
  if (d.validationStartedAt) {
    return `⚠️ #${d.id} ${deployTitle(d)} was interrupted during validation: the bot stopped before the window ended. The lock is free; every host was left on release ${d.releaseId} as it is (nothing was rolled back) — look at ${info.url}, then \`rollback ${d.app} in ${d.environment}\` if it is bad. ${info.mention}`;
  }
  return `⚠️ #${d.id} ${deployTitle(d)} was interrupted: the bot stopped while it ran. The lock is free; hosts may be half-way — look at ${info.url}, then deploy again. ${info.mention}`;
}

/**
 * One validation round for the deploy's thread: 'validation round 3/21: 3/3 hosts ok', or with the failures
 * 'validation round 4/21: ✗ web-3 HTTP 502 (failure 1 of at most 2 allowed)'.
 */
export function validationRound(r: {
  round: number;
  rounds: number;
  hosts: number;
  failing: { host: string; reason: string; failures: number }[];
  maxFailures: number;
}): string {
  const head = `validation round ${r.round}/${r.rounds}: ${r.hosts - r.failing.length}/${r.hosts} host${r.hosts === 1 ? '' : 's'} ok`;
  if (r.failing.length === 0) return head;
  const shown = r.failing.slice(0, 5).map((f) => `✗ ${f.host} ${f.reason.slice(0, 120)} (failure ${f.failures}, at most ${r.maxFailures} allowed)`);
  return [head, ...shown, ...(r.failing.length > 5 ? [`… and ${r.failing.length - 5} more host(s)`] : [])].join('\n');
}

/** One line for `deploys`: '#12 ✅ web/main (3f78685) → staging succeeded 5m ago in 42s by alice — url'. */
export function deployListLine(d: DeployView, now: Date, webBaseUrl: string, provider?: string): string {
  const end = d.finishedAt ?? now;
  const took = d.startedAt ? ` in ${formatDuration(end.getTime() - d.startedAt.getTime())}` : '';
  const at = ago(d.finishedAt ?? d.startedAt ?? d.createdAt, now);
  return `#${d.id} ${STATE_ICON[d.state] ?? ''} ${deployTitle(d)} ${d.state} ${at}${took} by ${who(d.requester, provider)} — ${deployUrl(webBaseUrl, d.id)}`;
}

/** `status <deploy-id>`: the deploy, its hosts and where to read the log. */
export function deployDetail(d: DeployView, now: Date, webBaseUrl: string, provider?: string): string {
  const lines = [deployListLine(d, now, webBaseUrl, provider), `release ${d.releaseId}, sha ${d.sha}`];
  if (d.error) lines.push(`error: ${d.error}`);
  for (const h of d.hosts ?? []) lines.push(`  ${h.host}: ${h.state}${h.error ? ` — ${h.error}` : ''}`);
  return lines.join('\n');
}

export interface DryRunView {
  app: string;
  environment: string;
  ref: string;
  sha: string;
  transport: string;
  deployTo: string;
  stages: string[][];
  concurrency: number;
  maxFailures: number;
  steps: readonly string[];
  healthcheck: string | null;
  previousSha: string | null;
  commits: { commits: CommitView[]; total: number | null; behind?: CommitsBehind | undefined } | null;
  notes: string[];
}

export function dryRun(p: DryRunView): string {
  const lines = [`dry run: ${deployTitle({ ...p, kind: 'deploy' })} — nothing will run`];
  p.stages.forEach((hosts, i) => {
    const name = p.stages.length > 1 ? (i === 0 ? 'canary' : 'then') : 'hosts';
    lines.push(`${name}: ${hosts.join(', ')}`);
  });
  lines.push(
    `${p.concurrency} at a time, stop after ${p.maxFailures} failed host${p.maxFailures === 1 ? '' : 's'}; releases in ${p.deployTo} (${p.transport})`,
  );
  lines.push('steps:', ...p.steps.map((s, i) => `  ${i + 1}. ${s}`));
  if (p.healthcheck) lines.push(`healthcheck: ${p.healthcheck}`);
  if (!p.previousSha) lines.push('first deploy of this environment');
  else if (p.commits && p.commits.commits.length > 0)
    lines.push(`would ship since ${shortSha(p.previousSha)}:`, ...commitLines(p.commits.commits, p.commits.total));
  else if (p.previousSha === p.sha) lines.push(`${shortSha(p.sha)} is already live`);
  else if (p.commits?.behind) lines.push(`would ${goesBack(p.commits.behind).replace(/^goes/, 'go')} (from ${shortSha(p.previousSha)})`);
  else if (p.commits) lines.push(`no new commits since ${shortSha(p.previousSha)}`);
  lines.push(...p.notes.map((n) => `(${n})`));
  return lines.join('\n');
}
