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

/** What a pick's risk score is computed from. */
export interface ScoreInput {
  /** Lines added + removed. */
  lines: number;
  files: number;
  /** Conversation + review comments; null when unknown (no GitHub, or a commit with no PR). */
  discussion: number | null;
  /** The author's push karma, 1..5 stars. */
  stars: number;
  /** Whether the change touches a test file (see isTestPath). */
  testsChanged: boolean;
  /** Revert or hotfix commits of the last 30 days that touched the same files. */
  recentTrouble: number;
}

export interface Score {
  /** 0..100. */
  score: number;
  /** The one or two factors that add the most, e.g. ['840 lines', '31 comments']. */
  reasons: string[];
}

/**
 * A pick's risk, 0..100: the sum of capped points per factor, so no single factor decides alone. Points:
 * size up to 35 (1 per 20 lines), files up to 10 (1 per file beyond 2), discussion up to 20 (1 per comment),
 * karma up to 20 (5 per missing star), 10 when code changed without tests, and 10 per revert or hotfix of the
 * same files in 30 days (up to 20). Pure.
 *
 *   scoreRisk({ lines: 840, files: 3, discussion: 31, stars: 4, testsChanged: true, recentTrouble: 0 })
 *   // { score: 61, reasons: ['840 lines', '31 comments'] }
 */
export function scoreRisk(input: ScoreInput): Score {
  const stars = Math.min(5, Math.max(0, input.stars));
  const factors: { points: number; reason: string }[] = [
    { points: Math.min(35, Math.floor(input.lines / 20)), reason: `${input.lines} lines` },
    { points: Math.min(10, Math.max(0, input.files - 2)), reason: `${input.files} files` },
    { points: Math.min(20, input.discussion ?? 0), reason: `${input.discussion} comments` },
    { points: (5 - stars) * 5, reason: `author has ${stars} star${stars === 1 ? '' : 's'}` },
    { points: input.testsChanged || input.lines === 0 ? 0 : 10, reason: 'no tests changed' },
    {
      points: Math.min(20, 10 * input.recentTrouble),
      reason: `its files were reverted or hot-fixed ${input.recentTrouble}× in 30 days`,
    },
  ];
  const score = Math.min(
    100,
    factors.reduce((sum, f) => sum + f.points, 0),
  );
  // Stable order on ties: the list above is the order a release manager reads them in.
  const reasons = factors
    .map((f, i) => ({ ...f, i }))
    .filter((f) => f.points > 0)
    .sort((a, b) => b.points - a.points || a.i - b.i)
    .slice(0, 2)
    .map((f) => f.reason);
  return { score, reasons };
}

/** Test files by the usual conventions: a test/tests/spec/__tests__ folder, or *.test.* / *.spec.* / *_test.* names. */
export function isTestPath(path: string): boolean {
  return /(^|\/)(tests?|spec|__tests__)\//.test(path) || /[._-](test|spec)\.[A-Za-z0-9]+$/.test(path) || /_test\.[A-Za-z0-9]+$/.test(path);
}

/** 'risk 72/100: 840 lines, 31 comments', or 'risk 0/100'. */
export function riskText(score: number, reasons: string[]): string {
  return `risk ${score}/100${reasons.length ? `: ${reasons.join(', ')}` : ''}`;
}
