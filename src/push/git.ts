/**
 * Runs git with an argument array (execFile, never a shell), in a fixed locale so its messages can be read,
 * without ever prompting for credentials.
 *
 *   const { code, stdout } = await git(['rev-parse', 'HEAD'], { cwd: '/srv/clone' });
 *   await gitOk(['fetch', '--prune', 'origin'], { cwd });   // throws GitError with git's own message
 */
import { execFile } from 'node:child_process';

export interface GitOptions {
  cwd: string;
  /** Extra environment (e.g. GIT_SSH_COMMAND from the bot's own environment). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Network operations get longer. Default 60 s. */
  timeoutMs?: number;
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class GitError extends Error {
  override name = 'GitError';
  constructor(
    readonly args: string[],
    readonly result: GitResult,
  ) {
    super(`git ${args[0] ?? ''} failed: ${firstLine(result.stderr) || firstLine(result.stdout) || `exit ${result.code}`}`);
  }
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l && !l.startsWith('hint:')) ?? ''
  );
}

export function git(args: string[], options: GitOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      {
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ...options.env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', GIT_EDITOR: 'true' },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          // Not an exit status: git is missing, or the timeout killed it.
          reject(new Error(error.killed ? `git ${args[0]} timed out` : `could not run git: ${error.message}`));
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Like git(), but a non-zero exit is a GitError. Returns stdout. */
export async function gitOk(args: string[], options: GitOptions): Promise<string> {
  const result = await git(args, options);
  if (result.code !== 0) throw new GitError(args, result);
  return result.stdout;
}

const HEX = /^[0-9a-f]{4,40}$/i;

/** A commit id as typed in chat (4 to 40 hex digits). */
export function looksLikeSha(text: string): boolean {
  return HEX.test(text);
}

/**
 * A branch or tag name as typed in chat, by git's ref rules (git check-ref-format) plus no leading '-', so it
 * can never be read as an option. Returns the reason it is not one, or null when it is fine.
 */
export function badRefName(name: string): string | null {
  if (!name) return 'empty name';
  if (name.length > 200) return 'too long';
  if (!/^[A-Za-z0-9._/+-]+$/.test(name)) return 'branch names use letters, digits, and . _ / + -';
  if (name.startsWith('-') || name.startsWith('/') || name.startsWith('.')) return 'cannot start with - / or .';
  if (name.endsWith('/') || name.endsWith('.') || name.endsWith('.lock')) return 'cannot end with / . or .lock';
  if (name.includes('..') || name.includes('//') || name.includes('/.')) return 'cannot contain .. // or /.';
  return null;
}
