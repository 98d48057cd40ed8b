/**
 * Shepherd's view of GitHub: Octokit behind a small interface, for the deploy engine (ref → SHA, CI state,
 * compare, deployments) and the daily push (PR size, discussion, merged state). Every value that came from
 * chat is validated before it reaches a URL, and Octokit's URL templates percent-encode it as one path segment.
 *
 *   const gh = createGitHub({ token: process.env.GITHUB_TOKEN!, baseUrl: process.env.GITHUB_API_URL });
 *   const sha = await gh.resolveRef('acme/web', 'main'); // '3f786850e387550fdab836ed7e6dc881de23001b' or null
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import Bottleneck from 'bottleneck/light.js';
import { Octokit, RequestError } from 'octokit';
import type { Logger } from 'pino';
import { z } from 'zod';
import { type MaskText, maskPatterns } from './deploy/mask.js';
import { currentGitHubBudget } from './github-deadline.js';
import { GitHubError, type GitHubErrorKind, oneLine } from './github-error.js';
import {
  checkRunsShape,
  combinedStatusShape,
  commitPullsShape,
  commitShape,
  compareShape,
  deploymentShape,
  deploymentsShape,
  pullShape,
  readShape,
  reviewsShape,
} from './github-shapes.js';
import { isFullSha, isValidRef, isValidRepo, REPO } from './refs.js';

export { GitHubError, type GitHubErrorKind };
export { isFullSha, isValidRef, isValidRepo };

/** 'none' = the commit has no statuses and no check runs. */
export type CiState = 'success' | 'pending' | 'failure' | 'none';

/** One CI check of a commit: a check run (by name) or a commit status (by context). */
export interface CiCheck {
  name: string;
  state: Exclude<CiState, 'none'>;
  /** What GitHub says: success, failure, timed_out, cancelled, in_progress, queued, pending, error, ... */
  conclusion: string;
}

/** Where a pull request's reviews stand, as GitHub's merge box says it. */
export type ReviewState = 'approved' | 'changes requested' | 'review required';

/** One commit in a compare list. `message` is the full message: take its first line for chat. */
export interface CommitSummary {
  sha: string;
  message: string;
  /** GitHub login when GitHub knows the author, else the git author name. */
  author: string;
  /** ISO 8601 author date. */
  date?: string;
}

export interface PullRequestRisk {
  number: number;
  title: string;
  author: string;
  headSha: string;
  mergeCommitSha: string | null;
  merged: boolean;
  /** 'open' | 'closed'. */
  state: string;
  additions: number;
  deletions: number;
  changedFiles: number;
  /** Conversation comments. */
  comments: number;
  /** Comments on lines of the diff. */
  reviewComments: number;
  url: string;
}

export interface CommitRisk {
  sha: string;
  author: string;
  message: string;
  /** ISO 8601 committer date (when the commit was made, as git records it); null when GitHub gives none. */
  committedAt: string | null;
  additions: number;
  deletions: number;
  changedFiles: number;
}

/** How head relates to base, with the commits head has that base lacks (oldest first). */
export interface Comparison {
  /** 'ahead' (a normal deploy), 'behind' (a rollback), 'diverged' or 'identical'. */
  status: 'ahead' | 'behind' | 'diverged' | 'identical';
  aheadBy: number;
  behindBy: number;
  /** All commits in base..head, even when `commits` was cut to `limit`. */
  totalCommits: number;
  /** The newest `limit` commits of base..head, oldest first. */
  commits: CommitSummary[];
}

/** What a PR deploy needs to know of a pull request (`deploy web/#22`). */
export interface PullRequestRef {
  number: number;
  /** 'open' | 'closed'. */
  state: string;
  merged: boolean;
  headSha: string;
  /** The head branch name (in headRepo). */
  headRef: string;
  /** 'owner/name' of the head branch's repository; null when the fork was deleted. */
  headRepo: string | null;
  baseRef: string;
  mergeCommitSha: string | null;
  url: string;
}

