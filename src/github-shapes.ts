/**
 * The parts of GitHub's REST answers that Shepherd reads, as zod schemas: an answer is checked here before any
 * field is used, so a malformed body (an HTML error page served as 200, cut-off JSON) becomes one clear line
 * instead of "Cannot read properties of undefined". Unknown fields are ignored; only what is read is required.
 *
 *   const pr = readShape(pullShape, data, 'reading pull request #12 in acme/web'); // throws GitHubError 'bad-response'
 */
import { z } from 'zod';
import { GitHubError } from './github-error.js';

const user = z.object({ login: z.string() }).nullable();
const count = z.number().int().min(0);

export const pullShape = z.object({
  number: z.number().int(),
  title: z.string(),
  // A deleted account shows as null (GitHub's "ghost").
  user,
  head: z.object({ sha: z.string() }),
  merge_commit_sha: z.string().nullable(),
  merged: z.boolean(),
  state: z.string(),
  additions: count,
  deletions: count,
  changed_files: count,
  comments: count,
  review_comments: count,
  html_url: z.string(),
});

/** GET /repos/{o}/{r}/commits/{sha}/pulls: the PRs a commit belongs to (the short listing, no sizes). */
export const commitPullsShape = z.array(
  z.object({
    number: z.number().int(),
    merged_at: z.string().nullable(),
    merge_commit_sha: z.string().nullable().optional(),
    base: z.object({ ref: z.string() }),
  }),
);

const person = z.object({ name: z.string().optional(), date: z.string().optional() }).nullable().optional();

export const commitShape = z.object({
  sha: z.string(),
  author: user.optional(),
  commit: z.object({ message: z.string(), author: person, committer: person }),
  stats: z.object({ additions: count, deletions: count }).optional(),
  files: z.array(z.object({ filename: z.string() })).optional(),
});

export const compareShape = z.object({
  status: z.enum(['ahead', 'behind', 'diverged', 'identical']),
  ahead_by: count,
  behind_by: count,
  total_commits: count,
  commits: z.array(commitShape.omit({ stats: true, files: true })),
});

export const combinedStatusShape = z.object({
  state: z.string(),
  total_count: count,
  // Older answers (and GitHub Enterprise) may leave the list out; the combined state still counts.
  statuses: z.array(z.object({ context: z.string(), state: z.string() })).optional(),
});

export const checkRunsShape = z.object({
  total_count: count,
  check_runs: z.array(z.object({ name: z.string().optional(), status: z.string(), conclusion: z.string().nullable() })),
});

/** GET /repos/{o}/{r}/pulls/{n}/reviews: oldest first. */
export const reviewsShape = z.array(z.object({ user, state: z.string() }));

export const deploymentShape = z.object({ id: z.number().int().positive(), sha: z.string(), environment: z.string(), description: z.string().nullable() });
export const deploymentsShape = z.array(deploymentShape);

/** The parsed answer, or a GitHubError saying GitHub's answer could not be read (never the body itself). */
export function readShape<S extends z.ZodType>(shape: S, data: unknown, doing: string): z.infer<S> {
  const parsed = shape.safeParse(data);
  if (parsed.success) return parsed.data;
  const what = typeof data === 'string' ? (/^\s*</.test(data) ? 'an HTML page' : 'text that is not JSON') : 'JSON without the expected fields';
  throw new GitHubError(`GitHub sent ${what} instead of an answer (${doing}) — try again; if it keeps happening, check GITHUB_API_URL`, {
    kind: 'bad-response',
  });
}
