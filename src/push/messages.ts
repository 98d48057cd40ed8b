/**
 * Every message of the daily push, shaped in one place (like src/format.ts for the rest of the bot), so the
 * shell, IRC and Slack read the same.
 *
 *   pickLine(pick, { lines: 200, comments: 10 }, 4, 'irc')
 *   // 'pick 3 · #12 "Fix login" (9fceb02) by alice ★★★★☆ (4/5) · +10 −2 in 3 files · 5 comments (2 + 3 review) · requested'
 */
import { formatDuration } from '../duration.js';
import { stars, when, who } from '../format.js';
import type { PickRow, PushRow } from '../store/push.js';
import { assessRisk, type Risk, type RiskThresholds, riskText } from './risk.js';

const STATE_ICON: Record<string, string> = {
  requested: '📝',
  approved: '👍',
  rejected: '🚫',
  picked: '🍒',
  conflict: '💥',
  deferred: '⏭',
  shipped: '🚢',
};

export function short(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 7) : '?';
}

/** 'pick 3' — how picks are named in chat; `approve 3` and `approve p3` both find it. */
export function pickName(pick: Pick<PickRow, 'id'>): string {
  return `pick ${pick.id}`;
}

/** '#12 "Fix login" (9fceb02)' or '9fceb02 "Fix login"'. */
export function subjectText(pick: Pick<PickRow, 'prNumber' | 'sha' | 'title'>): string {
  const title = pick.title ? ` "${pick.title.length > 72 ? `${pick.title.slice(0, 71)}…` : pick.title}"` : '';
  return pick.prNumber !== null ? `#${pick.prNumber}${title} (${short(pick.sha)})` : `${short(pick.sha)}${title}`;
}

/** '+10 −2 in 3 files · 5 comments (2 + 3 review)' or '… · discussion unknown (no GitHub)'. */
export function sizeText(pick: Pick<PickRow, 'additions' | 'deletions' | 'files' | 'comments' | 'reviewComments' | 'prNumber'>): string {
  const size = `+${pick.additions} −${pick.deletions} in ${pick.files} file${pick.files === 1 ? '' : 's'}`;
  if (pick.comments === null && pick.reviewComments === null) {
    return `${size} · discussion unknown${pick.prNumber === null ? ' (a commit, not a PR)' : ' (no GitHub token)'}`;
  }
  const c = pick.comments ?? 0;
  const r = pick.reviewComments ?? 0;
  return `${size} · ${c + r} comment${c + r === 1 ? '' : 's'} (${c} + ${r} review)`;
}

export function lookCloselyText(risk: Risk, thresholds: RiskThresholds): string {
  return `👀 look closely: ${risk.lines} lines changed (> ${thresholds.lines}) and ${risk.discussion} comments (> ${thresholds.comments})`;
}

/** One pick on one line, with its risk and state; a second line when it needs a close look or has a note. */
export function pickLine(pick: PickRow, thresholds: RiskThresholds, authorStars: number, provider?: string): string {
  const risk = assessRisk(pick, thresholds);
  const author = `${who(pick.author, provider)}${pick.authorName && pick.authorName !== who(pick.author, provider) ? ` (${pick.authorName})` : ''}`;
  let line = `${STATE_ICON[pick.state] ?? '•'} ${pickName(pick)} · ${subjectText(pick)} by ${author} ${stars(authorStars)} · ${pickRiskText(pick)}${sizeText(pick)} · ${pick.state}`;
  if (pick.state === 'approved' && pick.decidedById === null && pick.reason) line += ` (${pick.reason})`;
  if (pick.state === 'rejected' && pick.reason) line += ` — "${pick.reason}"`;
  if (pick.state === 'conflict') line += pick.conflictFiles ? ` in ${pick.conflictFiles.split('\n').join(', ')}` : pick.reason ? ` — ${pick.reason}` : '';
  if ((pick.state === 'picked' || pick.state === 'shipped') && pick.pickedSha) line += ` as ${short(pick.pickedSha)}`;
  if (pick.state === 'deferred' && pick.reason) line += ` — ${pick.reason}`;
  if (risk.lookClosely) line += `\n    ${lookCloselyText(risk, thresholds)}`;
  return line;
}

