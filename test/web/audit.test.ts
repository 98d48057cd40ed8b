/**
 * The audit trail and policy on the viewer: /audit with its filters, /api/audit as JSON, freezes and
 * environment URLs on the dashboard, all behind WEB_AUTH when it is set.
 */
import type { Browser } from 'playwright-core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { chromiumSkipReason, launchChromium } from '../support/browser.js';
import { type TempStore, tempStore } from '../support/db.js';

const logger = pino({ level: 'silent' });
const AUTH = 'ops:s3cret';
const basic = (creds: string) => `Basic ${Buffer.from(creds).toString('base64')}`;
const saturday = new Date('2026-12-05T11:00:00Z');

const policy = {
  timezone: 'Europe/Berlin',
  freezes: [{ environments: ['production'], weekly: 'fri 16:00 - mon 08:00', reason: 'weekend <b>' }],
  apps: {
    web: {
      environments: { production: { requires: 'staging', url: 'https://www.example.com' }, staging: {} },
    },
  },
} as never;

describe('/audit and /api/audit', () => {
  let t: TempStore;
  let web: WebServer;
  let ids: Record<string, number>;

  beforeAll(async () => {
    t = await tempStore();
    const alice = await t.store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const boss = await t.store.users.identify({ provider: 'slack', id: 'U1', handle: 'boss' });
    const at = new Date('2026-12-05T10:00:00Z');
    const row = { identity: 'irc:alice', room: '#deploys', at };
    await t.store.audit.record({
      ...row,
      userId: alice.id,
      command: 'deploy',
      text: 'deploy web to production',
      outcome: 'refused',
      detail: 'production is frozen',
    });
    await t.store.audit.record({
      ...row,
      userId: alice.id,
      command: 'lock',
      text: 'lock staging token=ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      outcome: 'ok',
    });
    await t.store.audit.recordDecision({
      userId: boss.id,
      app: 'web',
      environment: 'production',
      deployId: 7,
      gate: 'freeze',
      decision: 'override',
      detail: 'frozen: weekend',
      at,
    });
    await t.store.audit.recordDecision({
      userId: alice.id,
      app: 'web',
      environment: 'production',
      gate: 'promotion',
      decision: 'refused',
      detail: 'production requires staging',
      at,
    });
    const rows = await t.store.db.auditEvent.findMany({ orderBy: { id: 'asc' } });
    ids = { deploy: rows[0]!.id, lock: rows[1]!.id, override: rows[2]!.id, promotion: rows[3]!.id };
    await t.store.freezes.set({ environment: 'staging', reason: 'db migration', until: null, createdById: boss.id, at });
    web = createWebServer({
      host: '127.0.0.1',
      port: 0,
      auth: AUTH,
      store: t.store,
      events: new DeployEvents(),
      logger,
      policy,
      now: () => saturday,
      secrets: ['ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    });
    await web.start();
  });

  afterAll(async () => {
    await web?.stop();
    await t?.close();
  });

  const get = (path: string, auth: string | null = AUTH) => fetch(`${web.url}${path}`, { headers: auth ? { authorization: basic(auth) } : {} });
  const events = async (query: string) => {
    const res = await get(`/api/audit${query}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { events: { id: number }[] }).events.map((e) => e.id);
  };

  it('asks for WEB_AUTH on the page and the API', async () => {
    for (const path of ['/audit', '/api/audit', '/audit?user=alice']) {
      expect((await get(path, null)).status, path).toBe(401);
      expect((await get(path, 'ops:wrong')).status, path).toBe(401);
    }
  });

  it('lists every row newest first as JSON, masked', async () => {
    const res = await get('/api/audit');
    const body = (await res.json()) as { events: Record<string, unknown>[]; next: string | null };
    expect(body.events.map((e) => e.id)).toEqual([ids.promotion, ids.override, ids.lock, ids.deploy]);
    expect(body.events[1]).toMatchObject({ kind: 'gate', user: 'boss', gate: 'freeze', outcome: 'override', environment: 'production', deployId: 7 });
    expect(JSON.stringify(body)).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
    expect(body.next).toBeNull();
  });

  it('filters by user, environment, deploy id and outcome, and pages', async () => {
    expect(await events('?user=alice')).toEqual([ids.promotion, ids.lock, ids.deploy]);
    expect(await events('?environment=production')).toEqual([ids.promotion, ids.override, ids.deploy]);
    expect(await events('?deploy=7')).toEqual([ids.override]);
    expect(await events('?outcome=refused')).toEqual([ids.promotion, ids.deploy]);
    expect(await events('?outcome=override&environment=production')).toEqual([ids.override]);
    expect(await events('?user=&environment=&deploy=&outcome=')).toHaveLength(4); // an empty form
    const page = (await (await get('/api/audit?limit=2')).json()) as { events: { id: number }[]; next: string };
    expect(page.events.map((e) => e.id)).toEqual([ids.promotion, ids.override]);
    expect(await events(page.next.replace('/api/audit', ''))).toEqual([ids.lock, ids.deploy]);
    expect((await get('/api/audit?user=nobody')).status).toBe(404);
    expect((await get('/api/audit?outcome=maybe')).status).toBe(400);
  });

  it('matches environment names case-sensitively, the same on SQLite and PostgreSQL (their LIKE differs)', async () => {
    const alice = await t.store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const row = { userId: alice.id, identity: 'irc:alice', room: '#deploys', command: 'lock', outcome: 'ok' as const, at: new Date('2026-12-05T10:30:00Z') };
    await t.store.audit.record({ ...row, text: 'lock web/Production hands off' });
    await t.store.audit.record({ ...row, text: 'lock web/PRODUCTION hands off' });
    const [upper, capital] = (await t.store.db.auditEvent.findMany({ orderBy: { id: 'desc' }, take: 2 })).map((r) => r.id);
    try {
      expect(await events('?environment=production')).toEqual([ids.promotion, ids.override, ids.deploy]);
      expect(await events('?environment=Production')).toEqual([capital]);
      expect(await events('?env=PRODUCTION')).toEqual([upper]);
      expect((await t.store.audit.query({ environment: 'production' })).map((r) => r.id)).toEqual([ids.promotion, ids.override, ids.deploy]);
    } finally {
      await t.store.db.auditEvent.deleteMany({ where: { id: { in: [upper!, capital!] } } });
    }
  });

  it('renders /audit with the filter form and the rows', async () => {
    const res = await get('/audit?environment=production');
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<h1>Audit trail</h1>');
    expect(page).toContain('name="environment" value="production"');
    expect(page.match(/class="audit-row/g)).toHaveLength(3);
    expect(page).toContain('<b>freeze</b> gate');
    expect(page).toContain('2026-12-05 11:00'); // Berlin time
    expect(page).not.toContain('lock staging');
    const missing = await (await get('/audit?user=nobody')).text();
    expect(missing).toContain('nobody is called nobody');
  });

  describe.skipIf(chromiumSkipReason())('in a real Chromium', () => {
    it('filters with the form, behind basic auth', async () => {
      const browser: Browser = await launchChromium();
      onTestFinished(() => browser.close());
      const page = await browser.newPage({ httpCredentials: { username: 'ops', password: 's3cret' } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${web.url}/audit`);
      expect(await page.locator('tr.audit-row').count()).toBe(4);
      await page.fill('input[name="environment"]', 'production');
      await page.selectOption('select[name="outcome"]', 'override');
      await Promise.all([page.waitForURL(/outcome=override/), page.click('button[type="submit"]')]);
      expect(await page.locator('tr.audit-row').count()).toBe(1);
      expect(await page.locator('tr.audit-row').first().getAttribute('data-outcome')).toBe('override');
      expect(await page.inputValue('input[name="environment"]')).toBe('production');
      expect(errors).toEqual([]);
    });
  });

  it('shows freezes (active and from chat) and environment URLs on the dashboard', async () => {
    const page = await (await get('/')).text();
    expect(page).toMatch(/<section class="card" id="freezes">[\s\S]*<b>production<\/b>[\s\S]*mon 08:00[\s\S]*weekend &lt;b&gt;/);
    expect(page).toMatch(/<b>staging<\/b>[\s\S]*until <code>unfreeze staging<\/code>[\s\S]*db migration[\s\S]*boss/);
    expect(page).toContain('<a href="https://www.example.com" rel="noreferrer">https://www.example.com</a>');
    expect(page).toMatch(/<b>web<\/b> → production<\/td><td>[\s\S]*?<\/td><td>staging<\/td>/);
  });
});
