/**
 * The bot's own clone of the push app's repository: where refs are resolved, sizes measured without GitHub,
 * push branches cut, and approved picks applied with `git cherry-pick -x`. Every operation that touches the
 * work tree runs one at a time (a promise queue), so a `status` never reads a half-done cherry-pick.
 *
 *   const repo = new PushRepo({ url: 'git@github.com:acme/web.git', dir: 'data/push/web', trunk: 'main' });
 *   await repo.sync();
 *   const sha = await repo.resolve('3f9c2ab');
 *   const results = await repo.cherryPickOnto('push/2026-11-22', [{ id: 4, sha }]);
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GitError, gitOk, remoteProblem, runGit } from '../git-runner.js';
import { badRefName, looksLikeSha } from './git.js';

export interface PushRepoOptions {
  /** Anything `git clone` takes: a URL, scp-style address or a local path. */
  url: string;
  /** Where the clone lives (created on first use). */
  dir: string;
  trunk: string;
  /** Committer of the cherry-picks on the push branch. */
  committer?: { name: string; email: string };
  env?: NodeJS.ProcessEnv;
  /** Fetches closer together than this reuse the last one (status lookups in a busy channel). Default 5 s. */
  fetchEveryMs?: number;
  now?: () => number;
}

export interface CommitInfo {
  sha: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  subject: string;
  /** The whole message. */
  message: string;
  additions: number;
  deletions: number;
  files: number;
}

export type PickOutcome =
  | { id: number; outcome: 'picked'; pickedSha: string }
  | { id: number; outcome: 'empty' }
  | { id: number; outcome: 'conflict'; files: string[]; error?: string };

