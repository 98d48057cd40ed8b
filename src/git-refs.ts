/**
 * Ref lookups with real git, for when GITHUB_TOKEN is not set: any git URL or path works. Names are resolved
 * with `git ls-remote`; SHAs (full or abbreviated) and commit lists come from a bare mirror the bot keeps
 * under a cache dir (`git clone --mirror` once, `git fetch` when something is missing). Git always runs through
 * the hardened runner (src/git-runner.ts), user-typed values only after `--` / `--end-of-options`, and only after
 * isValidRef() / remoteProblem() accepted them, so nothing can be read as an option or run a command.
 *
 *   const sha = await resolveRefWithGit('git@github.com:acme/web.git', 'main', '/var/cache/shepherd/git');
 *   const commits = await commitsBetweenWithGit(url, runningSha, sha, cacheDir, 20);
 *   const committedAt = await commitDateWithGit(url, sha, cacheDir); // Date or null
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GitError, GitRunError, gitOk, gitReason, remoteProblem } from './git-runner.js';
import type { CommitSummary } from './github.js';
import { isFullSha, isValidRef } from './refs.js';
import { KeyedMutex } from './keyed-mutex.js';

/** git failed in a way a person should hear about (unreachable remote, no such repository). One line. */
export class GitRefsError extends Error {
  override name = 'GitRefsError';
}

const LS_REMOTE_TIMEOUT_MS = 60_000;
const FETCH_TIMEOUT_MS = 10 * 60_000;

/**
 * Branch, tag, full ref name or SHA (full or at least 4 hex digits) → full SHA; null when it does not exist.
 * Like `git rev-parse`: an exact `refs/...` name first, then a tag (peeled to its commit), then a branch, then a
 * commit id found in the mirror.
 */
export async function resolveRefWithGit(repoUrl: string, ref: string, cacheDir: string): Promise<string | null> {
  checkUrl(repoUrl);
  if (!isValidRef(ref)) return null;
  const { stdout } = await git(['ls-remote', '--', repoUrl, ref, `${ref}^{}`], { timeout: LS_REMOTE_TIMEOUT_MS, doing: `git ls-remote ${redact(repoUrl)}` });
  const refs = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha && name) refs.set(name, sha);
  }
  // ls-remote matches a pattern against the tail of every ref (so 'main' also matches refs/heads/x/main):
  // pick the exact names, in git's own order of precedence. An annotated tag resolves to its commit, listed
  // as 'refs/tags/<tag>^{}' only when that is asked for too.
  const candidates = ref === 'HEAD' ? ['HEAD'] : ref.startsWith('refs/') ? [ref] : [`refs/${ref}`, `refs/tags/${ref}`, `refs/heads/${ref}`];
  for (const name of candidates) {
    const sha = refs.get(`${name}^{}`) ?? refs.get(name);
    if (sha) return sha;
  }
  if (!/^[0-9a-fA-F]{4,64}$/.test(ref)) return null;
  return findCommit(repoUrl, ref.toLowerCase(), cacheDir);
}

/**
 * Commits in base..head (reachable from head, not from base), oldest first, at most `limit` (the newest ones),
 * read from the mirror with `git log`. Fetches once when base or head is not in the mirror yet; a base or head
 * that does not exist even then is a GitRefsError.
 */
export async function commitsBetweenWithGit(repoUrl: string, base: string, head: string, cacheDir: string, limit: number): Promise<CommitSummary[]> {
  checkUrl(repoUrl);
  for (const [what, value] of [
    ['base', base],
    ['head', head],
  ] as const) {
    if (!isValidRef(value)) throw new GitRefsError(`${JSON.stringify(value)} is not a valid git ${what} name`);
  }
  const max = Math.max(0, Math.floor(limit));
  if (max === 0) return [];
  const mirror = await ensureMirror(repoUrl, cacheDir);
  const [baseSha, headSha] = await withMirrorLock(mirror, async () => {
    // Branch names move, so only full SHAs may be answered from the mirror without a fetch first.
    let fetched = false;
    if (!isFullSha(base) || !isFullSha(head)) {
      await fetchMirror(mirror, repoUrl);
      fetched = true;
    }
    let found = await Promise.all([revParse(mirror, base), revParse(mirror, head)]);
    if (found.includes(null) && !fetched) {
      await fetchMirror(mirror, repoUrl);
      found = await Promise.all([revParse(mirror, base), revParse(mirror, head)]);
    }
    return found;
  });
  if (!baseSha) throw new GitRefsError(`${base} is not a commit in ${redact(repoUrl)}`);
  if (!headSha) throw new GitRefsError(`${head} is not a commit in ${redact(repoUrl)}`);
  const { stdout } = await git(['-C', mirror, 'log', `--max-count=${max}`, '--format=%H%x00%an%x00%aI%x00%B%x1e', '--end-of-options', headSha, `^${baseSha}`], {
    doing: 'git log',
  });
  return stdout
    .split('\x1e')
    .map((record) => record.replace(/^\n/, ''))
    .filter(Boolean)
    .map((record) => {
      const [sha, author, date, message] = record.split('\x00') as [string, string, string, string];
      return { sha, author, date, message: message.replace(/\n+$/, '') };
    })
    .reverse();
}

