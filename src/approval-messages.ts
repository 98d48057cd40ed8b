/**
 * How a deploy waiting for approval reads in chat.
 *
 *   awaitingApproval(deploy, now, 'Europe/Berlin', 'irc')
 *   // '⏳ #12 web/main (3f78685) → production waits for 1 approval by a release manager other than alice: `approve deploy 12` before 17:30'
 */
import { shortSha, who } from './format.js';
import type { FullDeploy } from './store/deploys.js';
import { formatClock } from './zoned-time.js';

export function awaitingApproval(deploy: FullDeploy, now: Date, zone: string, provider?: string): string {
  const n = deploy.approvalsNeeded;
  const until = deploy.approvalExpiresAt ? ` before ${formatClock(deploy.approvalExpiresAt, now, zone)}` : '';
  return `⏳ #${deploy.id} ${deploy.app}/${deploy.ref} (${shortSha(deploy.sha)}) → ${deploy.environment} waits for ${n} approval${n === 1 ? '' : 's'} by a release manager other than ${who(deploy.requester, provider)}: \`approve deploy ${deploy.id}\`${until}`;
}

/** '⌛ #12 web/main (3f78685) → production cancelled: approval expired (0/1 approvals) — @alice, ask again when a release manager is around'. */
export function approvalExpired(deploy: Pick<FullDeploy, 'id' | 'app' | 'ref' | 'sha' | 'environment' | 'approvalsNeeded'>, mention: string): string {
  return `⌛ #${deploy.id} ${deploy.app}/${deploy.ref} (${shortSha(deploy.sha)}) → ${deploy.environment} cancelled: approval expired (needed ${deploy.approvalsNeeded}) — ${mention}, ask again when a release manager is around`;
}
