/**
 * The one way Shepherd runs git (ref lookups, the mirror, the push clone, cherry-picks, pushes): an argument
 * array through execFile, never a shell; no prompts (terminal, askpass, ssh); only the file, git, http(s) and ssh
 * transports (GIT_ALLOW_PROTOCOL, so `ext::` and `fd::` remotes never run a command); no hooks or fsmonitor
 * from anyone's config; a fixed locale so messages can be read; a timeout that kills.
 * Callers put user-supplied refs and URLs after `--` / `--end-of-options`, checked with remoteProblem() /
 * revisionProblem() first.
 *
 *   const { code, stdout } = await runGit(['rev-parse', 'HEAD'], { cwd: '/srv/clone' });
 *   await gitOk(['ls-remote', '--', url, 'main'], { timeoutMs: 60_000 }); // throws GitError with git's own reason
 */
import { execFile } from 'node:child_process';

export interface GitRunOptions {
  cwd?: string | undefined;
  /** Extra environment (e.g. GIT_SSH_COMMAND); the hardening below always wins. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Default 60 s; network operations pass longer. */
  timeoutMs?: number | undefined;
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Transports git may use; anything else (ext::, fd::, remote helpers) is refused by git itself. */
export const GIT_ALLOWED_PROTOCOLS = 'file:git:http:https:ssh';
const DEFAULT_TIMEOUT_MS = 60_000;

/** git exited non-zero; the message is git's own reason in one line (`git ls-remote failed: …`). */
export class GitError extends Error {
  override name = 'GitError';
  constructor(
    readonly args: string[],
    readonly result: GitResult,
  ) {
    super(`git ${args[0] ?? ''} failed: ${gitReason(result.stderr, result.stdout) || `exit ${result.code}`}`);
  }
}

/** git could not run at all, or ran past its timeout (and was killed). */
export class GitRunError extends Error {
  override name = 'GitRunError';
}

/** `-c` settings put before every command: nobody's hooks or fsmonitor run inside the bot. */
const HARDENED_CONFIG = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false'];

/** The environment git runs with. */
export function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...extra,
    GIT_SSH_COMMAND: extra.GIT_SSH_COMMAND ?? process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
    LC_ALL: 'C',
    // Never wait for a password on a terminal nobody watches, nor ask a helper program for one.
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    SSH_ASKPASS_REQUIRE: 'never',
    GCM_INTERACTIVE: 'never',
    GIT_EDITOR: 'true',
    GIT_ALLOW_PROTOCOL: GIT_ALLOWED_PROTOCOLS,
  };
}

/** Runs git; a non-zero exit is a result (callers test it), not an error. Rejects with GitRunError. */
export function runGit(args: string[], options: GitRunOptions = {}): Promise<GitResult> {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...HARDENED_CONFIG, ...args],
      { cwd: options.cwd, timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: gitEnv(options.env) },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(
            new GitRunError(
              error.killed ? `git ${args[0] ?? ''} timed out after ${Math.round(timeout / 1000)} s` : `could not run git: ${error.message.split('\n')[0]}`,
            ),
          );
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Like runGit, but a non-zero exit is a GitError. Returns stdout. */
export async function gitOk(args: string[], options: GitRunOptions = {}): Promise<string> {
  const result = await runGit(args, options);
  if (result.code !== 0) throw new GitError(args, result);
  return result.stdout;
}

/**
 * git's reason in one line: the first `fatal:` / `error:` line (git prints the cause first and advice after,
 * e.g. "…does not appear to be a git repository" before "Please make sure … and the repository exists."),
 * else the first line that is not a hint.
 */
export function gitReason(stderr: string, stdout = ''): string {
  const lines = `${stderr}\n${stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('hint:'));
  const cause = lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[0] ?? '';
  return cause.replace(/^(fatal|error):\s*/, '');
}

/**
 * Why a repository URL or path must not reach git, or null: empty, starting with '-' (an option), control
 * characters, a remote-helper address (`ext::…`, `fd::…`, `<helper>::…`) or a scheme outside
 * GIT_ALLOWED_PROTOCOLS.
 *
 *   remoteProblem('ext::sh -c touch% /tmp/x') // 'remote helpers (ext::…) are not allowed'
 */
export function remoteProblem(url: string): string | null {
  if (!url) return 'empty';
  if (url.startsWith('-')) return 'cannot start with -';
  if (/[\0-\x1f\x7f]/.test(url)) return 'contains control characters';
  const helper = /^([A-Za-z][A-Za-z0-9+.-]*)::/.exec(url);
  if (helper) return `remote helpers (${helper[1]}::…) are not allowed`;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme && !['file', 'git', 'http', 'https', 'ssh', 'git+ssh', 'ssh+git'].includes(scheme)) {
    return `the ${scheme}:// transport is not allowed (only ${GIT_ALLOWED_PROTOCOLS.split(':').join(', ')})`;
  }
  return null;
}

/** Why a revision (ref name or SHA) must not be passed to git, or null: empty, an option, or control characters. */
export function revisionProblem(rev: string): string | null {
  if (!rev) return 'empty';
  if (rev.startsWith('-')) return 'cannot start with - (it would be read as an option)';
  if (/[\0-\x20\x7f]/.test(rev)) return 'contains spaces or control characters';
  return null;
}
