/**
 * How risky a cherry-pick looks to a release manager: its size (lines added + removed, files) and how much
 * discussion it drew (conversation + review comments). A pick that is both big and much discussed is
 * flagged "look closely" (thresholds: push.risk in shepherd.yml). Pure.
 *
 *   assessRisk({ additions: 300, deletions: 20, files: 9, comments: 8, reviewComments: 6 }, { lines: 200, comments: 10 })
 *   // { lines: 320, discussion: 14, lookClosely: true }
 */
export interface RiskInput {
  additions: number;
  deletions: number;
  files: number;
  /** null: unknown (no GitHub). */
  comments: number | null;
  reviewComments: number | null;
}

export interface RiskThresholds {
  lines: number;
  comments: number;
}

export interface Risk {
  lines: number;
  files: number;
  /** Conversation + review comments; null when unknown. */
  discussion: number | null;
  lookClosely: boolean;
}

export function assessRisk(input: RiskInput, thresholds: RiskThresholds): Risk {
  const lines = input.additions + input.deletions;
  const discussion = input.comments === null && input.reviewComments === null ? null : (input.comments ?? 0) + (input.reviewComments ?? 0);
  // Both must exceed: a big mechanical change nobody argued about, or a small one with a long thread, is normal.
  const lookClosely = discussion !== null && lines > thresholds.lines && discussion > thresholds.comments;
  return { lines, files: input.files, discussion, lookClosely };
}
