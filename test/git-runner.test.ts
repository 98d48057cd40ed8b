/**
 * One hardened git runner for refs and the push alike, with real git.
 * GIVEN a ref like `--upload-pack=…` or a remote like `ext::sh -c …` THEN nothing runs and the answer says why;
 * GIVEN a remote that asks for a password THEN git fails at once instead of prompting (no askpass, no terminal).
 */
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitRefsError, resolveRefWithGit } from '../src/git-refs.js';
import { gitReason, remoteProblem, runGit } from '../src/git-runner.js';
import { PushRepo } from '../src/push/repo.js';

let dir: string;
let marker: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shepherd-git-runner-'));
  marker = join(dir, 'pwned');
});

describe('the git runner refuses what could run a command', () => {
  it('an ext:: remote is refused before git runs, and git itself refuses it too (GIT_ALLOW_PROTOCOL)', async () => {
    const url = `ext::sh -c touch% ${marker}`;
    await expect(resolveRefWithGit(url, 'main', join(dir, 'cache'))).rejects.toThrow(GitRefsError);
    await expect(resolveRefWithGit(url, 'main', join(dir, 'cache'))).rejects.toThrow(/remote helpers \(ext::…\) are not allowed/);
    // Even a caller that forgot remoteProblem() gets git's refusal, not a command.
    const direct = await runGit(['ls-remote', '--', url]);
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toMatch(/transport 'ext' not allowed/);
    expect(existsSync(marker)).toBe(false);
  });

  it('an --upload-pack=… ref is no ref, and as a URL it is refused', async () => {
    const origin = join(dir, 'origin.git');
    await runGit(['init', '--quiet', '--bare', origin]);
    expect(await resolveRefWithGit(origin, `--upload-pack=touch ${marker}`, join(dir, 'cache'))).toBeNull();
    await expect(resolveRefWithGit(`--upload-pack=touch ${marker}`, 'main', join(dir, 'cache'))).rejects.toThrow(/cannot start with -/);
    expect(existsSync(marker)).toBe(false);
  });

  it('the push clone refuses an ext:: URL', async () => {
    const repo = new PushRepo({ url: `ext::sh -c touch% ${marker}`, dir: join(dir, 'push', 'web'), trunk: 'main' });
    await expect(repo.sync()).rejects.toThrow(/remote helpers \(ext::…\) are not allowed/);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['https://github.com/acme/web.git', null],
    ['git@github.com:acme/web.git', null],
    ['ssh://git@host/acme/web.git', null],
    ['/srv/git/web.git', null],
    ['ext::sh -c id', 'remote helpers (ext::…) are not allowed'],
    ['fd::3', 'remote helpers (fd::…) are not allowed'],
    ['-oProxyCommand=id', 'cannot start with -'],
    ['ftp://host/x.git', 'the ftp:// transport is not allowed (only file, git, http, https, ssh)'],
    ['/srv/a\nb', 'contains control characters'],
  ])('remoteProblem(%j) → %j', (url, problem) => {
    expect(remoteProblem(url)).toBe(problem);
  });
});

describe('git never prompts', () => {
  let server: ReturnType<typeof createServer>;
  let url: string;
  beforeAll(async () => {
    // An HTTP remote that wants a password, as a private repository does.
    server = createServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/acme/web.git`;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fails with git reason instead of asking askpass or a terminal', async () => {
    const askpass = join(dir, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\ntouch ${marker}\necho secret\n`);
    chmodSync(askpass, 0o755);
    const result = await runGit(['ls-remote', '--', url], { env: { GIT_ASKPASS: askpass, SSH_ASKPASS: askpass }, timeoutMs: 30_000 });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/terminal prompts disabled/);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('git failures read as one line', () => {
  it('names the cause, not the advice after it', async () => {
    const missing = join(dir, 'does-not-exist');
    const err = await resolveRefWithGit(missing, 'main', join(dir, 'cache')).catch((e: Error) => e);
    expect(err).toBeInstanceOf(GitRefsError);
    expect((err as Error).message).toBe(`git ls-remote ${missing} failed: '${missing}' does not appear to be a git repository`);
    expect(
      gitReason(
        "fatal: '/x' does not appear to be a git repository\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n",
      ),
    ).toBe("'/x' does not appear to be a git repository");
  });
});
