/**
 * The GitHub layer against a local server that speaks GitHub's REST shapes, and the git fallback against real
 * git repositories made in temp dirs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitsBetweenWithGit, GitRefsError, mirrorPath, resolveRefWithGit } from '../src/git-refs.js';
import { createGitHub, type GitHub, GitHubError, isValidRef, isValidRepo } from '../src/github.js';
import { type FakeGitHub, type FakeRepo, startFakeGitHub } from './support/fake-github.js';

const scratch = mkdtempSync(join(tmpdir(), 'shepherd-github-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('isValidRef', () => {
  const valid = [
    'main',
    'release/2026-11',
    'feature/login-page',
    'v1.2.3',
    'fix-#123',
    'HEAD',
    'heads/main',
    'refs/tags/v1',
    'user@feature',
    'a+b',
    '3f786850e387550fdab836ed7e6dc881de23001b',
    'abc1234',
    'x'.repeat(255),
  ];
  const invalid: [string, string][] = [
    ['main;touch /tmp/pwned', 'shell separator and space'],
    ['$(id)', 'command substitution'],
    ['`id`', 'backticks'],
    ['--upload-pack=x', 'an option to git'],
    ['-main', 'leading dash'],
    ['', 'empty'],
    ['a..b', 'double dot (a range)'],
    ['main..', 'double dot at the end'],
    ['.hidden', 'component starting with a dot'],
    ['feature/.x', 'inner component starting with a dot'],
    ['main.lock', 'ends with .lock'],
    ['a.lock/b', 'component ending with .lock'],
    ['main.', 'ends with a dot'],
    ['/main', 'leading slash'],
    ['main/', 'trailing slash'],
    ['a//b', 'double slash'],
    ['main@{1}', '@{ reflog syntax'],
    ['@', 'lone @'],
    ['main^', 'caret'],
    ['main~1', 'tilde'],
    ['a:b', 'colon'],
    ['a?b', 'question mark'],
    ['a*b', 'glob star'],
    ['a[b', 'open bracket'],
    ['a\\b', 'backslash'],
    ['has space', 'space'],
    ['tab\there', 'control character'],
    ['new\nline', 'newline'],
    ['a\x7fb', 'DEL'],
    ['a|b', 'pipe'],
    ['a&b', 'ampersand'],
    ['a>b', 'redirect'],
    ["it's", 'quote'],
    ['"x"', 'double quote'],
    ['$' + '{HOME}', 'variable expansion'],
    ['brän', 'non-ASCII'],
    ['x'.repeat(256), 'longer than 255'],
  ];

  it.each(valid)('accepts %j', (ref) => {
    expect(isValidRef(ref)).toBe(true);
  });

  it.each(invalid)('refuses %j (%s)', (ref) => {
    expect(isValidRef(ref)).toBe(false);
  });

  it('never accepts a name that git itself refuses', () => {
    for (const ref of [...valid, ...invalid.map(([r]) => r)]) {
      if (!isValidRef(ref) || ref === 'HEAD') continue;
      // Throws when git refuses the name, which would fail the test.
      execFileSync('git', ['check-ref-format', '--allow-onelevel', ref]);
    }
  });

  it('checks repository names', () => {
    expect(isValidRepo('acme/web')).toBe(true);
    expect(isValidRepo('acme-inc/web.site_2')).toBe(true);
    for (const bad of ['acme', 'acme/web/x', '-acme/web', 'acme/..', 'acme/.', 'ac me/web', 'acme/web;id', '../etc']) expect(isValidRepo(bad), bad).toBe(false);
  });
});

describe('createGitHub against a GitHub-shaped server', () => {
  let fake: FakeGitHub;
  let gh: GitHub;
  let web: FakeRepo;
  const sha: Record<string, string> = {};

  beforeAll(async () => {
    fake = await startFakeGitHub();
    gh = createGitHub({ token: fake.token, baseUrl: fake.url, retries: 0 });
    web = fake.repo('acme/web');
    sha.root = web.commit({ branch: 'main', message: 'initial import', author: 'alice' });
    sha.second = web.commit({
      branch: 'main',
      message: 'add login page\n\nWith a longer body.',
      author: 'bob',
      additions: 40,
      deletions: 2,
      files: ['login.ts', 'login.css'],
      date: '2026-11-19T08:00:00Z',
      committerDate: '2026-11-20T10:00:00+01:00',
    });
    web.tag('v1.0.0', sha.second);
    sha.third = web.commit({ branch: 'main', message: 'fix typo', author: null, name: 'Carol Unlinked', email: 'carol@example.org' });
    sha.feature = web.commit({ parents: [sha.third], branch: 'feature/login', message: 'feature work', author: 'dave' });
    sha.hash = web.commit({ parents: [sha.third], branch: 'fix-#123', message: 'hash branch', author: 'erin' });
  });
  afterAll(async () => {
    await fake.close();
  });

  describe('resolveRef', () => {
    it('resolves a branch, a tag, a full SHA and an abbreviated SHA', async () => {
      expect(await gh.resolveRef('acme/web', 'main')).toBe(sha.third);
      expect(await gh.resolveRef('acme/web', 'v1.0.0')).toBe(sha.second);
      expect(await gh.resolveRef('acme/web', sha.root!)).toBe(sha.root);
      expect(await gh.resolveRef('acme/web', sha.second!.slice(0, 7))).toBe(sha.second);
    });

    it('returns null for a ref that does not exist (GitHub answers 422)', async () => {
      const before = fake.requests.length;
      expect(await gh.resolveRef('acme/web', 'no-such-branch')).toBeNull();
      expect(fake.requests[before]?.status).toBe(422);
    });

    it('sends a ref as one percent-encoded path segment', async () => {
      expect(await gh.resolveRef('acme/web', 'feature/login')).toBe(sha.feature);
      expect(await gh.resolveRef('acme/web', 'fix-#123')).toBe(sha.hash);
      const paths = fake.requests.map((r) => r.path);
      expect(paths).toContain('/repos/acme/web/commits/feature%2Flogin');
      expect(paths).toContain('/repos/acme/web/commits/fix-%23123');
    });

    it('never sends a hostile ref to GitHub', async () => {
      const before = fake.requests.length;
      for (const ref of ['main;touch /tmp/pwned', '$(id)', '`id`', '--upload-pack=x', '../../user', 'main?x=1']) {
        expect(await gh.resolveRef('acme/web', ref)).toBeNull();
      }
      expect(fake.requests.length).toBe(before);
    });

    it('tells a missing repository apart from a missing ref', async () => {
      await expect(gh.resolveRef('acme/nope', 'main')).rejects.toThrow(/no repository acme\/nope/);
      await expect(gh.resolveRef('not a repo', 'main')).rejects.toThrow(GitHubError);
    });
  });

  describe('ciState', () => {
    const fresh = (message: string) => web.commit({ parents: [sha.root!], message });

    it('is none without statuses and check runs', async () => {
      expect(await gh.ciState('acme/web', fresh('bare'))).toBe('none');
    });

    it('is success when statuses and check runs all passed', async () => {
      const s = fresh('green');
      web.status(s, { context: 'ci/jenkins', state: 'pending' }).status(s, { context: 'ci/jenkins', state: 'success' });
      web
        .checkRun(s, { name: 'test', conclusion: 'success' })
        .checkRun(s, { name: 'lint', conclusion: 'skipped' })
        .checkRun(s, { name: 'docs', conclusion: 'neutral' });
      expect(await gh.ciState('acme/web', s)).toBe('success');
    });

    it('is success with check runs only, and with statuses only', async () => {
      const checks = fresh('checks only');
      web.checkRun(checks, { name: 'build', conclusion: 'success' });
      expect(await gh.ciState('acme/web', checks)).toBe('success');
      const statuses = fresh('statuses only');
      web.status(statuses, { context: 'ci/circleci', state: 'success' });
      expect(await gh.ciState('acme/web', statuses)).toBe('success');
    });

    it('is pending while a check run is in progress or a status is pending', async () => {
      const running = fresh('running');
      web.status(running, { context: 'ci/jenkins', state: 'success' });
      web.checkRun(running, { name: 'test', status: 'in_progress' });
      expect(await gh.ciState('acme/web', running)).toBe('pending');
      const queued = fresh('queued');
      web.checkRun(queued, { name: 'test', status: 'queued' });
      expect(await gh.ciState('acme/web', queued)).toBe('pending');
      const statusPending = fresh('status pending');
      web.status(statusPending, { context: 'ci/jenkins', state: 'pending' });
      web.checkRun(statusPending, { name: 'test', conclusion: 'success' });
      expect(await gh.ciState('acme/web', statusPending)).toBe('pending');
    });

    it('is failure when any status or check run failed, even while others are pending', async () => {
      const checkFailed = fresh('check failed');
      web.status(checkFailed, { context: 'ci/jenkins', state: 'success' });
      web.checkRun(checkFailed, { name: 'test', conclusion: 'failure' }).checkRun(checkFailed, { name: 'e2e', status: 'in_progress' });
      expect(await gh.ciState('acme/web', checkFailed)).toBe('failure');
      const statusFailed = fresh('status failed');
      web.status(statusFailed, { context: 'ci/jenkins', state: 'error' });
      web.checkRun(statusFailed, { name: 'test', conclusion: 'success' });
      expect(await gh.ciState('acme/web', statusFailed)).toBe('failure');
      const timedOut = fresh('timed out');
      web.checkRun(timedOut, { name: 'test', conclusion: 'timed_out' });
      expect(await gh.ciState('acme/web', timedOut)).toBe('failure');
    });

    it('counts only the latest run of a re-run check', async () => {
      const rerun = fresh('flaky');
      web.checkRun(rerun, { name: 'test', conclusion: 'failure' }).checkRun(rerun, { name: 'test', conclusion: 'success' });
      expect(await gh.ciState('acme/web', rerun)).toBe('success');
    });

    it('reads every page of check runs', async () => {
      const many = fresh('many checks');
      for (let i = 0; i < 120; i++) web.checkRun(many, { name: `shard-${i}`, conclusion: 'success' });
      web.checkRun(many, { name: 'shard-last', conclusion: 'failure' });
      expect(await gh.ciState('acme/web', many)).toBe('failure');
    });
  });

  describe('compare', () => {
    it('lists base..head oldest first', async () => {
      const commits = await gh.compare('acme/web', sha.root!, sha.feature!);
      expect(commits.map((c) => c.sha)).toEqual([sha.second, sha.third, sha.feature]);
      expect(commits[0]).toMatchObject({ message: 'add login page\n\nWith a longer body.', author: 'bob' });
      expect(commits[1]!.author).toBe('Carol Unlinked'); // no GitHub account: the git author name
      expect(commits[0]!.date).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it('keeps the newest commits when cut to a limit, across pages', async () => {
      const long = fake.repo('acme/long');
      const shas = [long.commit({ branch: 'main', message: 'c0' })];
      for (let i = 1; i <= 230; i++) shas.push(long.commit({ branch: 'main', message: `c${i}` }));
      expect((await gh.compare('acme/long', shas[0]!, shas[3]!, 10)).map((c) => c.message)).toEqual(['c1', 'c2', 'c3']);
      const cut = await gh.comparison('acme/long', shas[0]!, shas[230]!, 120);
      expect(cut.totalCommits).toBe(230);
      expect(cut.commits).toHaveLength(120);
      expect(cut.commits[0]!.message).toBe('c111');
      expect(cut.commits.at(-1)!.message).toBe('c230');
    });

    it('says when head is behind base (a rollback)', async () => {
      const back = await gh.comparison('acme/web', sha.third!, sha.root!);
      expect(back).toMatchObject({ status: 'behind', aheadBy: 0, behindBy: 2, commits: [] });
      const diverged = await gh.comparison('acme/web', sha.feature!, sha.hash!);
      expect(diverged).toMatchObject({ status: 'diverged', aheadBy: 1, behindBy: 1 });
      expect(diverged.commits.map((c) => c.sha)).toEqual([sha.hash]);
    });

    it('fails with a readable error for an unknown base', async () => {
      await expect(gh.compare('acme/web', 'no-such-tag', sha.third!)).rejects.toThrow(/GitHub said 404 Not Found \(comparing no-such-tag\.\.\./);
    });
  });

  describe('deployments', () => {
    it('creates a deployment without GitHub merging or checking CI, and posts its statuses', async () => {
      // A red status on the commit: GitHub would refuse (409) unless required_contexts is [].
      web.status(sha.third!, { context: 'ci/flaky', state: 'failure' });
      const id = await gh.createDeployment('acme/web', { sha: sha.third!, environment: 'production', description: 'deploy by alice via Shepherd' });
      expect(id).toBeGreaterThan(0);
      await gh.setDeploymentStatus('acme/web', id, 'in_progress', 'http://127.0.0.1:8080/deploys/7');
      await gh.setDeploymentStatus('acme/web', id, 'success', 'http://127.0.0.1:8080/deploys/7', { description: 'done in 42 s' });

      const created = fake.requestsTo('POST', /^\/repos\/acme\/web\/deployments$/).at(-1)!;
      expect(created.body).toMatchObject({ ref: sha.third, environment: 'production', auto_merge: false, required_contexts: [] });
      const statuses = fake.requestsTo('POST', new RegExp(`^/repos/acme/web/deployments/${id}/statuses$`));
      expect(statuses.map((r) => r.body)).toEqual([
        { state: 'in_progress', log_url: 'http://127.0.0.1:8080/deploys/7' },
        { state: 'success', log_url: 'http://127.0.0.1:8080/deploys/7', description: 'done in 42 s' },
      ]);
      const recorded = web.deployments.find((d) => d.id === id)!;
      expect(recorded).toMatchObject({ sha: sha.third, environment: 'production', productionEnvironment: true });
      expect(recorded.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    });

    it('reports a status for an unknown deployment as a GitHubError', async () => {
      await expect(gh.setDeploymentStatus('acme/web', 999_999, 'failure')).rejects.toThrow(/GitHub said 404 Not Found/);
    });
  });

  describe('pull requests and commits', () => {
    it('reads a PR with its size and discussion', async () => {
      web.pull({
        number: 42,
        title: 'Login page',
        author: 'bob',
        head: sha.second!,
        additions: 120,
        deletions: 30,
        changedFiles: 7,
        comments: 5,
        reviewComments: 11,
      });
      expect(await gh.pullRequest('acme/web', 42)).toEqual({
        number: 42,
        title: 'Login page',
        author: 'bob',
        headSha: sha.second,
        mergeCommitSha: null,
        merged: false,
        state: 'open',
        additions: 120,
        deletions: 30,
        changedFiles: 7,
        comments: 5,
        reviewComments: 11,
        url: 'https://github.com/acme/web/pull/42',
      });
    });

    it('reads a merged PR with its merge commit', async () => {
      web.pull({
        number: 43,
        title: 'Fix typo',
        author: 'carol',
        head: sha.third!,
        merged: true,
        mergeCommitSha: sha.third!,
        additions: 1,
        deletions: 1,
        changedFiles: 1,
      });
      expect(await gh.pullRequest('acme/web', 43)).toMatchObject({ merged: true, state: 'closed', mergeCommitSha: sha.third });
    });

    it('returns null for a PR that does not exist', async () => {
      expect(await gh.pullRequest('acme/web', 4040)).toBeNull();
      expect(await gh.pullRequest('acme/web', -1)).toBeNull();
    });

    it('reads a commit with its size and author', async () => {
      expect(await gh.commit('acme/web', sha.second!)).toEqual({
        sha: sha.second,
        author: 'bob',
        message: 'add login page\n\nWith a longer body.',
        committedAt: '2026-11-20T09:00:00Z',
        additions: 40,
        deletions: 2,
        changedFiles: 2,
      });
      expect(await gh.commit('acme/web', 'f'.repeat(40))).toBeNull();
      expect(await gh.commit('acme/web', '$(id)')).toBeNull();
    });
  });

  describe('failures', () => {
    it('says GitHub refused a bad token', async () => {
      const bad = createGitHub({ token: 'ghp_wrong', baseUrl: fake.url, retries: 0 });
      const err = await bad.resolveRef('acme/web', 'main').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GitHubError);
      expect((err as GitHubError).message).toBe(
        'GitHub said 401 Bad credentials (resolving main in acme/web) — GITHUB_TOKEN is wrong, expired or revoked; set a valid token and restart',
      );
      expect((err as GitHubError).kind).toBe('auth');
    });

    it('stops at once on an exhausted rate limit, naming the reset time', async () => {
      const limited = await startFakeGitHub();
      try {
        limited.repo('acme/web').commit({ branch: 'main' });
        limited.exhaustRateLimit(Date.UTC(2030, 0, 1, 14, 5) / 1000);
        const client = createGitHub({ token: limited.token, baseUrl: limited.url, retries: 0 });
        await expect(client.ciState('acme/web', 'main')).rejects.toThrow('GitHub rate limit exhausted (it resets at 14:05 UTC); try again then');
        expect(limited.requests.length).toBe(2); // the status and check-run calls, each once: no retry
      } finally {
        await limited.close();
      }
    });

    it('retries a secondary rate limit once, then gives up with a clear message', async () => {
      const message = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';
      fake.failNext(403, message, 1, { 'retry-after': '1' });
      expect(await gh.resolveRef('acme/web', 'main')).toBe(sha.third);

      const before = fake.requests.length;
      fake.failNext(403, message, 5, { 'retry-after': '1' });
      await expect(gh.resolveRef('acme/web', 'main')).rejects.toThrow('GitHub secondary rate limit hit; try again in 1 s');
      expect(fake.requests.length - before).toBe(2);
      fake.recover();
    });

    it('retries a server error when asked to, and reports one that persists', async () => {
      const patient = createGitHub({ token: fake.token, baseUrl: fake.url, retries: 1 });
      fake.failNext(502, 'Server Error', 1);
      expect(await patient.resolveRef('acme/web', 'main')).toBe(sha.third);
      fake.failNext(502, 'Server Error', 1);
      await expect(gh.resolveRef('acme/web', 'main')).rejects.toThrow(
        /^GitHub said 502 Server Error \(resolving main in acme\/web\) — GitHub is having trouble; try again in a few minutes$/,
      );
    });

    it('reports an unreachable GitHub in one line', async () => {
      const closed = await startFakeGitHub();
      const url = closed.url;
      await closed.close();
      const err = await createGitHub({ token: 't', baseUrl: url, retries: 0 })
        .resolveRef('acme/web', 'main')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GitHubError);
      expect((err as GitHubError).kind).toBe('network');
      expect((err as GitHubError).message).toMatch(new RegExp(`^GitHub is unreachable at ${url}: .*ECONNREFUSED`));
    });

    it('gives up on a GitHub that never answers', async () => {
      const silent: Server = createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const port = (silent.address() as { port: number }).port;
        const client = createGitHub({ token: 't', baseUrl: `http://127.0.0.1:${port}`, retries: 0, timeoutMs: 300 });
        await expect(client.resolveRef('acme/web', 'main')).rejects.toThrow(/^GitHub did not answer within 300 ms \(resolving main in acme\/web\) — try again/);
      } finally {
        silent.close();
      }
    });
  });
});

// ---- git fallback --------------------------------------------------------------------------------------------

const gitEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Alice Example',
  GIT_AUTHOR_EMAIL: 'alice@example.com',
  GIT_COMMITTER_NAME: 'Alice Example',
  GIT_COMMITTER_EMAIL: 'alice@example.com',
};
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { env: gitEnv, encoding: 'utf8' }).trim();
let fileCounter = 0;
function commit(dir: string, message: string, author?: string): string {
  writeFileSync(join(dir, `file-${++fileCounter}.txt`), `${message}\n`);
  git(dir, 'add', '-A');
  git(
    dir,
    ...(author ? ['-c', `user.name=${author}`] : []),
    'commit',
    '--quiet',
    '-m',
    message,
    ...(author ? ['--author', `${author} <${author.toLowerCase()}@example.com>`] : []),
  );
  return git(dir, 'rev-parse', 'HEAD');
}

describe('git fallback (real repositories)', () => {
  let origin: string;
  let cache: string;
  const sha: Record<string, string> = {};

  beforeAll(() => {
    origin = join(scratch, 'origin');
    cache = join(scratch, 'cache');
    execFileSync('git', ['init', '--quiet', '-b', 'main', origin], { env: gitEnv });
    sha.one = commit(origin, 'one');
    sha.two = commit(origin, 'two: add login', 'Bob');
    git(origin, 'tag', 'v1', sha.two);
    git(origin, 'tag', '-a', 'v2', '-m', 'release two', sha.two);
    sha.three = commit(origin, 'three\n\nwith a body');
    git(origin, 'branch', 'feature/login', sha.one);
    git(origin, 'checkout', '--quiet', 'feature/login');
    sha.feature = commit(origin, 'feature work');
    git(origin, 'checkout', '--quiet', 'main');
  });

  it('resolves branches (also with slashes) and tags, annotated tags to their commit', async () => {
    expect(await resolveRefWithGit(origin, 'main', cache)).toBe(sha.three);
    expect(await resolveRefWithGit(origin, 'feature/login', cache)).toBe(sha.feature);
    expect(await resolveRefWithGit(origin, 'v1', cache)).toBe(sha.two);
    expect(await resolveRefWithGit(origin, 'v2', cache)).toBe(sha.two);
    expect(await resolveRefWithGit(origin, 'refs/heads/main', cache)).toBe(sha.three);
    expect(await resolveRefWithGit(origin, 'HEAD', cache)).toBe(sha.three);
  });

  it('does not take a tail match for the ref', async () => {
    // ls-remote's pattern 'login' matches refs/heads/feature/login; that is not a branch named 'login'.
    expect(await resolveRefWithGit(origin, 'login', cache)).toBeNull();
  });

  it('resolves full and abbreviated SHAs through the mirror', async () => {
    expect(await resolveRefWithGit(origin, sha.one!, cache)).toBe(sha.one);
    expect(await resolveRefWithGit(origin, sha.two!.slice(0, 8), cache)).toBe(sha.two);
    expect(existsSync(join(mirrorPath(origin, cache), 'HEAD'))).toBe(true);
  });

  it('returns null for refs and SHAs that do not exist', async () => {
    expect(await resolveRefWithGit(origin, 'no-such-branch', cache)).toBeNull();
    expect(await resolveRefWithGit(origin, 'abcdef12', cache)).toBeNull();
    expect(await resolveRefWithGit(origin, '0'.repeat(40), cache)).toBeNull();
  });

  it('finds a commit pushed after the mirror was made (fetches)', async () => {
    sha.four = commit(origin, 'four');
    expect(await resolveRefWithGit(origin, sha.four.slice(0, 10), cache)).toBe(sha.four);
    expect(await resolveRefWithGit(origin, 'main', cache)).toBe(sha.four);
  });

  it('never lets a ref or URL act as an option or a command', async () => {
    const marker = join(scratch, 'pwned');
    for (const ref of [`--upload-pack=touch ${marker}`, `main;touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``]) {
      expect(await resolveRefWithGit(origin, ref, cache)).toBeNull();
      await expect(commitsBetweenWithGit(origin, ref, 'main', cache, 5)).rejects.toThrow(GitRefsError);
    }
    await expect(resolveRefWithGit(`--upload-pack=touch ${marker}`, 'main', cache)).rejects.toThrow(GitRefsError);
    await expect(resolveRefWithGit(`ext::sh -c touch% ${marker}`, 'main', cache)).rejects.toThrow(GitRefsError);
    expect(existsSync(marker)).toBe(false);
  });

  it('lists the commits between two SHAs, oldest first, newest kept under a limit', async () => {
    const all = await commitsBetweenWithGit(origin, sha.one!, sha.four!, cache, 10);
    expect(all.map((c) => c.sha)).toEqual([sha.two, sha.three, sha.four]);
    expect(all[0]).toMatchObject({ author: 'Bob', message: 'two: add login' });
    expect(all[1]!.message).toBe('three\n\nwith a body');
    expect(all[0]!.date).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await commitsBetweenWithGit(origin, sha.one!, sha.four!, cache, 2)).map((c) => c.sha)).toEqual([sha.three, sha.four]);
    expect(await commitsBetweenWithGit(origin, sha.four!, sha.one!, cache, 10)).toEqual([]);
  });

  it('fetches when head is newer than the mirror, and refuses unknown commits', async () => {
    sha.five = commit(origin, 'five');
    expect((await commitsBetweenWithGit(origin, sha.four!, sha.five, cache, 10)).map((c) => c.message)).toEqual(['five']);
    await expect(commitsBetweenWithGit(origin, '1'.repeat(40), sha.five, cache, 10)).rejects.toThrow(/is not a commit in/);
  });

  it('reports an unreachable repository in one line', async () => {
    const missing = join(scratch, 'does-not-exist');
    await expect(resolveRefWithGit(missing, 'main', cache)).rejects.toThrow(/^git ls-remote .*does-not-exist failed: /);
  });

  it('agrees with the GitHub layer on the same repository', async () => {
    const fake = await startFakeGitHub();
    try {
      await fake.repo('acme/origin').importGit(origin);
      const gh = createGitHub({ token: fake.token, baseUrl: fake.url, retries: 0 });
      for (const ref of ['main', 'v2', 'feature/login', sha.two!.slice(0, 7)]) {
        expect(await gh.resolveRef('acme/origin', ref), ref).toBe(await resolveRefWithGit(origin, ref, cache));
      }
      const viaGitHub = await gh.compare('acme/origin', sha.one!, sha.five!, 3);
      const viaGit = await commitsBetweenWithGit(origin, sha.one!, sha.five!, cache, 3);
      expect(viaGitHub.map((c) => [c.sha, c.message])).toEqual(viaGit.map((c) => [c.sha, c.message]));
      expect(await gh.commit('acme/origin', sha.two!)).toMatchObject({ author: 'bob', additions: 1, deletions: 0, changedFiles: 1 });
    } finally {
      await fake.close();
    }
  });
});
