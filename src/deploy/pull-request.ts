/**
 * A PR deploy (`deploy web/#22 to staging`): the pull request's SHA, and the two PR rules that come before the
 * gates (SPEC "More configuration"): `allow_prs` (may an unmerged PR deploy here?) and `outdated: N` (an open PR
 * behind its base by more than N commits must merge its base first). They are refusals before the gate
 * pipeline on purpose: they decide WHICH SHA may be deployed at all, while the gates decide whether a known SHA
 * may go now; the pipeline then runs with entry 'pr deploy' like any deploy.
 *
 *   const pr = await resolvePullRequestDeploy(revisions, plan, 'staging', envConfig, 22);
 *   // { sha, ref: '#22', note: 'pull request #22 (fix-login): https://github.com/acme/web/pull/22', … }
 */
import { allowsPullRequests, type EnvironmentConfig } from '../config.js';
import type { PullRequestRef } from '../github.js';
import type { Plan } from './plan.js';
import type { Revisions } from './source.js';

/** A reason to refuse, already phrased for chat (why, and what to do next). */
export class PullRequestRefusal extends Error {}

export interface PullRequestDeploy {
  sha: string;
  /** The deploy's ref as stored and shown: '#22'. */
  ref: string;
  pr: PullRequestRef;
  /** The line for the start message that links the PR. */
  note: string;
}

/** '#22' → 22; null for any other ref. */
export function pullRequestNumber(ref: string): number | null {
  const m = /^#([1-9]\d{0,8})$/.exec(ref);
  return m ? Number(m[1]) : null;
}

/**
 * Reads the PR and applies allow_prs and outdated. Throws PullRequestRefusal for a rule or a missing PR;
 * GitHubError (from the client) when GitHub cannot answer.
 */
export async function resolvePullRequestDeploy(
  revisions: Pick<Revisions, 'pullRequest' | 'behindBy'>,
  plan: Pick<Plan, 'app' | 'appConfig' | 'repoUrl'>,
  environment: string,
  env: Pick<EnvironmentConfig, 'allow_prs' | 'allowed_roles' | 'outdated'>,
  number: number,
): Promise<PullRequestDeploy> {
  const app = plan.app;
  const pr = await revisions.pullRequest(plan, number);
  if (pr === undefined) {
    throw new PullRequestRefusal(
      `${app} does not go through GitHub, so it has no pull requests — set GITHUB_TOKEN and \`repo:\` for ${app}, or deploy a branch or SHA`,
    );
  }
  if (pr === null) throw new PullRequestRefusal(`${plan.appConfig.repo} has no pull request #${number} — check the number`);
  const ref = `#${number}`;
  if (pr.merged) {
    // Merged: its merge commit is on the base branch, so it is no longer "unmerged code" (allow_prs does not apply).
    const sha = pr.mergeCommitSha ?? pr.headSha;
    return { sha, ref, pr, note: `pull request #${number} (merged into ${pr.baseRef}): ${pr.url}` };
  }
  if (pr.state !== 'open') throw new PullRequestRefusal(`pull request #${number} is closed without being merged — reopen it first`);
  if (!allowsPullRequests(env)) {
    throw new PullRequestRefusal(
      `${app}/${environment} takes no unmerged pull requests (allow_prs: false) — merge #${number} into ${pr.baseRef} and deploy ${pr.baseRef}, or deploy #${number} to another environment`,
    );
  }
  if (env.outdated !== undefined) {
    const behind = await revisions.behindBy(plan, pr.baseRef, pr.headSha);
    if (behind !== null && behind > env.outdated) {
      throw new PullRequestRefusal(
        `pull request #${number} is ${behind} commit(s) behind ${pr.baseRef} (${app}/${environment} allows ${env.outdated}) — merge ${pr.baseRef} first, then deploy again`,
      );
    }
  }
  return { sha: pr.headSha, ref, pr, note: `pull request #${number} (${pr.headRef}): ${pr.url}` };
}
