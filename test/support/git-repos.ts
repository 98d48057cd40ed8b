/**
 * Real git repositories for push tests: a bare repository in a temp dir plays the remote (GitHub), a work
 * clone plays the developers. Trunk gets history; PRs are branches merged with GitHub's own merge message
 * ("Merge pull request #12 from acme/fix-login"), so the no-token PR lookup works on them too.
 *
 *   const g = createGitRemote();
 *   const sha = g.commit({ 'app.txt': 'v2\n' }, 'fix: login', 'alice');
 *   const { merge } = g.mergePr(12, 'fix-login', { 'a.txt': 'x\n' }, 'Fix login', 'bob');
 *   g.close();
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface GitRemote {
  root: string;
  /** The bare repository: use as repo_url. */
  remote: string;
  /** A developers' clone that pushes to it. */
  work: string;
  git(args: string[], cwd?: string): string;
  /** Commits files (path → content) on `branch` as `author` and pushes; returns the SHA. */
  commit(files: Record<string, string>, message: string, author: string, branch?: string): string;
  /** A PR: a branch from trunk with one commit, merged --no-ff with GitHub's message and pushed. */
  mergePr(number: number, branch: string, files: Record<string, string>, title: string, author: string): { head: string; merge: string };
  /** Creates a branch on the remote at `sha`. */
  branch(name: string, sha: string): void;
  /** The remote branch's commits, newest first: sha, subject and full message. */
  log(ref: string): { sha: string; subject: string; body: string }[];
  /** File content at ref on the remote. */
  show(ref: string, path: string): string;
  sha(ref: string): string;
  close(): void;
}

const who = (name: string) => ({ name, email: `${name}@example.com` });

export function createGitRemote(trunk = 'main'): GitRemote {
  const root = mkdtempSync(join(tmpdir(), 'shepherd-git-'));
  const remote = join(root, 'remote.git');
  const work = join(root, 'work');
  const run = (args: string[], cwd = work, author = 'setup') => {
    const p = who(author);
    return execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: p.name,
        GIT_AUTHOR_EMAIL: p.email,
        GIT_COMMITTER_NAME: p.name,
        GIT_COMMITTER_EMAIL: p.email,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        LC_ALL: 'C',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  };
  run(['init', '--quiet', '--bare', `--initial-branch=${trunk}`, remote], root);
  run(['clone', '--quiet', remote, work], root);
  run(['checkout', '--quiet', '-B', trunk]);

  const write = (files: Record<string, string>) => {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
    }
  };

  const g: GitRemote = {
    root,
    remote,
    work,
    git: (args, cwd = work) => run(args, cwd),
    commit(files, message, author, branch = trunk) {
      // symbolic-ref works on the unborn trunk of a fresh clone, where checkout would not.
      if (run(['symbolic-ref', '--short', 'HEAD']).trim() !== branch) run(['checkout', '--quiet', branch]);
      write(files);
      run(['add', '--all']);
      run(['commit', '--quiet', '-m', message], work, author);
      run(['push', '--quiet', 'origin', branch]);
      return run(['rev-parse', 'HEAD']).trim();
    },
    mergePr(number, branch, files, title, author) {
      run(['checkout', '--quiet', trunk]);
      run(['checkout', '--quiet', '-b', branch]);
      write(files);
      run(['add', '--all']);
      run(['commit', '--quiet', '-m', title], work, author);
      const head = run(['rev-parse', 'HEAD']).trim();
      run(['push', '--quiet', 'origin', branch]);
      run(['checkout', '--quiet', trunk]);
      run(['merge', '--quiet', '--no-ff', '-m', `Merge pull request #${number} from acme/${branch}\n\n${title}`, branch], work, author);
      run(['push', '--quiet', 'origin', trunk]);
      return { head, merge: run(['rev-parse', 'HEAD']).trim() };
    },
    branch(name, sha) {
      run(['push', '--quiet', 'origin', `${sha}:refs/heads/${name}`]);
    },
    log(ref) {
      const out = run(['log', '--format=%H%x00%s%x00%B%x1e', ref], remote);
      return out
        .split('\x1e')
        .map((r) => r.replace(/^\n/, ''))
        .filter(Boolean)
        .map((r) => {
          const [sha, subject, body] = r.split('\x00') as [string, string, string];
          return { sha, subject, body };
        });
    },
    show: (ref, path) => run(['show', `${ref}:${path}`], remote),
    sha: (ref) => run(['rev-parse', ref], remote).trim(),
    close: () => rmSync(root, { recursive: true, force: true }),
  };
  // Trunk with some history before anything is picked.
  g.commit({ 'README.md': '# web\n', 'app.txt': 'line 1\nline 2\nline 3\n' }, 'initial commit', 'setup');
  g.commit({ 'shared.txt': 'greeting = hello\n' }, 'add shared config', 'setup');
  g.commit({ 'app.txt': 'line 1\nline 2 (tuned)\nline 3\n' }, 'tune line 2', 'setup');
  return g;
}
