/**
 * What git knows about a pick's files: which files a commit changed, and how often those files were reverted
 * or hot-fixed lately. Read from the push app's clone (real git), so it works with or without GitHub.
 *
 *   const files = await changedFiles(repo.dir, sha);              // ['src/login.ts', 'test/login.test.ts']
 *   const n = await recentTrouble(repo.dir, 'refs/remotes/origin/main', files, { since, exclude: sha });
 */
import { runGit as git } from '../git-runner.js';

/** Paths a commit changed; for a merge commit, what it brought in over its first parent. [] when unknown. */
export async function changedFiles(dir: string, sha: string): Promise<string[]> {
  const parent = await git(['rev-parse', '--verify', '--quiet', `${sha}^1`], { cwd: dir });
  const args = parent.code === 0 ? ['diff', '--name-only', '--no-renames', `${sha}^1`, sha] : ['show', '--name-only', '--format=', '--no-renames', sha];
  const out = await git(args, { cwd: dir });
  return out.code === 0 ? out.stdout.split('\n').filter(Boolean) : [];
}

/**
 * Commits on `ref` since `since` whose message starts with "Revert" or mentions a hotfix and that touched any
 * of `files`; the pick's own commits (`exclude` and what it merged) are not counted.
 */
export async function recentTrouble(dir: string, ref: string, files: string[], options: { since: Date; exclude: string }): Promise<number> {
  if (files.length === 0) return 0;
  const own = await git(['rev-list', `${options.exclude}^1..${options.exclude}`], { cwd: dir });
  const skip = new Set([options.exclude, ...(own.code === 0 ? own.stdout.split('\n').filter(Boolean) : [])]);
  const out = await git(
    [
      // Paths come from git, but a file named ':!x' would still read as pathspec magic.
      '--literal-pathspecs',
      'log',
      '--format=%H',
      '--regexp-ignore-case',
      '--extended-regexp',
      `--since=${options.since.toISOString()}`,
      '--grep=^Revert',
      '--grep=hot-?fix',
      ref,
      '--',
      ...files.slice(0, 200),
    ],
    { cwd: dir },
  );
  if (out.code !== 0) return 0;
  return out.stdout.split('\n').filter((sha) => sha && !skip.has(sha)).length;
}