/**
 * When a commit was made: its committer date (`git show -s --format=%cI`) read from the mirror, fetching once
 * when the commit is not there yet; null when the repository has no such commit.
 */
export async function commitDateWithGit(repoUrl: string, sha: string, cacheDir: string): Promise<Date | null> {
  checkUrl(repoUrl);
  if (!isFullSha(sha)) throw new GitRefsError(`${JSON.stringify(sha)} is not a full commit SHA`);
  const mirror = await ensureMirror(repoUrl, cacheDir);
  const found = await withMirrorLock(mirror, async () => {
    if (await revParse(mirror, sha)) return true;
    await fetchMirror(mirror, repoUrl);
    return (await revParse(mirror, sha)) !== null;
  });
  if (!found) return null;
  const { stdout } = await git(['-C', mirror, 'show', '-s', '--format=%cI', '--end-of-options', `${sha}^{commit}`], { doing: 'git show' });
  const date = new Date(stdout.trim());
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The mirror's directory for a URL: readable name plus a hash, so two URLs never share one. */
export function mirrorPath(repoUrl: string, cacheDir: string): string {
  const name = basename(repoUrl.replace(/[/\\]+$/, ''))
    .replace(/\.git$/, '')
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 40);
  const hash = createHash('sha256').update(repoUrl).digest('hex').slice(0, 12);
  return join(cacheDir, `${name || 'repo'}-${hash}.git`);
}

async function findCommit(repoUrl: string, prefix: string, cacheDir: string): Promise<string | null> {
  const mirror = await ensureMirror(repoUrl, cacheDir);
  return withMirrorLock(mirror, async () => {
    const match = (sha: string | null) => (sha?.startsWith(prefix) ? sha : null);
    const known = match(await revParse(mirror, prefix));
    if (known) return known;
    await fetchMirror(mirror, repoUrl);
    return match(await revParse(mirror, prefix));
  });
}

/** `git rev-parse --verify <rev>^{commit}`: the full SHA, or null (unknown or ambiguous). */
async function revParse(mirror: string, rev: string): Promise<string | null> {
  try {
    const { stdout } = await git(['-C', mirror, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { doing: 'git rev-parse' });
    const sha = stdout.trim();
    return /^[0-9a-f]{40,64}$/.test(sha) ? sha : null;
  } catch {
    return null;
  }
}

/** Clones the bare mirror on first use. Clones into a temp dir and renames, so a half clone is never used. */
async function ensureMirror(repoUrl: string, cacheDir: string): Promise<string> {
  const dir = mirrorPath(repoUrl, cacheDir);
  if (existsSync(join(dir, 'HEAD'))) return dir;
  return withMirrorLock(dir, async () => {
    if (existsSync(join(dir, 'HEAD'))) return dir;
    await mkdir(cacheDir, { recursive: true });
    const tmp = await mkdtemp(`${dir}.tmp-`);
    try {
      await git(['clone', '--mirror', '--quiet', '--', repoUrl, tmp], { timeout: FETCH_TIMEOUT_MS, doing: `git clone --mirror ${redact(repoUrl)}` });
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (existsSync(join(dir, 'HEAD'))) return dir; // another process won the race
      throw err;
    }
    return dir;
  });
}

async function fetchMirror(mirror: string, repoUrl: string): Promise<void> {
  await git(['-C', mirror, 'fetch', '--prune', '--quiet', '--', repoUrl, '+refs/*:refs/*'], {
    timeout: FETCH_TIMEOUT_MS,
    doing: `git fetch ${redact(repoUrl)}`,
  });
}

// One git operation per mirror at a time inside this process (a fetch and a clone must not overlap).
const locks = new KeyedMutex();
function withMirrorLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  return locks.run(dir, fn);
}

function checkUrl(repoUrl: string): void {
  // A URL starting with '-' would be an option; ext:: and other transports could run commands.
  const problem = remoteProblem(repoUrl);
  if (problem) throw new GitRefsError(`${JSON.stringify(redact(repoUrl))} is not a git URL or path I will use: ${problem}`);
}

/** Hides credentials in URLs (https://user:token@host/...) before they reach a message or a log. */
function redact(url: string): string {
  return url.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
}

/** The runner, with failures as one-line GitRefsErrors that name what was being done. */
async function git(args: string[], options: { timeout?: number; doing: string }): Promise<{ stdout: string }> {
  try {
    return { stdout: await gitOk(args, { timeoutMs: options.timeout ?? LS_REMOTE_TIMEOUT_MS }) };
  } catch (err) {
    if (err instanceof GitError)
      throw new GitRefsError(`${options.doing} failed: ${redact(gitReason(err.result.stderr, err.result.stdout) || `exit ${err.result.code}`)}`);
    if (err instanceof GitRunError) throw new GitRefsError(`${options.doing} failed: ${redact(err.message)}`);
    throw err;
  }
}