/** The fields of GET /pulls/{n} a PR deploy reads, checked: a malformed answer is a GitHubError, not a crash. */
const pullRequestRefShape = z.object({
  number: z.number().int(),
  state: z.string(),
  merged: z.boolean().nullish(),
  merge_commit_sha: z.string().nullish(),
  html_url: z.string(),
  head: z.object({ sha: z.string().regex(/^[0-9a-f]{40}$/), ref: z.string(), repo: z.object({ full_name: z.string() }).nullish() }),
  base: z.object({ ref: z.string() }),
});

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

/**
 * What Shepherd asks of GitHub. Repo strings are 'owner/name'.
 *
 *   if ((await gh.ciState('acme/web', sha)) !== 'success') throw new Refusal('CI is not green');
 */
export interface GitHub {
  /** Branch, tag or SHA → full SHA; null when the ref does not exist (404/422) or cannot be a git ref name. */
  resolveRef(repo: string, ref: string): Promise<string | null>;
  /** Combined CI state: legacy commit statuses AND check runs (any failure → failure; any pending/in-progress → pending; all success → success). */
  ciState(repo: string, sha: string): Promise<CiState>;
  /** Every CI check of a commit, check runs and commit statuses (latest per name), e.g. to say which one failed. */
  ciChecks(repo: string, sha: string): Promise<CiCheck[]>;
  /** The PR's review state from its reviews (each reviewer's latest approving or blocking review counts). */
  reviewState(repo: string, number: number): Promise<ReviewState>;
  /** Commits in base..head, oldest first (GitHub compare API), at most `limit` (the newest ones). */
  compare(repo: string, base: string, head: string, limit?: number): Promise<CommitSummary[]>;
  /** compare() with the relation and counts, e.g. to say "and 12 more" or to notice a rollback (status 'behind'). */
  comparison(repo: string, base: string, head: string, limit?: number): Promise<Comparison>;
  /** Creates a GitHub Deployment (auto_merge: false, required_contexts: [] because Shepherd checks CI itself); returns its id. */
  /**
   * `ref` (default the SHA) is what GitHub shows as the deployed ref, e.g. a PR's head branch; `payload` is stored with it.
   */
  createDeployment(
    repo: string,
    input: { sha: string; environment: string; description: string; ref?: string; payload?: Record<string, unknown> },
  ): Promise<number>;
  /** Posts a deployment status: 'in_progress' | 'success' | 'failure' | 'error' | 'inactive', with log_url. */
  setDeploymentStatus(
    repo: string,
    deploymentId: number,
    state: DeploymentState,
    logUrl?: string,
    extra?: { description?: string; environmentUrl?: string },
  ): Promise<void>;
  /** PR data for cherry-pick risk; null when the PR does not exist. */
  pullRequest(repo: string, number: number): Promise<PullRequestRisk | null>;
  /** The PR a commit came from (a squash or merge commit, or a commit of its branch), preferring a merged one; null when none. */
  pullRequestOfCommit(repo: string, sha: string): Promise<PullRequestRisk | null>;
  /** A pull request's head, base and merge state for a PR deploy; null when the PR does not exist. */
  pullRequestRef(repo: string, number: number): Promise<PullRequestRef | null>;
  /** Commit data by SHA (cherry-pick risk, a deploy's commit time): additions/deletions/files, author login, committer date; null if unknown. */
  commit(repo: string, sha: string): Promise<CommitRisk | null>;
}

export interface GitHubOptions {
  token: string;
  /** API root, e.g. 'https://github.acme-inc.com/api/v3' for GitHub Enterprise or a local test server. */
  baseUrl?: string;
  fetch?: typeof fetch;
  logger?: Logger;
  /**
   * The GitHub deadline of one command (src/github-deadline.ts: every question a command asks shares it), or of
   * one question outside a command; retries and rate-limit waits included. Default 15 s: a chat command must
   * not hang. Tests pass a short one.
   */
  timeoutMs?: number;
  /** Retries of 5xx answers and network failures on GET (never on POST: see createDeployment). Default 3. */
  retries?: number;
  /** The first retry waits this long, the next ones 4× and 9× it. Default 1000 ms. */
  retryBaseMs?: number;
  /** Wait for a rate-limit reset and retry once when it is at most this far away. Default 10 s; longer → GitHubError. */
  maxRateLimitWaitSeconds?: number;
  /** Masks deployment descriptions (default: the rules without configured values). */
  mask?: MaskText;
  /**
   * Time between two writes (POST, PATCH, PUT, DELETE) of this client. Default: Octokit's throttling, 1 s between
   * writes of every client in the process, as GitHub asks of integrations (secondary rate limits). A test against
   * a local GitHub passes 0; a deploy makes three writes, so the default costs a test 3 s per deploy.
   */
  writeSpacingMs?: number;
}

