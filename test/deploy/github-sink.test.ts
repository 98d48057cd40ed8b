/**
 * GitHub deployment statuses come from a sink on the deploy events, in the background and in order per
 * deploy: a final status GitHub refuses is retried, and when GitHub keeps refusing, the deploy says "GitHub
 * not updated" (column, /api/deploys/<id>, page). GIVEN a hanging POST /deployments THEN the deploy ends and its
 * lock is free while GitHub still has not answered, and the deployment is made when the deploy ends.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DeployEvents } from '../../src/deploy/events.js';
import { GitHubSink } from '../../src/deploy/github-sink.js';
import { Revisions } from '../../src/deploy/source.js';
import { createGitHub } from '../../src/github.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { tempStore, type TempStore } from '../support/db.js';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { makeRepo, type TestRepo } from './harness.js';

describe('the GitHub sink', () => {
  let t: TempStore;
  let gh: FakeGitHub;
  let repo: TestRepo;
  let web: WebServer;
  let sha: string;
  const events = new DeployEvents();

  beforeAll(async () => {
    t = await tempStore();
    repo = makeRepo();
    sha = repo.commit('first');
    gh = await startFakeGitHub();
    await gh.repo('acme/web').importGit(repo.work);
    const file = join(t.dir, 'shepherd.yml');
    writeFileSync(
      file,
      JSON.stringify({ apps: { web: { repo: 'acme/web', repo_url: repo.bare, deploy_to: '/srv/web', environments: { staging: { hosts: ['a'] } } } } }),
    );
    const config = loadConfig({ SHEPHERD_CONFIG: file, ...t.env, WEB_BASE_URL: 'http://viewer.test' });
    // Octokit spaces writes 1 s apart: the deadline leaves room for that, and a hang still ends in 2.5 s.
    const github = createGitHub({ token: gh.token, baseUrl: gh.url, writeSpacingMs: 0, retries: 0, timeoutMs: 2500 });
    const revisions = new Revisions(github, join(t.dir, 'git'));
    new GitHubSink({ config, store: t.store, events, revisions, logger: pino({ level: 'silent' }), webBaseUrl: 'http://viewer.test', retryMs: 5 }).start();
    web = createWebServer({ host: '127.0.0.1', port: 0, store: t.store, events, logger: pino({ level: 'silent' }) });
    await web.start();
  });
  afterAll(async () => {
    await web?.stop();
    await gh?.close();
    repo?.close();
    await t?.close();
  });

  async function start() {
    const user = await t.store.users.identify({ provider: 'irc', id: 'a', handle: 'a' });
    const r = await t.store.deploys.request(
      { app: 'web', environment: 'staging', ref: 'main', sha, kind: 'deploy', requesterId: user.id, provider: 'irc', room: '#d', hosts: [] },
      new Date(),
      'me',
    );
    if (r.outcome !== 'started') throw new Error(r.outcome);
    events.publish({ type: 'started', deployId: r.deploy.id, deploy: r.deploy, info: { hostCount: 0, commits: null, previousSha: null, notes: [] } });
    return r.deploy.id;
  }

  async function end(id: number) {
    await t.store.deploys.finish(id, 'succeeded', null, { owner: 'me' });
    events.publish({ type: 'ended', deployId: id, deploy: (await t.store.deploys.get(id))!, failedHosts: [] });
  }

  const posts = () => gh.requestsTo('POST', /\/deployments$/).length;

  it('GIVEN POST /deployments hangs THEN the deploy ends and frees its lock meanwhile; the deployment is made when it ends', async () => {
    const before = gh.repo('acme/web').deployments.length;
    const p0 = posts();
    gh.fault({ kind: 'hang', method: 'POST', path: /\/deployments$/, count: 1 });
    const id = await start();
    // GitHub holds the POST; the deploy does not wait for it.
    await vi.waitFor(() => expect(posts() - p0).toBe(1), { timeout: 30_000 });
    await end(id);
    expect(await t.store.db.lock.count()).toBe(0);
    expect((await t.store.deploys.get(id))?.state).toBe('succeeded');
    expect(gh.repo('acme/web').deployments.length - before).toBe(0);
    await events.flushed();
    const made = gh.repo('acme/web').deployments.slice(before);
    expect(made).toHaveLength(1);
    expect(made[0]?.description).toContain(`#${id}`);
    expect(made[0]?.statuses.map((s) => s.state)).toEqual(['success']);
    expect((await t.store.deploys.get(id))?.githubNotUpdated).toBe(false);
    gh.recover();
  });

  it('GIVEN /deployments hangs for good THEN the deploy still ends at once and says "GitHub not updated"', async () => {
    const before = gh.repo('acme/web').deployments.length;
    gh.fault({ kind: 'hang', path: /\/deployments/, count: 50 });
    const id = await start();
    await end(id);
    expect(await t.store.db.lock.count()).toBe(0);
    await events.flushed();
    expect(gh.repo('acme/web').deployments.length - before).toBe(0);
    expect((await t.store.deploys.get(id))?.githubNotUpdated).toBe(true);
    const api = (await (await fetch(`${web.url}/api/deploys/${id}`)).json()) as { githubNotUpdated: boolean };
    expect(api.githubNotUpdated).toBe(true);
    gh.recover();
  });

  async function runOne(state: 'succeeded' | 'failed', failuresBeforeFinal: number) {
    const user = await t.store.users.identify({ provider: 'irc', id: 'a', handle: 'a' });
    const r = await t.store.deploys.request(
      { app: 'web', environment: 'staging', ref: 'main', sha, kind: 'deploy', requesterId: user.id, provider: 'irc', room: '#d', hosts: [] },
      new Date(),
      'me',
    );
    if (r.outcome !== 'started') throw new Error(r.outcome);
    events.publish({ type: 'started', deployId: r.deploy.id, deploy: r.deploy, info: { hostCount: 0, commits: null, previousSha: null, notes: [] } });
    await events.flushed();
    gh.failNext(502, 'Server Error', failuresBeforeFinal);
    await t.store.deploys.finish(r.deploy.id, state, state === 'failed' ? 'boom' : null, { owner: 'me' });
    events.publish({ type: 'ended', deployId: r.deploy.id, deploy: (await t.store.deploys.get(r.deploy.id))!, failedHosts: [] });
    await events.flushed();
    const api = (await (await fetch(`${web.url}/api/deploys/${r.deploy.id}`)).json()) as { githubNotUpdated: boolean };
    return { id: r.deploy.id, deployment: gh.repo('acme/web').deployments.at(-1)!, api };
  }

  it('GIVEN GitHub refuses the final status twice THEN the third try posts it', async () => {
    const { deployment, api } = await runOne('succeeded', 2);
    expect(deployment.sha).toBe(sha);
    expect(deployment.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(api.githubNotUpdated).toBe(false);
  });

  it('GIVEN GitHub keeps refusing the final status THEN the deploy is marked "GitHub not updated" on the API and the page', async () => {
    const { id, deployment, api } = await runOne('failed', 3);
    expect(deployment.statuses.map((s) => s.state)).toEqual(['in_progress']);
    expect(api.githubNotUpdated).toBe(true);
    expect((await t.store.deploys.get(id))?.githubNotUpdated).toBe(true);
    expect(await (await fetch(`${web.url}/deploys/${id}`)).text()).toContain('GitHub not updated');
  });
});
