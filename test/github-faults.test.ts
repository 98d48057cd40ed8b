/**
 * The GitHub client under GitHub's failures, against the local GitHub-shaped server.
 * GIVEN 5xx answers, a hang, cut-off JSON, an HTML error page THEN every call ends within its one deadline
 * (retries and waits included) with one line naming GitHub, the status and what to do, never the body;
 * GIVEN a 500 on POST /deployments (before or after GitHub created it) THEN at most one deployment exists.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitHub, type GitHub, GitHubError } from '../src/github.js';
import { withGitHubBudget } from '../src/github-deadline.js';
import { type FakeGitHub, startFakeGitHub } from './support/fake-github.js';

describe('GitHub faults at the client', () => {
  let fake: FakeGitHub;
  let sha: string;
  beforeAll(async () => {
    fake = await startFakeGitHub();
    const web = fake.repo('acme/web');
    sha = web.commit({ branch: 'main', message: 'initial', author: 'alice' });
    web.pull({ number: 14, title: 'Fix login', author: 'dave-gh', head: sha, merged: true, mergeCommitSha: sha, additions: 3 });
  });
  afterAll(async () => {
    await fake?.close();
  });
  // A failed test must not leave its faults to the next one.
  afterEach(() => fake.recover());
  const client = (extra: Partial<Parameters<typeof createGitHub>[0]> = {}): GitHub =>
    createGitHub({ token: fake.token, baseUrl: fake.url, retries: 3, retryBaseMs: 20, timeoutMs: 10_000, ...extra });
  const failure = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GitHubError);
    const message = (err as GitHubError).message;
    expect(message).not.toMatch(/\n|<html|Unicorn|Cannot read|Cannot use 'in'/);
    return message;
  };

  it('retries a GET on 500 within the deadline and says the status when it persists', async () => {
    fake.fault({ kind: 'status', status: 500, count: 10 });
    const message = await failure(client().pullRequest('acme/web', 14));
    expect(message).toBe('GitHub said 500 Server Error (reading pull request #14 in acme/web) — GitHub is having trouble; try again in a few minutes');
    fake.recover();
  });

  it('one deadline covers the retries and their waits, and says so truthfully', async () => {
    // Waits of 1 s, 4 s, 9 s would take 14 s: the 300 ms deadline ends it and names the status seen.
    fake.fault({ kind: 'status', status: 503, count: 10 });
    const before = fake.requests.length;
    const message = await failure(client({ retryBaseMs: 1000, timeoutMs: 300 }).resolveRef('acme/web', 'main'));
    expect(message).toBe(
      'GitHub kept answering 503 and gave up after 300 ms (resolving main in acme/web) — GitHub is having trouble; try again in a few minutes',
    );
    expect(fake.requests.length - before).toBe(1);
    fake.recover();
  });

  it('a hang ends at the deadline, retries included', async () => {
    fake.fault({ kind: 'hang', count: 10 });
    const message = await failure(client({ timeoutMs: 300 }).ciState('acme/web', sha));
    expect(message).toMatch(/^GitHub did not answer within 300 ms \(reading CI of [0-9a-f]{7} in acme\/web\) — try again/);
    fake.recover();
  });

  it('one deadline per command: the questions after a hang fail at once; outside a command each has its own', async () => {
    fake.fault({ kind: 'hang', count: 10 });
    const gh = client({ timeoutMs: 300 });
    const before = fake.requests.length;
    const messages = await withGitHubBudget(async () => {
      const first = await failure(gh.pullRequest('acme/web', 14));
      // The command's 300 ms are spent: the next questions do not wait another 300 ms each, they say so at once.
      const second = await failure(gh.ciState('acme/web', sha));
      const third = await failure(gh.resolveRef('acme/web', 'main'));
      return [first, second, third];
    });
    expect(messages[0]).toBe(
      'GitHub did not answer within 300 ms (reading pull request #14 in acme/web) — try again in a minute; if it persists, check githubstatus.com',
    );
    expect(messages[1]).toMatch(/^GitHub did not answer within 300 ms \(reading CI of [0-9a-f]{7} in acme\/web\)/);
    expect(messages[2]).toMatch(/^GitHub did not answer within 300 ms \(resolving main in acme\/web\)/);
    expect(fake.requests.length - before).toBe(1);
    fake.recover();
    // Outside a command every question has a deadline of its own: two questions, two requests that hang.
    fake.fault({ kind: 'hang', count: 10 });
    const outside = fake.requests.length;
    await failure(gh.pullRequest('acme/web', 14));
    await failure(gh.resolveRef('acme/web', 'main'));
    expect(fake.requests.length - outside).toBe(2);
    fake.recover();
  });

  it('a rate-limit reset later than the deadline is not waited for: the answer says when to retry', async () => {
    // The reset is 5 s away (within the 10 s it would wait for) but the command has 300 ms: no wait, no retry.
    const reset = Math.floor(Date.now() / 1000) + 5;
    fake.fault({
      kind: 'status',
      status: 403,
      message: 'API rate limit exceeded for user ID 1000.',
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      count: 3,
    });
    const before = fake.requests.length;
    const message = await withGitHubBudget(() => failure(client({ timeoutMs: 300 }).pullRequest('acme/web', 14)));
    const at = new Date(reset * 1000).toISOString().slice(11, 16);
    expect(message).toBe(`GitHub rate limit exhausted (it resets at ${at} UTC); try again then (403, reading pull request #14 in acme/web)`);
    expect(fake.requests.length - before).toBe(1);
    fake.recover();
  });

  it('cut-off JSON and an HTML page become one line that quotes neither', async () => {
    fake.fault({ kind: 'malformed' });
    expect(await failure(client().pullRequest('acme/web', 14))).toBe(
      'GitHub sent text that is not JSON instead of an answer (reading pull request #14 in acme/web) — try again; if it keeps happening, check GITHUB_API_URL',
    );
    fake.fault({ kind: 'html', status: 502, count: 10 });
    expect(await failure(client().pullRequest('acme/web', 14))).toBe(
      'GitHub said 502 (an HTML error page) (reading pull request #14 in acme/web) — GitHub is having trouble; try again in a few minutes',
    );
    fake.recover();
    fake.fault({ kind: 'malformed', path: /check-runs/ });
    expect(await failure(client().ciState('acme/web', sha))).toMatch(/^GitHub sent text that is not JSON instead of an answer \(reading CI of/);
    fake.recover();
  });

  it('names GITHUB_TOKEN on 401 and the reset time on an exhausted rate limit', async () => {
    expect(await failure(client({ token: 'ghp_wrong' }).pullRequest('acme/web', 14))).toMatch(/^GitHub said 401 Bad credentials .* GITHUB_TOKEN is wrong/);
    fake.fault({
      kind: 'status',
      status: 403,
      message: 'API rate limit exceeded for user ID 1000.',
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Date.UTC(2030, 0, 1, 14, 5) / 1000) },
      count: 3,
    });
    expect(await failure(client().pullRequest('acme/web', 14))).toBe(
      'GitHub rate limit exhausted (it resets at 14:05 UTC); try again then (403, reading pull request #14 in acme/web)',
    );
    fake.recover();
  });

  it('maps a commit to the PR it came from (commits/{sha}/pulls), null when it is in none', async () => {
    expect(await client().pullRequestOfCommit('acme/web', sha)).toMatchObject({ number: 14, author: 'dave-gh', mergeCommitSha: sha });
    const lone = fake.repo('acme/web').commit({ branch: 'main', message: 'direct push', author: 'erin' });
    expect(await client().pullRequestOfCommit('acme/web', lone)).toBeNull();
  });

  describe('POST /deployments is never repeated blindly', () => {
    const posts = () => fake.requestsTo('POST', /\/deployments$/).length;
    const made = () => fake.repo('acme/web').deployments.length;
    // Octokit's throttling spaces writes 1 s apart, so a second POST needs a longer deadline than a GET.
    const writer = () => client({ timeoutMs: 15_000 });

    it('GitHub created it, then answered 500: found by a lookup, not posted again', async () => {
      const [p0, d0] = [posts(), made()];
      fake.fault({ kind: 'status', status: 500, method: 'POST', path: /\/deployments$/, after: true, count: 5 });
      const id = await writer().createDeployment('acme/web', { sha, environment: 'staging', description: 'deploy #1' });
      expect(made() - d0).toBe(1);
      expect(posts() - p0).toBe(1);
      expect(fake.repo('acme/web').deployments.at(-1)?.id).toBe(id);
      fake.recover();
    });

    it('GitHub failed before creating it: one more post after the lookup, one deployment', async () => {
      const [p0, d0] = [posts(), made()];
      fake.fault({ kind: 'status', status: 500, method: 'POST', path: /\/deployments$/ });
      const id = await writer().createDeployment('acme/web', { sha, environment: 'staging', description: 'deploy #2' });
      expect(made() - d0).toBe(1);
      expect(posts() - p0).toBe(2);
      expect(fake.repo('acme/web').deployments.at(-1)?.id).toBe(id);
      fake.recover();
    });

    it('a 500 that persists: an error, and still at most one deployment', async () => {
      const [p0, d0] = [posts(), made()];
      fake.fault({ kind: 'status', status: 500, method: 'POST', path: /\/deployments$/, count: 10 });
      expect(await failure(writer().createDeployment('acme/web', { sha, environment: 'staging', description: 'deploy #3' }))).toMatch(
        /^GitHub said 500 .*creating a deployment/,
      );
      expect(made() - d0).toBe(0);
      expect(posts() - p0).toBe(2);
      fake.recover();
    });
  });
});