/** What one bounded question saw: the deadline's signal and the last HTTP status, to say why it gave up. */
interface CallScope {
  signal: AbortSignal;
  lastStatus?: number;
  /** x-ratelimit-reset of the last answer that said the rate limit is used up (epoch seconds). */
  rateLimitReset?: number;
  /** When this question's deadline fires (ms since the epoch). */
  deadlineAt: number;
}

/** Builds the GitHub client. No request is made until a method is called. */
export function createGitHub(options: GitHubOptions): GitHub {
  const baseUrl = (options.baseUrl ?? 'https://api.github.com').replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxWait = options.maxRateLimitWaitSeconds ?? 10;
  const logger = options.logger;
  // Descriptions carry deploy errors, which quote failing commands: masked before they leave for GitHub.
  const mask = options.mask ?? maskPatterns;
  const log = {
    debug: (message: string) => logger?.debug({ github: true }, message),
    info: (message: string) => logger?.info({ github: true }, message),
    warn: (message: string) => (logger ? logger.warn({ github: true }, message) : console.warn(message)),
    error: (message: string) => (logger ? logger.error({ github: true }, message) : console.error(message)),
  };
  // Rate limits: wait once for a near reset, otherwise fail at once with a clear message (never retry forever).
  // A wait that would outlast the deadline is not taken: the answer is then "rate limited, try at HH:MM", not a timeout.
  const onLimit = (what: string) => (retryAfter: number, opts: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
    const current = scope.getStore();
    const fits = !current || Date.now() + retryAfter * 1000 < current.deadlineAt;
    const retry = retryCount === 0 && retryAfter <= maxWait && fits;
    log.warn(`GitHub ${what} on ${opts.method} ${opts.url}; ${retry ? `retrying in ${retryAfter} s` : 'giving up'}`);
    return retry;
  };
  const scope = new AsyncLocalStorage<CallScope>();
  const baseFetch = options.fetch ?? globalThis.fetch;
  // Notes every status inside a bounded call, so a deadline that fires between retries can say what GitHub answered.
  const watchingFetch: typeof fetch = async (input, init) => {
    const response = await baseFetch(input, init);
    const current = scope.getStore();
    if (current) {
      current.lastStatus = response.status;
      const reset = Number(response.headers.get('x-ratelimit-reset'));
      if (response.headers.get('x-ratelimit-remaining') === '0' && reset > 0) current.rateLimitReset = reset;
    }
    return response;
  };
  const octokit = new Octokit({
    auth: options.token,
    baseUrl,
    log,
    request: { fetch: watchingFetch },
    retry: { retries: options.retries ?? 3, retryAfterBaseValue: options.retryBaseMs ?? 1000 },
    throttle: {
      onRateLimit: onLimit('rate limit'),
      onSecondaryRateLimit: onLimit('secondary rate limit'),
      // A limiter of its own only when asked for other spacing: by default Octokit's, shared by every client.
      ...(options.writeSpacingMs !== undefined ? { write: new Bottleneck.Group({ maxConcurrent: 1, minTime: options.writeSpacingMs }) } : {}),
    },
  });
  // Every request of a bounded call shares its deadline's signal; only GET and HEAD may be retried, because
  // repeating a POST that GitHub carried out before failing would do it twice. (Hooks share one options object
  // per call: it must be changed in place, a wrap hook cannot pass a new one down.)
  octokit.hook.before('request', (endpoint) => {
    const current = scope.getStore();
    const idempotent = /^(GET|HEAD)$/i.test(endpoint.method);
    endpoint.request = { ...endpoint.request, ...(current ? { signal: current.signal } : {}), ...(idempotent ? {} : { retries: 0 }) };
  });

  const bound = timeoutMs < 1000 || timeoutMs % 100 !== 0 ? `${timeoutMs} ms` : `${timeoutMs / 1000} s`;

  /**
   * Runs one question to GitHub under one deadline that covers its requests, retries and waits, and turns any
   * failure into a one-line GitHubError.
   */
  async function bounded<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    // Inside a command, the command's one GitHub budget; a question asked after it ran out fails at once.
    const budget = currentGitHubBudget();
    const left = budget ? timeoutMs - budget.used() : timeoutMs;
    if (left <= 0) throw timedOut(doing, undefined);
    const controller = new AbortController();
    const current: CallScope = { signal: controller.signal, deadlineAt: Date.now() + left };
    const end = budget?.begin();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(timedOut(doing, current));
      }, left);
    });
    try {
      return await Promise.race([scope.run(current, fn), expired]);
    } catch (err) {
      throw toGitHubError(err, doing, baseUrl, bound);
    } finally {
      clearTimeout(timer);
      end?.();
    }
  }

  /** The deadline passed: says what GitHub last answered, if anything, and what to do. */
  function timedOut(doing: string, current: CallScope | undefined): GitHubError {
    const last = current?.lastStatus;
    if (last && last >= 500) {
      return new GitHubError(`GitHub kept answering ${last} and gave up after ${bound} (${doing}) — GitHub is having trouble; try again in a few minutes`, {
        kind: 'http',
        status: last,
      });
    }
    if ((last === 403 || last === 429) && current?.rateLimitReset) {
      return new GitHubError(`GitHub rate limit exhausted (it resets at ${clockTime(current.rateLimitReset)} UTC); try again then (${last}, ${doing})`, {
        kind: 'rate-limit',
        status: last,
      });
    }
    return new GitHubError(`GitHub did not answer within ${bound} (${doing}) — try again in a minute; if it persists, check githubstatus.com`, {
      kind: 'timeout',
    });
  }

  /** Runs fn; a 404/422 becomes null, unless the repository itself is missing (a config or token problem). */
  async function orNull<T>(repo: Repo, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (err) {
      const status = err instanceof RequestError ? err.status : undefined;
      if (status === 422) return null;
      if (status !== 404) throw err;
    }
    try {
      await octokit.rest.repos.get({ owner: repo.owner, repo: repo.name });
    } catch (err) {
      if (err instanceof RequestError && err.status === 404) {
        throw new GitHubError(
          `GitHub has no repository ${repo.full} that this token can see (404) — check the app's repo in shepherd.yml and that GITHUB_TOKEN may read it`,
          { kind: 'not-found', status: 404 },
        );
      }
      throw err;
    }
    return null;
  }

  async function comparison(repoName: string, base: string, head: string, limit = 250): Promise<Comparison> {
    const repo = parseRepo(repoName);
    requireRef(base, 'base');
    requireRef(head, 'head');
    const doing = `comparing ${short(base)}...${short(head)} in ${repo.full}`;
    return bounded(doing, async () => {
      const max = Math.max(0, Math.floor(limit));
      const perPage = 100;
      const page = async (n: number) => {
        const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
          owner: repo.owner,
          repo: repo.name,
          basehead: `${base}...${head}`,
          per_page: perPage,
          page: n,
        });
        return readShape(compareShape, data, doing);
      };
      const first = await page(1);
      const total = first.total_commits;
      let commits = first.commits;
      // GitHub lists oldest first; the newest `limit` are the ones worth showing, so fetch only the last pages.
      const lastPage = Math.ceil(total / perPage);
      const firstNeeded = Math.max(1, Math.floor(Math.max(0, total - max) / perPage) + 1);
      if (lastPage > 1 && max > 0) {
        commits = firstNeeded === 1 ? [...first.commits] : [];
        for (let n = Math.max(2, firstNeeded); n <= lastPage; n++) commits.push(...(await page(n)).commits);
      }
      const wanted = max === 0 ? [] : commits.slice(-max);
      return {
        status: first.status,
        aheadBy: first.ahead_by,
        behindBy: first.behind_by,
        totalCommits: total,
        commits: wanted.map((c) => ({
          sha: c.sha,
          message: c.commit.message,
          author: c.author?.login ?? c.commit.author?.name ?? 'unknown',
          date: c.commit.author?.date,
        })),
      };
    });
  }

  /** GET /pulls/{n} read with `shape` under one deadline (404 → null), then `map`ped: the risk and PR-deploy readers share it. */
  async function readPull<S extends z.ZodType, T>(repoName: string, number: number, shape: S, map: (pr: z.infer<S>) => T): Promise<T | null> {
    const repo = parseRepo(repoName);
    if (!Number.isSafeInteger(number) || number <= 0) return null;
    const doing = `reading pull request #${number} in ${repo.full}`;
    return bounded(doing, () =>
      orNull(repo, async () => {
        const { data } = await octokit.rest.pulls.get({ owner: repo.owner, repo: repo.name, pull_number: number });
        return map(readShape(shape, data, doing));
      }),
    );
  }

  function pullRequest(repoName: string, number: number): Promise<PullRequestRisk | null> {
    return readPull(repoName, number, pullShape, (pr) => ({
      number: pr.number,
      title: pr.title,
      author: pr.user?.login ?? 'ghost',
      headSha: pr.head.sha,
      mergeCommitSha: pr.merge_commit_sha,
      merged: pr.merged,
      state: pr.state,
      additions: pr.additions,
      deletions: pr.deletions,
      changedFiles: pr.changed_files,
      comments: pr.comments,
      reviewComments: pr.review_comments,
      url: pr.html_url,
    }));
  }

  /** The commit's combined status and every check (check runs and statuses, by name), read under one deadline. */
  async function readCi(repoName: string, sha: string) {
    const repo = parseRepo(repoName);
    requireRef(sha, 'commit');
    const doing = `reading CI of ${short(sha)} in ${repo.full}`;
    return bounded(doing, async () => {
      const statuses = async () => {
        const { data } = await octokit.rest.repos.getCombinedStatusForRef({ owner: repo.owner, repo: repo.name, ref: sha, per_page: 100 });
        return readShape(combinedStatusShape, data, doing);
      };
      // Paged by hand rather than with octokit.paginate, so every page is checked before it is read.
      const checkRuns = async () => {
        const runs: { name?: string | undefined; status: string; conclusion: string | null }[] = [];
        for (let page = 1; page <= 10; page++) {
          const { data } = await octokit.rest.checks.listForRef({ owner: repo.owner, repo: repo.name, ref: sha, per_page: 100, filter: 'latest', page });
          const parsed = readShape(checkRunsShape, data, doing);
          runs.push(...parsed.check_runs);
          if (parsed.check_runs.length === 0 || runs.length >= parsed.total_count) break;
        }
        return runs;
      };
      const [combined, runs] = await Promise.all([statuses(), checkRuns()]);
      const checks: (CiCheck & { kind: 'run' | 'status' })[] = [
        ...runs.map((r) => ({
          kind: 'run' as const,
          name: r.name ?? 'check',
          state: checkRunState(r.status, r.conclusion),
          conclusion: r.status === 'completed' ? (r.conclusion ?? 'completed') : r.status,
        })),
        ...(combined.statuses ?? []).map((s) => ({ kind: 'status' as const, name: s.context, state: statusState(s.state), conclusion: s.state })),
      ];
      return { combined, checks };
    });
  }

  return {
    async resolveRef(repoName, ref) {
      const repo = parseRepo(repoName);
      if (!isValidRef(ref)) return null;
      const doing = `resolving ${ref} in ${repo.full}`;
      return bounded(doing, () =>
        orNull(repo, async () => {
          // The sha media type answers with the bare SHA instead of the whole commit and its diff.
          const { data } = await octokit.rest.repos.getCommit({ owner: repo.owner, repo: repo.name, ref, mediaType: { format: 'sha' } });
          const sha = decodeText(data).trim();
          if (!isFullSha(sha)) readShape(z.never(), sha, doing);
          return sha;
        }),
      );
    },

    async ciState(repoName, sha) {
      const { combined, checks } = await readCi(repoName, sha);
      const states: Exclude<CiState, 'none'>[] = [];
      // The combined state is 'pending' when there are no statuses at all, so only count it when there are some.
      if (combined.total_count > 0) states.push(statusState(combined.state));
      for (const check of checks) if (check.kind === 'run') states.push(check.state);
      if (states.length === 0) return 'none';
      if (states.includes('failure')) return 'failure';
      if (states.includes('pending')) return 'pending';
      return 'success';
    },

    async ciChecks(repoName, sha) {
      const { checks } = await readCi(repoName, sha);
      return checks.map(({ name, state, conclusion }) => ({ name, state, conclusion }));
    },

    async reviewState(repoName, number) {
      const repo = parseRepo(repoName);
      const doing = `reading the reviews of #${number} in ${repo.full}`;
      return bounded(doing, async () => {
        const latest = new Map<string, string>();
        for (let page = 1; page <= 10; page++) {
          const { data } = await octokit.rest.pulls.listReviews({ owner: repo.owner, repo: repo.name, pull_number: number, per_page: 100, page });
          const reviews = readShape(reviewsShape, data, doing);
          // A comment-only review does not change where a reviewer stands; a dismissal undoes their approval or block.
          for (const r of reviews) if (r.user && r.state !== 'COMMENTED' && r.state !== 'PENDING') latest.set(r.user.login, r.state);
          if (reviews.length < 100) break;
        }
        const states = [...latest.values()];
        if (states.includes('CHANGES_REQUESTED')) return 'changes requested';
        if (states.includes('APPROVED')) return 'approved';
        return 'review required';
      });
    },

    async compare(repoName, base, head, limit = 250) {
      return (await comparison(repoName, base, head, limit)).commits;
    },

    comparison,

    async createDeployment(repoName, input) {
      const repo = parseRepo(repoName);
      requireRef(input.sha, 'commit');
      if (!/^[A-Za-z0-9._/-]{1,255}$/.test(input.environment)) {
        throw new GitHubError(`"${input.environment}" is not an environment name GitHub accepts`, { kind: 'invalid-input' });
      }
      const doing = `creating a deployment of ${short(input.sha)} to ${input.environment} in ${repo.full}`;
      const description = mask(input.description).slice(0, 140);
      return bounded(doing, async () => {
        const post = async () => {
          const response = await octokit.rest.repos.createDeployment({
            owner: repo.owner,
            repo: repo.name,
            ref: input.ref ?? input.sha,
            ...(input.payload ? { payload: input.payload } : {}),
            environment: input.environment,
            description,
            auto_merge: false,
            required_contexts: [],
          });
          // 202 means GitHub merged the default branch in instead of creating a deployment (not with auto_merge: false).
          if (response.status !== 201) throw new GitHubError(`GitHub did not create a deployment (status ${response.status}) (${doing})`);
          return readShape(deploymentShape, response.data, doing).id;
        };
        // The one this call created, if GitHub made it before failing: same SHA and environment, and the same
        // description, which names the Shepherd deploy (so an older deployment of the SHA is not taken for it).
        const lookUp = async () => {
          const { data } = await octokit.rest.repos.listDeployments({
            owner: repo.owner,
            repo: repo.name,
            sha: input.sha,
            environment: input.environment,
            per_page: 20,
          });
          return readShape(deploymentsShape, data, doing).find((d) => d.description === description)?.id ?? null;
        };
        try {
          return await post();
        } catch (err) {
          // A POST is never retried blindly: after a 5xx GitHub may have created it anyway, so look first, then post once more.
          const status = err instanceof RequestError ? err.status : undefined;
          if (status === undefined || status < 500) throw err;
          log.warn(`GitHub said ${status} ${doing}; looking for the deployment before posting again`);
          const existing = await lookUp();
          if (existing !== null) return existing;
          return post();
        }
      });
    },

    async setDeploymentStatus(repoName, deploymentId, state, logUrl, extra = {}) {
      const repo = parseRepo(repoName);
      if (!Number.isSafeInteger(deploymentId) || deploymentId <= 0) {
        throw new GitHubError(`${deploymentId} is not a GitHub deployment id`, { kind: 'invalid-input' });
      }
      await bounded(`posting ${state} for deployment ${deploymentId} in ${repo.full}`, () =>
        octokit.rest.repos.createDeploymentStatus({
          owner: repo.owner,
          repo: repo.name,
          deployment_id: deploymentId,
          state,
          ...(logUrl ? { log_url: logUrl } : {}),
          ...(extra.description ? { description: mask(extra.description).slice(0, 140) } : {}),
          ...(extra.environmentUrl ? { environment_url: extra.environmentUrl } : {}),
        }),
      );
    },

    pullRequest,

    async pullRequestOfCommit(repoName, sha) {
      const repo = parseRepo(repoName);
      if (!isValidRef(sha)) return null;
      const doing = `finding the pull request of ${short(sha)} in ${repo.full}`;
      // One deadline for both requests: the listing has no sizes or comment counts, so the PR is read after it.
      return bounded(doing, async () => {
        const number = await orNull(repo, async () => {
          const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner: repo.owner, repo: repo.name, commit_sha: sha });
          const pulls = readShape(commitPullsShape, data, doing);
          // The PR that merged this very commit (a squash or merge commit) first, then any merged one, then any.
          const merged = pulls.filter((p) => p.merged_at !== null);
          return (merged.find((p) => p.merge_commit_sha === sha) ?? merged[0] ?? pulls[0])?.number ?? null;
        });
        return number ? pullRequest(repoName, number) : null;
      });
    },

    pullRequestRef(repoName, number) {
      return readPull(repoName, number, pullRequestRefShape, (pr) => ({
        number: pr.number,
        state: pr.state,
        merged: pr.merged === true,
        headSha: pr.head.sha,
        headRef: pr.head.ref,
        headRepo: pr.head.repo?.full_name ?? null,
        baseRef: pr.base.ref,
        mergeCommitSha: pr.merge_commit_sha ?? null,
        url: pr.html_url,
      }));
    },

    async commit(repoName, sha) {
      const repo = parseRepo(repoName);
      if (!isValidRef(sha)) return null;
      const doing = `reading commit ${short(sha)} in ${repo.full}`;
      return bounded(doing, () =>
        orNull(repo, async () => {
          const { data: raw } = await octokit.rest.repos.getCommit({ owner: repo.owner, repo: repo.name, ref: sha });
          const data = readShape(commitShape, raw, doing);
          return {
            sha: data.sha,
            author: data.author?.login ?? data.commit.author?.name ?? 'unknown',
            message: data.commit.message,
            committedAt: data.commit.committer?.date ?? null,
            additions: data.stats?.additions ?? 0,
            deletions: data.stats?.deletions ?? 0,
            changedFiles: data.files?.length ?? 0,
          };
        }),
      );
    },
  };
}

