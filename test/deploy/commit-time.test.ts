import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitHub } from '../../src/github.js';
import type { FullDeploy } from '../../src/store/deploys.js';
import type { DoraReport } from '../../src/web/dora.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from './harness.js';

// Author and committer dates differ (a rebased or cherry-picked commit): lead time starts at the commit.
const AUTHORED = '2025-02-20T08:00:00+00:00';
const COMMITTED = '2025-03-01T09:30:00+02:00';
const COMMITTED_UTC = '2025-03-01T07:30:00.000Z';

/** Commits with fixed author and committer dates, the way `git commit` records GIT_*_DATE, and pushes. */
function commitAt(repo: TestRepo, message: string): string {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'Alice Dev',
    GIT_AUTHOR_EMAIL: 'alice@example.com',
    GIT_COMMITTER_NAME: 'Alice Dev',
    GIT_COMMITTER_EMAIL: 'alice@example.com',
    GIT_AUTHOR_DATE: AUTHORED,
    GIT_COMMITTER_DATE: COMMITTED,
  };
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repo.work, env, stdio: ['ignore', 'pipe', 'pipe'] })
      .toString()
      .trim();
  writeFileSync(join(repo.work, 'VERSION'), `${message}\n`);
  git('add', '-A');
  git('commit', '--quiet', '-m', message);
  git('push', '--quiet', 'origin', 'main');
  return git('rev-parse', 'HEAD');
}

/** A local-transport app: the commit time comes from the revision source, whatever runs the steps. */
function localApp(repoUrl: string, deployTo: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    release_managers: ['irc:boss'],
    apps: {
      web: {
        repo_url: repoUrl,
        transport: 'local',
        deploy_to: deployTo,
        default_environment: 'staging',
        steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"'],
        environments: { staging: { hosts: ['localhost'] } },
        ...extra,
      },
    },
  });
}

async function deploy(h: DeployHarness): Promise<FullDeploy> {
  await h.chat.say('alice', 'deploy web/main');
  await h.deployer.idle();
  return (await h.store.deploys.recent({ app: 'web' }))[0] as FullDeploy;
}

describe('Deploy.commitAt: when the deployed commit was made', () => {
  let repo: TestRepo;
  let dir: string;
  let h: DeployHarness | undefined;
  let web: WebServer | undefined;
  let gh: FakeGitHub | undefined;

  beforeAll(() => {
    repo = makeRepo();
    dir = mkdtempSync(join(tmpdir(), 'shepherd-commit-time-'));
  });
  afterEach(async () => {
    await web?.stop();
    await h?.close();
    await gh?.close();
    web = h = gh = undefined;
  });
  afterAll(() => {
    repo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN the git path THEN the deploy records the committer date, and DORA lead time counts from it', async () => {
    const sha = commitAt(repo, 'dated change');
    h = await deployHarness(localApp(repo.bare, join(dir, 'git')));
    const d = await deploy(h);
    expect(d.state).toBe('succeeded');
    expect(d.sha).toBe(sha);
    expect(d.commitAt?.toISOString()).toBe(COMMITTED_UTC);

    web = createWebServer({ host: '127.0.0.1', port: 0, store: h.store, events: h.events, logger: pino({ level: 'silent' }) });
    await web.start();
    const report = (await (await fetch(`${web.url}/api/metrics?app=web`)).json()) as DoraReport;
    const group = report.groups.find((g) => g.app === 'web' && g.environment === 'staging');
    expect(group?.leadTime).toEqual({ medianMs: d.finishedAt!.getTime() - Date.parse(COMMITTED_UTC), count: 1, fromCommit: 1 });
  });

  it('GIVEN GitHub THEN the committer date comes from the GitHub commit', async () => {
    const sha = commitAt(repo, 'dated change on GitHub');
    gh = await startFakeGitHub();
    await gh.repo('acme/web').importGit(repo.work);
    h = await deployHarness(localApp(repo.bare, join(dir, 'github'), { repo: 'acme/web' }), {
      github: createGitHub({ token: gh.token, baseUrl: gh.url, writeSpacingMs: 0, retries: 0 }),
      secrets: [gh.token],
    });
    const d = await deploy(h);
    expect(d.state).toBe('succeeded');
    expect(d.sha).toBe(sha);
    expect(d.commitAt?.toISOString()).toBe(COMMITTED_UTC);
  });

  it('GIVEN a rollback THEN no commit time is recorded (it ships no new change)', async () => {
    h = await deployHarness(localApp(repo.bare, join(dir, 'rollback')));
    commitAt(repo, 'one');
    expect((await deploy(h)).state).toBe('succeeded');
    commitAt(repo, 'two');
    expect((await deploy(h)).state).toBe('succeeded');
    await h.chat.say('alice', 'rollback web');
    await h.deployer.idle();
    const [rollback] = await h.store.deploys.recent({ app: 'web' });
    expect(rollback?.kind).toBe('rollback');
    expect(rollback?.state).toBe('succeeded');
    expect(rollback?.commitAt).toBeNull();
  });
});