/** git's well-known empty tree: the "parent" of a root commit when measuring its size. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

export class PushRepo {
  private queue: Promise<unknown> = Promise.resolve();
  private lastFetch = 0;
  private readonly committer: { name: string; email: string };

  constructor(private readonly options: PushRepoOptions) {
    this.committer = options.committer ?? { name: 'Shepherd', email: 'shepherd@localhost' };
  }

  get trunk(): string {
    return this.options.trunk;
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Runs `fn` after every earlier operation on the clone has finished. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private run(args: string[], timeoutMs?: number) {
    return runGit(args, { cwd: this.options.dir, env: this.options.env, timeoutMs });
  }

  private ok(args: string[], timeoutMs?: number) {
    return gitOk(args, { cwd: this.options.dir, env: this.options.env, timeoutMs });
  }

  /** Clones on first use, else fetches every branch (pruning deleted ones). */
  sync(force = false): Promise<void> {
    return this.exclusive(() => this.syncNow(force));
  }

  private async syncNow(force: boolean): Promise<void> {
    const now = (this.options.now ?? Date.now)();
    const { dir, url } = this.options;
    if (!existsSync(join(dir, '.git'))) {
      const problem = remoteProblem(url);
      if (problem) throw new Error(`cannot clone ${JSON.stringify(url)}: ${problem}`);
      mkdirSync(dirname(dir), { recursive: true });
      await gitOk(['clone', '--quiet', '--no-checkout', '--origin', 'origin', '--', url, dir], {
        cwd: dirname(dir),
        env: this.options.env,
        timeoutMs: 600_000,
      });
      this.lastFetch = now;
      return;
    }
    if (!force && now - this.lastFetch < (this.options.fetchEveryMs ?? 5000)) return;
    await this.ok(['fetch', '--quiet', '--prune', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*'], 300_000);
    this.lastFetch = now;
  }

  /**
   * A SHA (full or abbreviated) or a branch/tag name of the remote → the full commit SHA; null when the clone
   * has no such commit. Names are checked against git's ref rules first and looked up only under the
   * remote's branches and tags, so chat text can never become an option or a revision expression.
   */
  async resolve(rev: string): Promise<string | null> {
    const candidates: string[] = [];
    if (looksLikeSha(rev)) candidates.push(rev.toLowerCase());
    if (badRefName(rev) === null) candidates.push(`refs/remotes/origin/${rev}`, `refs/tags/${rev}`);
    for (const candidate of candidates) {
      const r = await this.run(['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`]);
      if (r.code === 0) return r.stdout.trim();
    }
    return null;
  }

  /** The remote branch's head as of the last sync, or null. */
  async branchSha(branch: string): Promise<string | null> {
    if (badRefName(branch) !== null) return null;
    const r = await this.run(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}^{commit}`]);
    return r.code === 0 ? r.stdout.trim() : null;
  }

  /** Author, subject and size (lines added/removed, files) against the first parent. */
  async commitInfo(sha: string): Promise<CommitInfo> {
    const [head] = (await this.ok(['rev-list', '--parents', '-n', '1', sha, '--'])).trim().split('\n');
    const [full, ...parents] = (head ?? '').split(' ');
    const meta = (await this.ok(['show', '-s', '--format=%an%x00%ae%x00%s%x00%B', full as string, '--'])).replace(/\n+$/, '').split('\0');
    const numstat = await this.ok(['diff', '--numstat', '--no-renames', parents[0] ?? EMPTY_TREE, full as string, '--']);
    let additions = 0;
    let deletions = 0;
    let files = 0;
    for (const line of numstat.split('\n')) {
      const m = /^(\d+|-)\t(\d+|-)\t/.exec(line);
      if (!m) continue;
      files++;
      additions += m[1] === '-' ? 0 : Number(m[1]);
      deletions += m[2] === '-' ? 0 : Number(m[2]);
    }
    return {
      sha: full as string,
      parents,
      authorName: meta[0] ?? '',
      authorEmail: meta[1] ?? '',
      subject: meta[2] ?? '',
      message: meta[3] ?? '',
      additions,
      deletions,
      files,
    };
  }

  /**
   * Finds a merged PR by number in trunk's history, by the messages GitHub writes: "Merge pull request #12 from …"
   * (merge) or "Title (#12)" (squash). The local convention used when there is no GitHub token.
   */
  async findPullRequest(number: number): Promise<string | null> {
    const r = await this.run([
      'log',
      '-n',
      '1',
      '--format=%H',
      '-F',
      `--grep=Merge pull request #${number} `,
      `--grep=(#${number})`,
      `refs/remotes/origin/${this.options.trunk}`,
      '--',
    ]);
    return r.code === 0 && r.stdout.trim() ? (r.stdout.trim().split('\n')[0] as string) : null;
  }

  /** Is `ancestor` reachable from `ref`? Unknown commits are "no". */
  async isAncestor(ancestor: string, ref: string): Promise<boolean> {
    const r = await this.run(['merge-base', '--is-ancestor', ancestor, ref]);
    return r.code === 0;
  }

  /** Commits on `ref` whose message records they were cherry-picked from `sha` (`git cherry-pick -x`). */
  async picksOf(sha: string, ref: string): Promise<string[]> {
    const r = await this.run(['log', '--format=%H', '-F', `--grep=(cherry picked from commit ${sha})`, ref, '--']);
    return r.code === 0 ? r.stdout.split('\n').filter(Boolean) : [];
  }

  /** Does the remote already have this branch (as of the last sync)? */
  async hasBranch(branch: string): Promise<boolean> {
    return (await this.branchSha(branch)) !== null;
  }

  /** Creates `branch` on the remote at `sha`. Never overwrites: an existing branch makes git refuse. */
  createBranch(branch: string, sha: string): Promise<void> {
    return this.exclusive(async () => {
      const reason = badRefName(branch);
      if (reason) throw new Error(`bad branch name "${branch}": ${reason}`);
      // --force-with-lease with an empty expectation: create only if it does not exist yet.
      await this.ok(['push', '--quiet', '--porcelain', `--force-with-lease=refs/heads/${branch}:`, 'origin', `${sha}:refs/heads/${branch}`], 300_000);
      await this.ok(['update-ref', `refs/remotes/origin/${branch}`, sha]);
    });
  }

  /**
   * Checks out `branch` fresh from the remote and cherry-picks each commit with `-x`, in the order given.
   * A pick that conflicts is aborted (the branch stays as it was before it) and reported with its
   * conflicting files; one that turns out empty (already on the branch) is skipped. Nothing is pushed.
   */
  cherryPickOnto(branch: string, picks: { id: number; sha: string }[]): Promise<PickOutcome[]> {
    return this.exclusive(async () => {
      const start = await this.branchSha(branch);
      if (!start) throw new Error(`the remote has no branch ${branch}`);
      await this.ok(['checkout', '--quiet', '--force', '-B', branch, start]);
      await this.ok(['reset', '--quiet', '--hard', start]);
      // The clone is the bot's own: stray files from a crashed earlier run must not leak into picks.
      await this.ok(['clean', '-ffdxq']);
      const identity = [
        '-c',
        `user.name=${this.committer.name}`,
        '-c',
        `user.email=${this.committer.email}`,
        '-c',
        'commit.gpgsign=false',
        '-c',
        'core.hooksPath=/dev/null',
      ];
      const outcomes: PickOutcome[] = [];
      for (const pick of picks) {
        // Already there (the branch was cut after it landed, or an earlier pick brought it): nothing to do.
        if ((await this.run(['merge-base', '--is-ancestor', pick.sha, 'HEAD'])).code === 0) {
          outcomes.push({ id: pick.id, outcome: 'empty' });
          continue;
        }
        const parents = (await this.ok(['rev-list', '--parents', '-n', '1', pick.sha, '--'])).trim().split(' ').length - 1;
        // A PR's merge commit is picked against its first parent (trunk), i.e. the PR's whole change.
        const mainline = parents > 1 ? ['-m', '1'] : [];
        const r = await this.run([...identity, 'cherry-pick', '-x', ...mainline, pick.sha]);
        if (r.code === 0) {
          outcomes.push({ id: pick.id, outcome: 'picked', pickedSha: (await this.ok(['rev-parse', 'HEAD'])).trim() });
          continue;
        }
        const conflicted = (await this.run(['diff', '--name-only', '--diff-filter=U'])).stdout.split('\n').filter(Boolean);
        const empty = conflicted.length === 0 && /empty/i.test(r.stderr + r.stdout);
        const inProgress = existsSync(join(this.options.dir, '.git', 'CHERRY_PICK_HEAD'));
        if (inProgress) await this.run(['cherry-pick', '--abort']);
        await this.ok(['reset', '--quiet', '--hard', 'HEAD']);
        if (empty) outcomes.push({ id: pick.id, outcome: 'empty' });
        else
          outcomes.push({
            id: pick.id,
            outcome: 'conflict',
            files: conflicted,
            ...(conflicted.length ? {} : { error: new GitError(['cherry-pick'], r).message }),
          });
      }
      return outcomes;
    });
  }

  /** Pushes the checked-out `branch` (fast-forward only) and returns its head. */
  pushBranch(branch: string): Promise<string> {
    return this.exclusive(async () => {
      const head = (await this.ok(['rev-parse', 'HEAD'])).trim();
      await this.ok(['push', '--quiet', '--porcelain', 'origin', `HEAD:refs/heads/${branch}`], 300_000);
      await this.ok(['update-ref', `refs/remotes/origin/${branch}`, head]);
      return head;
    });
  }

  /**
   * Deletes `branch` on the remote (an aborted push's branch), only while it still points where the last sync
   * saw it, so a commit someone pushed to it meanwhile is not thrown away. False when the remote has no such branch.
   */
  deleteBranch(branch: string): Promise<boolean> {
    return this.exclusive(async () => {
      const reason = badRefName(branch);
      if (reason) throw new Error(`bad branch name "${branch}": ${reason}`);
      // As this clone last saw it (it cut or pushed the branch): a commit pushed there since makes the lease fail.
      const sha = await this.branchSha(branch);
      if (!sha) return false;
      await this.ok(['push', '--quiet', '--porcelain', `--force-with-lease=refs/heads/${branch}:${sha}`, 'origin', `:refs/heads/${branch}`], 300_000);
      await this.ok(['update-ref', '-d', `refs/remotes/origin/${branch}`]);
      return true;
    });
  }
}