interface Repo {
  owner: string;
  name: string;
  full: string;
}

function parseRepo(repo: string): Repo {
  const m = REPO.exec(repo);
  if (!m || !isValidRepo(repo)) throw new GitHubError(`"${repo}" is not a GitHub repository name (want owner/name)`, { kind: 'invalid-input' });
  return { owner: m[1]!, name: m[2]!, full: repo };
}

function requireRef(ref: string, what: string): void {
  if (!isValidRef(ref)) throw new GitHubError(`${JSON.stringify(ref)} is not a valid git ${what} name`, { kind: 'invalid-input' });
}

function checkRunState(status: string, conclusion: string | null): Exclude<CiState, 'none'> {
  if (status !== 'completed') return 'pending';
  // neutral and skipped runs do not block (GitHub shows them as passing); anything else that is not success does.
  return conclusion === 'success' || conclusion === 'neutral' || conclusion === 'skipped' ? 'success' : 'failure';
}

function statusState(state: string): Exclude<CiState, 'none'> {
  return state === 'success' ? 'success' : state === 'pending' ? 'pending' : 'failure';
}

function short(ref: string): string {
  return isFullSha(ref) ? ref.slice(0, 7) : ref;
}

/** 'HH:MM' (UTC) of an epoch-seconds time, as GitHub's x-ratelimit-reset gives it. */
function clockTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(11, 16);
}