/** 'risk 72/100: 840 lines, 31 comments · ', or '' for a pick from before scoring. */
export function pickRiskText(pick: Pick<PickRow, 'risk' | 'riskReasons'>): string {
  return pick.risk === null ? '' : `${riskText(pick.risk, pick.riskReasons ? pick.riskReasons.split('\n') : [])} · `;
}

/** Highest risk first (unscored last), then in request order: what a release manager should read first. */
export function byRisk(picks: PickRow[]): PickRow[] {
  return [...picks].sort((a, b) => (b.risk ?? -1) - (a.risk ?? -1) || a.id - b.id);
}

export function pushName(push: Pick<PushRow, 'id' | 'branch'>): string {
  return push.branch ? `push ${push.id} (${push.branch})` : `push ${push.id}`;
}

/** 'confirming: window closes 10:30 (12m left)'. */
export function pushStateText(push: PushRow, now: Date): string {
  if (push.state === 'open') return 'open: collecting picks, not started (`push start`)';
  if (push.state === 'confirming') {
    if (push.deferredAt) return `confirming: the window closed at ${when(push.deferredAt, now)}; ready to \`push ship\``;
    if (push.confirmBy) {
      const left = push.confirmBy.getTime() - now.getTime();
      return `confirming: authors say \`here\` until ${when(push.confirmBy, now)} (${left > 0 ? `${formatDuration(left)} left` : 'closing now'})`;
    }
  }
  if (push.state === 'shipped') return `shipped${push.headSha ? ` at ${short(push.headSha)}` : ''}${push.environment ? ` to ${push.environment}` : ''}`;
  return push.state;
}

type Author = PickRow['author'];
type Mention = (user: Author) => string;

/** The reply to `cherry-pick`: what was requested, its risk, by whom with how many stars, and who confirms it. */
export function requestedText(input: {
  pick: PickRow;
  push: PushRow;
  carried: PickRow[];
  inTrunk: boolean;
  trunk: string;
  authorStars: number;
  thresholds: RiskThresholds;
  /** Why the bot approved it, when push.auto_approve did. */
  autoApproved?: string | null | undefined;
  /** How to mention the author so they are notified; absent: their name. */
  mention?: Mention | undefined;
  provider?: string | undefined;
}): string {
  const { pick, push, provider } = input;
  const risk = assessRisk(pick, input.thresholds);
  const asked = pick.requesterId !== pick.authorId ? `, asked by ${who(pick.requester, provider)}` : '';
  const name = who(pick.author, provider);
  const alias = pick.authorName && pick.authorName !== name ? ` (${pick.authorName})` : '';
  const lines = [
    `📝 ${pickName(pick)} requested for ${pushName(push)}: ${subjectText(pick)} by ${name}${alias} ${stars(input.authorStars)}${asked}`,
    `   ${pickRiskText(pick)}${sizeText(pick)}`,
  ];
  if (risk.lookClosely) lines.push(`   ${lookCloselyText(risk, input.thresholds)}`);
  if (!input.inTrunk) lines.push(`   ⚠️ not in ${input.trunk} yet — land it there too, or the next push will not have it`);
  if (input.carried.length > 0)
    lines.push(
      `   (${pushName(push)} opened with ${input.carried.length} pick${input.carried.length === 1 ? '' : 's'} deferred from the last push: ${input.carried.map(pickName).join(', ')})`,
    );
  if (pick.author.identities.length === 0) {
    const login = pick.author.githubLogin ?? pick.authorName;
    lines.push(`   ⚠️ ${login} has not linked chat — the pick waits for them to say \`iam github ${login}\` and then confirm with \`here\``);
  } else if (pick.requesterId !== pick.authorId) {
    const mention = input.mention ? input.mention(pick.author) : name;
    lines.push(`   ${mention}: ${who(pick.requester, provider)} asked for your change — you confirm it (\`here\`) when the push starts`);
  }
  if (input.autoApproved) lines.push(`   👍 approved by the bot: ${input.autoApproved} — a release manager can still \`reject ${pick.id} [reason]\``);
  else lines.push(`   a release manager decides: \`approve ${pick.id}\` or \`reject ${pick.id} [reason]\``);
  return lines.join('\n');
}

