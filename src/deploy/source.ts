/**
 * Where revisions come from: GitHub when GITHUB_TOKEN is set and the app names its `repo`, else git itself
 * against the app's repo_url (ls-remote and a cached mirror). Both answer the same questions; what git cannot
 * answer (CI state, GitHub Deployments) comes back as null, and callers say what they skipped.
 *
 *   const revisions = new Revisions(github, '/var/cache/shepherd/git');
 *   const sha = await revisions.resolve(plan, 'main');
 */
import { commitDateWithGit, commitsBetweenWithGit, resolveRefWithGit } from '../git-refs.js';
import type { CiState, CommitSummary, DeploymentState, GitHub, PullRequestRef } from '../github.js';
import type { Plan } from './plan.js';

export interface CommitList {
  /** Oldest first, at most the limit asked for (the newest ones). */
  commits: CommitSummary[];
  /** How many there are in all, when known. */
  total: number | null;
  /**
   * Set when head is an ancestor of base (a deploy that goes back): the commits that leave, oldest first, at
   * most the limit (the newest ones), and how many leave in all when known. `commits` is then empty.
   */
  behind?: { commits: CommitSummary[]; total: number | null } | undefined;
}

/** How far back a backwards deploy is counted exactly with git (beyond: "more than 1000"). */
const BEHIND_COUNT_MAX = 1000;

type Where = Pick<Plan, 'appConfig' | 'repoUrl'>;

export class Revisions {
  constructor(
    private readonly github: GitHub | null,
    private readonly gitCacheDir: string,
  ) {}

  /** True when this app's revisions, CI and deployments go through GitHub. */
  usesGitHub(plan: Where): boolean {
    return this.github !== null && Boolean(plan.appConfig.repo);
  }

  /** Branch, tag or SHA → full SHA; null when it does not exist. Throws GitHubError / GitRefsError when unreachable. */
  async resolve(plan: Where, ref: string): Promise<string | null> {
    if (this.github && plan.appConfig.repo) return this.github.resolveRef(plan.appConfig.repo, ref);
    return resolveRefWithGit(plan.repoUrl, ref, this.gitCacheDir);
  }

  /** Combined CI state; null when nobody can tell (no GitHub). */
  async ciState(plan: Where, sha: string): Promise<CiState | null> {
    if (!this.github || !plan.appConfig.repo) return null;
    return this.github.ciState(plan.appConfig.repo, sha);
  }

  /**
   * Commits in base..head, oldest first, at most `limit`. When there are none and head is not base, head is
   * an ancestor of base: `behind` then lists the commits that going from base to head takes away.
   */
  async commits(plan: Where, base: string, head: string, limit: number): Promise<CommitList> {
    if (base === head) return { commits: [], total: 0 };
    if (this.github && plan.appConfig.repo) {
      const c = await this.github.comparison(plan.appConfig.repo, base, head, limit);
      if (c.status !== 'behind') return { commits: c.commits, total: c.totalCommits };
      const back = await this.github.comparison(plan.appConfig.repo, head, base, limit);
      return { commits: [], total: 0, behind: { commits: back.commits, total: c.behindBy } };
    }
    const ahead = await this.gitCommits(plan, base, head, limit);
    if (ahead.commits.length > 0) return ahead;
    // Nothing in base..head although they differ: head is reachable from base, so the deploy goes back.
    // Counted up to BEHIND_COUNT_MAX from the local mirror, so the message can say how many leave.
    const back = await this.gitCommits(plan, head, base, BEHIND_COUNT_MAX);
    return { commits: [], total: 0, behind: { commits: back.commits.slice(-limit), total: back.total } };
  }

  private async gitCommits(plan: Where, base: string, head: string, limit: number): Promise<CommitList> {
    // One more than asked tells whether there are more than `limit`.
    const commits = await commitsBetweenWithGit(plan.repoUrl, base, head, this.gitCacheDir, limit + 1);
    return commits.length > limit ? { commits: commits.slice(-limit), total: null } : { commits, total: commits.length };
  }

  /** When `sha` was committed (committer date), from GitHub or git; null when unknown. Throws when unreachable. */
  async commitTime(plan: Where, sha: string): Promise<Date | null> {
    if (this.github && plan.appConfig.repo) {
      const at = (await this.github.commit(plan.appConfig.repo, sha))?.committedAt;
      const date = at ? new Date(at) : null;
      return date && !Number.isNaN(date.getTime()) ? date : null;
    }
    return commitDateWithGit(plan.repoUrl, sha, this.gitCacheDir);
  }

  /** A pull request of the app's repository; undefined when the app does not go through GitHub (no PRs to read). */
  async pullRequest(plan: Where, number: number): Promise<PullRequestRef | null | undefined> {
    if (!this.github || !plan.appConfig.repo) return undefined;
    return this.github.pullRequestRef(plan.appConfig.repo, number);
  }

  /** How many commits `base` has that `head` lacks (compare base...head `behind_by`); GitHub only. */
  async behindBy(plan: Where, base: string, head: string): Promise<number | null> {
    if (!this.github || !plan.appConfig.repo) return null;
    return (await this.github.comparison(plan.appConfig.repo, base, head, 0)).behindBy;
  }

  /** Creates a GitHub Deployment; null without GitHub. */
  async createDeployment(
    plan: Where,
    input: { sha: string; environment: string; description: string; ref?: string; payload?: Record<string, unknown> },
  ): Promise<number | null> {
    if (!this.github || !plan.appConfig.repo) return null;
    return this.github.createDeployment(plan.appConfig.repo, input);
  }

  /** With the environment's `url:` as environment_url when the plan has one. */
  async setDeploymentStatus(
    plan: Where & Partial<Pick<Plan, 'environmentUrl'>>,
    id: number,
    state: DeploymentState,
    logUrl: string,
    description?: string,
  ): Promise<void> {
    if (!this.github || !plan.appConfig.repo) return;
    await this.github.setDeploymentStatus(plan.appConfig.repo, id, state, logUrl, {
      ...(description ? { description } : {}),
      ...(plan.environmentUrl ? { environmentUrl: plan.environmentUrl } : {}),
    });
  }
}