function decodeText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  return String(data);
}

/** Turns whatever Octokit threw into a GitHubError whose one line says what failed, the status and what to do. */
function toGitHubError(err: unknown, doing: string, baseUrl: string, bound: string): GitHubError {
  if (err instanceof GitHubError) return err;
  const e = err as { name?: string; message?: string; cause?: { name?: string } } | undefined;
  // The deadline aborted the request (the race usually reports it first; this is the fetch's own rejection).
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError' || e?.cause?.name === 'AbortError') {
    return new GitHubError(`GitHub did not answer within ${bound} (${doing}) — try again in a minute`, { kind: 'timeout', cause: err });
  }
  if (!(err instanceof RequestError)) {
    // Not an HTTP answer: a bug or a body Octokit could not handle. Never quote it (it may be a page of HTML).
    return new GitHubError(`GitHub request failed (${doing}): ${oneLine(e?.message ?? String(err)).slice(0, 120)}`, { kind: 'network', cause: err });
  }
  const response = err.response;
  if (!response) {
    // Octokit reports a fetch that never got an answer as status 500 without a response.
    return new GitHubError(`GitHub is unreachable at ${baseUrl}: ${err.message} (${doing}) — check GITHUB_API_URL and the network`, {
      kind: 'network',
      cause: err,
    });
  }
  const headers = response.headers as Record<string, string | undefined>;
  const data = response.data as { message?: unknown } | string | undefined;
  // Only GitHub's own JSON message is quoted; an HTML error page or other text is described, never pasted into chat.
  const message = typeof data === 'object' && data && typeof data.message === 'string' ? data.message : null;
  const said = message
    ? ` ${oneLine(message)
        .replace(/\s+-\s+https?:\/\/\S+$/, '')
        .slice(0, 160)}`
    : typeof data === 'string' && /^\s*</.test(data)
      ? ' (an HTML error page)'
      : '';
  const status = err.status;
  if (status === 401)
    return new GitHubError(`GitHub said 401${said} (${doing}) — GITHUB_TOKEN is wrong, expired or revoked; set a valid token and restart`, {
      kind: 'auth',
      status,
      cause: err,
    });
  if (status === 403 || status === 429) {
    if (headers['x-ratelimit-remaining'] === '0') {
      const reset = Number(headers['x-ratelimit-reset']);
      const at = Number.isFinite(reset) && reset > 0 ? ` (it resets at ${clockTime(reset)} UTC)` : '';
      return new GitHubError(`GitHub rate limit exhausted${at}; try again then (${status}, ${doing})`, { kind: 'rate-limit', status, cause: err });
    }
    if (/secondary rate limit/i.test(said) || headers['retry-after']) {
      const after = Number(headers['retry-after']);
      const wait = Number.isFinite(after) && after > 0 ? `in ${after} s` : 'in a minute';
      return new GitHubError(`GitHub secondary rate limit hit; try again ${wait} (${status}, ${doing})`, { kind: 'rate-limit', status, cause: err });
    }
    return new GitHubError(`GitHub said 403${said} (${doing}) — GITHUB_TOKEN may not do this; give it access to the repository`, {
      kind: 'auth',
      status,
      cause: err,
    });
  }
  if (status === 404 || status === 422) {
    return new GitHubError(`GitHub said ${status}${said} (${doing}) — check the repository and ref`, { kind: 'not-found', status, cause: err });
  }
  const todo = status >= 500 ? ' — GitHub is having trouble; try again in a few minutes' : '';
  return new GitHubError(`GitHub said ${status}${said} (${doing})${todo}`, { kind: 'http', status, cause: err });
}