/** `picks`: the push, then each pick with state and risk, then a count per state. */
export function picksText(
  push: PushRow | null,
  picks: PickRow[],
  starsOf: Map<number, number>,
  thresholds: RiskThresholds,
  now: Date,
  provider?: string,
): string {
  if (!push) return 'no push yet — `cherry-pick <#PR|sha>` asks for the first pick and opens one';
  const head = `${pushName(push)} — ${pushStateText(push, now)}`;
  if (picks.length === 0) return `${head}\n  no picks yet — \`cherry-pick <#PR|sha>\``;
  const counts = new Map<string, number>();
  for (const p of picks) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
  const closely = picks.filter((p) => assessRisk(p, thresholds).lookClosely).length;
  const summary = `${picks.length} pick${picks.length === 1 ? '' : 's'}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}${closely ? ` · ${closely} to look at closely` : ''}`;
  return [head, ...byRisk(picks).map((p) => `  ${pickLine(p, thresholds, starsOf.get(p.authorId) ?? 0, provider)}`), summary].join('\n');
}

/** Asks authors to confirm; authors known only by GitHub login are told how to link chat first. */
export function askText(push: PushRow, authors: Author[], mention: Mention, now: Date): string {
  const until = push.confirmBy ? ` by ${when(push.confirmBy, now)}` : '';
  const inChat = authors.filter((a) => a.identities.length > 0);
  const notInChat = authors.filter((a) => a.identities.length === 0).map((a) => a.githubLogin ?? a.name);
  const lines: string[] = [];
  if (inChat.length)
    lines.push(
      `🙋 ${inChat.map(mention).join(' ')}: ${pushName(push)} has your approved picks — say \`here\`${until} to confirm you are online to support it, or they are deferred to the next push`,
    );
  if (notInChat.length)
    lines.push(
      `🙋 ${notInChat.join(', ')} ${notInChat.length === 1 ? 'has' : 'have'} not linked chat: their picks wait for \`iam github <login>\` and \`here\`${until}, or they are deferred to the next push`,
    );
  return lines.join('\n');
}

function brief(p: PickRow, provider?: string): string {
  return `${pickName(p)} ${subjectText(p)} (${who(p.author, provider)})`;
}

/** `push status`. */
export function statusText(input: {
  push: PushRow | null;
  picks: PickRow[];
  confirmed: Author[];
  waiting: Author[];
  now: Date;
  provider?: string | undefined;
}): string {
  const { push, picks, provider } = input;
  if (!push) return 'no push yet — `cherry-pick <#PR|sha>` asks for a pick, a release manager runs `push start`';
  const confirmedIds = new Set(input.confirmed.map((u) => u.id));
  const lines = [`${pushName(push)} — ${pushStateText(push, input.now)}`];
  if (push.baseSha) lines.push(`  cut from ${push.baseRef} at ${short(push.baseSha)}${push.startedAt ? ` ${when(push.startedAt, input.now)}` : ''}`);
  lines.push(`  confirmed: ${input.confirmed.length ? input.confirmed.map((u) => who(u, provider)).join(', ') : 'nobody yet'}`);
  if (push.state === 'open' || push.state === 'confirming')
    lines.push(`  waiting for: ${input.waiting.length ? input.waiting.map((u) => who(u, provider)).join(', ') : 'nobody'}`);
  const section = (title: string, list: PickRow[], note: (p: PickRow) => string = () => '') => {
    if (list.length) lines.push(`  ${title} (${list.length}):`, ...list.map((p) => `    ${brief(p, provider)}${note(p)}`));
  };
  section(
    'in',
    picks.filter((p) => (p.state === 'approved' && confirmedIds.has(p.authorId)) || p.state === 'picked' || p.state === 'shipped'),
    (p) => (p.pickedSha ? ` as ${short(p.pickedSha)}` : ''),
  );
  section(
    'waiting on their author',
    picks.filter((p) => p.state === 'approved' && !confirmedIds.has(p.authorId)),
  );
  section(
    'undecided',
    picks.filter((p) => p.state === 'requested'),
  );
  section(
    'out',
    picks.filter((p) => p.state === 'rejected' || p.state === 'conflict' || p.state === 'deferred'),
    (p) => {
      if (p.state === 'conflict') return ` — conflict${p.conflictFiles ? ` in ${p.conflictFiles.split('\n').join(', ')}` : ''}`;
      return ` — ${p.state}${p.reason ? `: ${p.reason}` : ''}`;
    },
  );
  if (picks.length === 0) lines.push('  no picks');
  return lines.join('\n');
}

