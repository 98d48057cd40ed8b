/**
 * Scores a requested change (src/push/risk.ts) with what git knows — which files it touches, whether tests are
 * among them, how often those files were reverted or hot-fixed in the last 30 days on trunk — and decides
 * whether `push.auto_approve.max_risk` lets the bot approve it.
 *
 *   const score = await scoreChange({ dir: repo.dir, trunk: 'main', change, stars: 4, now });
 *   autoApproval(score.score, { max_risk: 20 }) // 'risk 12/100 is at or below push.auto_approve.max_risk 20'
 */
import type { Change } from './change.js';
import { changedFiles, recentTrouble } from './history.js';
import { isTestPath, type Score, scoreRisk } from './risk.js';

const DAY = 86_400_000;

export async function scoreChange(input: { dir: string; trunk: string; change: Change; stars: number; now: Date }): Promise<Score> {
  const { change } = input;
  const files = await changedFiles(input.dir, change.sha);
  const trouble = await recentTrouble(input.dir, `refs/remotes/origin/${input.trunk}`, files, {
    since: new Date(input.now.getTime() - 30 * DAY),
    exclude: change.sha,
  });
  const discussion = change.comments === null && change.reviewComments === null ? null : (change.comments ?? 0) + (change.reviewComments ?? 0);
  return scoreRisk({
    lines: change.additions + change.deletions,
    files: change.files,
    discussion,
    stars: input.stars,
    testsChanged: files.some(isTestPath),
    recentTrouble: trouble,
  });
}

/** Why the bot approves a pick of this score, or null when a release manager must decide. */
export function autoApproval(score: number, autoApprove: { max_risk: number } | undefined): string | null {
  if (!autoApprove || score > autoApprove.max_risk) return null;
  return `risk ${score}/100 is at or below push.auto_approve.max_risk ${autoApprove.max_risk}`;
}
