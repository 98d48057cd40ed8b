import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import { bindingProblem, isLoopbackHost } from '../../src/web/auth.js';
import type { PushBoard } from '../../src/web/push-board.js';
import { createWebServer, WebConfigError, type WebServer } from '../../src/web/server.js';
import { type TempStore, tempStore } from '../support/db.js';
import { seedDeploy, seedLines } from './fixtures.js';

const logger = pino({ level: 'silent' });

describe('web API and pages without auth', () => {
  let t: TempStore;
  let web: WebServer;
  let running: { id: number };
  let done: { id: number };
  let pushBoard: PushBoard | null = null;

  beforeAll(async () => {
    t = await tempStore();
    const now = Date.now();
    done = await seedDeploy(t.store, {
      app: 'web',
      environment: 'production',
      state: 'failed',
      ref: 'v1.2',
      error: 'healthcheck failed on <b>web-2</b>',
      createdAt: new Date(now - 3_600_000),
      finishedAt: new Date(now - 3_500_000),
    });
    running = await seedDeploy(t.store, { app: 'api', environment: 'staging', state: 'running', hosts: ['api-1', 'api-2'] });
    await seedLines(t.store, running.id, 12, ['api-1', 'api-2']);
    await t.store.db.logChunk.create({
      data: { deployId: running.id, firstSeq: 13, lastSeq: 13, host: null, stream: 'system', text: 'shepherd: <script>alert(1)</script> done', at: new Date() },
    });
    const bob = await t.store.users.identify({ provider: 'irc', id: 'bob', handle: 'bob' });
    await t.store.locks.acquire({ app: '*', environment: 'production', holderId: bob.id, reason: 'db migration <tonight>' });
    await t.store.oncall.set({ team: 'web', userId: bob.id, setById: bob.id, startsAt: new Date(now - 60_000), endsAt: null });
    web = createWebServer({
      host: '127.0.0.1',
      port: 0,
      store: t.store,
      events: new DeployEvents(),
      logger,
      baseUrl: 'https://shepherd.example.com/',
      teams: ['web', 'payments'],
      services: { push: { board: async () => pushBoard } },
    });
    await web.start();
  });

  afterAll(async () => {
    await web?.stop();
    await t?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${web.url}${path}`, { headers });
  const json = async (path: string) => {
    const res = await get(path);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: string } };
  };

  it('lists deploys newest first with viewer links, filtered and paged', async () => {
    const all = await json('/api/deploys');
    expect(all.status).toBe(200);
    const deploys = all.body.deploys as { id: number; app: string; url: string; requester: string; hostCount: number; state: string }[];
    expect(deploys.map((d) => d.id)).toEqual([running.id, done.id]);
    expect(deploys[0]).toMatchObject({
      app: 'api',
      requester: 'alice',
      hostCount: 2,
      state: 'running',
      url: `https://shepherd.example.com/deploys/${running.id}`,
    });
    expect(all.body.next).toBeNull();

    const onlyWeb = await json('/api/deploys?app=web');
    expect((onlyWeb.body.deploys as { id: number }[]).map((d) => d.id)).toEqual([done.id]);
    const failed = await json('/api/deploys?state=failed&environment=production');
    expect((failed.body.deploys as { id: number }[]).map((d) => d.id)).toEqual([done.id]);

    const page1 = await json('/api/deploys?limit=1');
    expect((page1.body.deploys as { id: number }[]).map((d) => d.id)).toEqual([running.id]);
    expect(page1.body.next).toBe(`/api/deploys?before=${running.id}&limit=1`);
    const page2 = await json(page1.body.next as string);
    expect((page2.body.deploys as { id: number }[]).map((d) => d.id)).toEqual([done.id]);
  });

  it('answers 400 with a reason for bad parameters', async () => {
    for (const path of [
      '/api/deploys?limit=0',
      '/api/deploys?limit=abc',
      '/api/deploys?state=exploded',
      '/api/deploys/abc',
      '/api/deploys/0',
      `/api/deploys/${running.id}/lines?after=-1`,
      `/api/deploys/${running.id}/lines?limit=999999`,
      '/api/metrics?weeks=0',
    ]) {
      const r = await json(path);
      expect(r.status, path).toBe(400);
      expect(r.body.error, path).toMatch(/^bad (query|path): /);
    }
  });

  it('shows one deploy with its hosts, and 404 for an unknown id', async () => {
    const r = await json(`/api/deploys/${running.id}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: running.id,
      app: 'api',
      environment: 'staging',
      lineCount: 13,
      url: `https://shepherd.example.com/deploys/${running.id}`,
    });
    expect((r.body.hosts as { host: string; state: string }[]).map((h) => [h.host, h.state])).toEqual([
      ['api-1', 'running'],
      ['api-2', 'running'],
    ]);
    const missing = await json('/api/deploys/9999');
    expect(missing).toEqual({ status: 404, body: { error: 'deploy 9999 not found' } });
    expect((await json('/api/deploys/9999/lines')).status).toBe(404);
    expect((await get('/deploys/9999')).status).toBe(404);
    expect((await get('/deploys/9999/raw')).status).toBe(404);
    expect((await get('/deploys/9999/events')).status).toBe(404);
    expect((await json('/api/nothing-here')).status).toBe(404);
    const page = await get('/nothing-here');
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('Nothing at /nothing-here');
  });

  it('pages log lines with after/limit and filters by host (- for the bot)', async () => {
    const first = await json(`/api/deploys/${running.id}/lines?limit=5`);
    const lines = first.body.lines as { seq: number; host: string | null; text: string }[];
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(first.body.next).toBe(5);
    const rest = await json(`/api/deploys/${running.id}/lines?after=5&limit=100`);
    expect((rest.body.lines as { seq: number }[]).map((l) => l.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13]);
    expect(rest.body.next).toBeNull();
    const api1 = await json(`/api/deploys/${running.id}/lines?host=api-1`);
    const api1Lines = api1.body.lines as { seq: number; host: string }[];
    expect(api1Lines.every((l) => l.host === 'api-1')).toBe(true);
    expect(api1Lines.map((l) => l.seq)).toEqual([2, 4, 6, 8, 10, 12]);
    const bot = await json(`/api/deploys/${running.id}/lines?host=-`);
    expect(bot.body.lines).toEqual([{ seq: 13, host: null, stream: 'system', text: 'shepherd: <script>alert(1)</script> done', at: expect.any(String) }]);
  });

  it('serves the raw log as text, one "host stream text" per line', async () => {
    const res = await get(`/deploys/${running.id}/raw`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await res.text();
    const rows = text.trimEnd().split('\n');
    expect(rows).toHaveLength(13);
    expect(rows[0]).toBe('api-2 stdout line 1');
    expect(rows[1]).toBe('api-1 stdout line 2');
    expect(rows[12]).toBe('- system shepherd: <script>alert(1)</script> done');
  });

  it('lists locks and who is on call', async () => {
    const locks = await json('/api/locks');
    expect(locks.body.locks).toEqual([
      { app: '*', environment: 'production', holder: 'bob', reason: 'db migration <tonight>', deployId: null, since: expect.any(String) },
    ]);
    const oncall = await json('/api/oncall');
    expect(oncall.body.teams).toEqual([
      { team: 'payments', now: null, next: null },
      { team: 'web', now: { name: 'bob', kind: 'rotation', until: null }, next: null },
    ]);
  });

  it('computes DORA metrics per app and environment', async () => {
    const r = await json('/api/metrics');
    expect(r.status).toBe(200);
    const groups = r.body.groups as { app: string; environment: string; changeFailure: { failed: number; total: number; rate: number } }[];
    expect(groups.map((g) => `${g.app}/${g.environment}`)).toEqual(['web/production']);
    expect(groups[0]!.changeFailure).toEqual({ failed: 1, total: 1, rate: 1 });
    expect((await json('/api/metrics?app=api')).body.groups).toEqual([]);
  });

  it('renders the deploy page with state, hosts and escaped text', async () => {
    const res = await get(`/deploys/${done.id}`);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain(`Deploy #${done.id}`);
    expect(page).toContain('class="badge s-failed"');
    expect(page).toContain('healthcheck failed on &lt;b&gt;web-2&lt;/b&gt;');
    expect(page).not.toContain('<b>web-2</b>');
    expect(page).toContain(`href="/deploys/${done.id}/raw"`);
    expect(page).toContain('<script type="module" src="/static/viewer.js">');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    for (const asset of ['viewer.js', 'ansi_up.js', 'style.css', 'dashboard.js']) {
      const a = await get(`/static/${asset}`);
      expect(a.status, asset).toBe(200);
    }
    expect((await get('/static/../server.ts')).status).toBe(404);
  });

  it('renders the dashboard: running, recent, locks, on-call, push, metrics', async () => {
    let page = await (await get('/')).text();
    expect(page).toMatch(new RegExp(`id="running".*href="/deploys/${running.id}"`, 's'));
    expect(page).toContain(`href="/deploys/${done.id}"`);
    expect(page).toContain('db migration &lt;tonight&gt;');
    expect(page).toMatch(/id="oncall".*<b>web<\/b><\/td><td>bob/s);
    expect(page).toContain('no push open');
    expect(page).toContain('Change failure rate');
    expect(page).toMatch(/<svg class="chart"/);

    pushBoard = {
      branch: 'push/2026-11-23',
      state: 'confirming',
      picks: [
        {
          id: 7,
          title: '#123 Fix <login>',
          author: 'carol',
          stars: 3,
          lines: 420,
          comments: 12,
          state: 'approved',
          confirmed: true,
          risky: true,
          risk: 72,
          riskReasons: ['420 lines', '12 comments'],
        },
        { id: 8, title: '#124 Typo', author: 'dave', stars: 5, lines: 2, comments: null, state: 'approved', confirmed: false },
      ],
    };
    page = await (await get('/')).text();
    expect(page).not.toContain('no push open');
    expect(page).toContain('push/2026-11-23');
    expect(page).toContain('#123 Fix &lt;login&gt;');
    expect(page).toContain('1/2 authors confirmed');
    expect(page).toContain('★★★☆☆');
    expect(page).toContain('<td class="num risk" title="420 lines, 12 comments">72/100</td>');
    pushBoard = null;
  });

  it('builds viewer links from WEB_BASE_URL', () => {
    expect(web.baseUrl).toBe('https://shepherd.example.com');
    expect(web.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('web auth', () => {
  let t: TempStore;
  let deployId: number;
  const servers: WebServer[] = [];

  beforeAll(async () => {
    t = await tempStore();
    deployId = (await seedDeploy(t.store, { state: 'succeeded' })).id;
    await seedLines(t.store, deployId, 3);
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await t?.close();
  });

  async function serve(auth: string | undefined, host = '127.0.0.1') {
    const web = createWebServer({ host, port: 0, auth, store: t.store, events: new DeployEvents(), logger });
    servers.push(web);
    await web.start();
    return web;
  }

  const routes = () => [
    '/',
    `/deploys/${deployId}`,
    `/deploys/${deployId}/raw`,
    `/deploys/${deployId}/events`,
    '/api/deploys',
    `/api/deploys/${deployId}`,
    `/api/deploys/${deployId}/lines`,
    '/api/locks',
    '/api/oncall',
    '/api/metrics',
    '/static/viewer.js',
    '/nowhere',
  ];
  const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

  it('refuses to start on a non-loopback address without WEB_AUTH', () => {
    expect(() => createWebServer({ host: '0.0.0.0', port: 0, store: t.store, events: new DeployEvents(), logger })).toThrow(WebConfigError);
    expect(bindingProblem('0.0.0.0', undefined)).toBe(
      'WEB_HOST=0.0.0.0 is reachable from other machines: set WEB_AUTH (user:password or a token) or bind WEB_HOST=127.0.0.1',
    );
    expect(bindingProblem('::', '')).toMatch(/set WEB_AUTH/);
    expect(bindingProblem('shepherd.example.com', undefined)).toMatch(/set WEB_AUTH/);
    expect(bindingProblem('0.0.0.0', 'ops:pw')).toBeNull();
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', '192.168.1.1', 'example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('without WEB_AUTH on loopback every route is open', async () => {
    const web = await serve(undefined);
    for (const path of routes()) {
      const ctl = new AbortController();
      const res = await fetch(`${web.url}${path}`, { signal: ctl.signal });
      expect(res.status, path).toBe(path === '/nowhere' ? 404 : 200);
      ctl.abort();
    }
  });

  it('with user:password every route needs basic auth', async () => {
    const web = await serve('ops:s3cret:with-colon');
    for (const path of routes()) {
      const none = await fetch(`${web.url}${path}`);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="Shepherd"/);
      expect((await fetch(`${web.url}${path}`, { headers: { authorization: basic('ops', 'wrong') } })).status, path).toBe(401);
      expect((await fetch(`${web.url}${path}`, { headers: { authorization: basic('eve', 's3cret:with-colon') } })).status, path).toBe(401);
      const ctl = new AbortController();
      const ok = await fetch(`${web.url}${path}`, { headers: { authorization: basic('ops', 's3cret:with-colon') }, signal: ctl.signal });
      expect(ok.status, path).toBe(path === '/nowhere' ? 404 : 200);
      ctl.abort();
    }
    expect(await (await fetch(`${web.url}/api/locks`)).json()).toEqual({ error: 'authentication required (WEB_AUTH)' });
  });

  it('with a token every route needs it as a bearer token (or as a basic-auth password)', async () => {
    const web = await serve('tok_0123456789abcdef');
    for (const path of routes()) {
      expect((await fetch(`${web.url}${path}`)).status, path).toBe(401);
      expect((await fetch(`${web.url}${path}`, { headers: { authorization: 'Bearer tok_wrong' } })).status, path).toBe(401);
      for (const authorization of ['Bearer tok_0123456789abcdef', basic('anyone', 'tok_0123456789abcdef')]) {
        const ctl = new AbortController();
        const ok = await fetch(`${web.url}${path}`, { headers: { authorization }, signal: ctl.signal });
        expect(ok.status, `${path} ${authorization}`).toBe(path === '/nowhere' ? 404 : 200);
        ctl.abort();
      }
    }
  });

  it('starts on a non-loopback address when WEB_AUTH is set', () => {
    // Constructed only: binding 0.0.0.0 in a test would expose it beyond loopback.
    expect(() => createWebServer({ host: '0.0.0.0', port: 0, auth: 'ops:pw', store: t.store, events: new DeployEvents(), logger })).not.toThrow();
  });
});