/** The reply to `push ship`. */
export function shipText(input: {
  push: PushRow;
  shipped: PickRow[];
  conflicts: PickRow[];
  deferred: PickRow[];
  headSha: string;
  environment: string | null;
  deploy: { id: number; note?: string | undefined; done?: unknown } | null;
  deployError: string | null;
  deployWired: boolean;
  trunk: string;
  mention: Mention;
  provider?: string | undefined;
}): string {
  const { push, provider } = input;
  const lines = [
    `🚢 ${pushName(push)} shipped: ${push.branch} is at ${short(input.headSha)} — ${input.shipped.length} pick${input.shipped.length === 1 ? '' : 's'} in, ${input.conflicts.length} conflict${input.conflicts.length === 1 ? '' : 's'}, ${input.deferred.length} deferred`,
  ];
  for (const p of input.shipped) lines.push(`  ✅ ${brief(p, provider)}${p.pickedSha ? ` as ${short(p.pickedSha)}` : ` (${p.reason ?? 'no change'})`}`);
  for (const p of input.conflicts) {
    lines.push(
      `  💥 ${brief(p, provider)} conflicts${p.conflictFiles ? ` in ${p.conflictFiles.split('\n').join(', ')}` : p.reason ? `: ${p.reason}` : ''} — skipped; fix it on ${input.trunk} and ask again`,
    );
  }
  for (const p of input.deferred) lines.push(`  ⏭ ${brief(p, provider)} deferred to the next push: ${p.reason ?? 'not ready'}`);
  if (input.deploy)
    lines.push(`  🚀 deploying ${push.branch} to ${input.environment}: deploy #${input.deploy.id}${input.deploy.note ? ` (${input.deploy.note})` : ''}`);
  else if (input.deployError)
    lines.push(
      `  ⚠️ the branch is pushed but the deploy did not start: ${input.deployError} — run \`deploy ${push.app}/${push.branch}${input.environment ? ` to ${input.environment}` : ''}\``,
    );
  else if (!input.deployWired)
    lines.push(`  the branch is pushed; deploy it with \`deploy ${push.app}/${push.branch}${input.environment ? ` to ${input.environment}` : ''}\``);
  const shippedAuthors = uniqueAuthors(input.shipped);
  if (shippedAuthors.length) {
    const deploying = input.deploy ? ' — stay around while it deploys' : '';
    lines.push(`${shippedAuthors.map(input.mention).join(' ')}: your picks shipped in ${pushName(push)}${deploying}`);
  }
  const conflictAuthors = uniqueAuthors(input.conflicts);
  if (conflictAuthors.length) lines.push(`${conflictAuthors.map(input.mention).join(' ')}: your pick conflicted and was skipped`);
  return lines.join('\n');
}

function uniqueAuthors(picks: PickRow[]): Author[] {
  const seen = new Map<number, Author>();
  for (const p of picks) if (!seen.has(p.authorId)) seen.set(p.authorId, p.author);
  return [...seen.values()];
}

/** After the push's deploy ended: tells the authors whether their picks are live. */
export function liveText(input: { push: PushRow; shipped: PickRow[]; deployId: number; environment: string | null; state: string; mention: Mention }): string {
  const authors = uniqueAuthors(input.shipped).map(input.mention).join(' ');
  if (input.state === 'succeeded')
    return `🎉 ${authors}: your picks are live in ${input.environment} (deploy #${input.deployId} of ${pushName(input.push)} succeeded)`;
  return `⚠️ ${authors}: deploy #${input.deployId} of ${pushName(input.push)} ended ${input.state} — your picks are on ${input.push.branch} but not live in ${input.environment}`;
}
