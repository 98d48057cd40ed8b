/**
 * POST /github/webhook on the real web server and a real store: signature, body, ping, unknown repository and
 * redelivery are answered with a status and a reason; only a new, signed delivery for a known repository
 * reaches the handler, once. The route is exempt from WEB_AUTH (its signature is its check); the rest is not.
 */
import { createHmac } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import { WebhookDeliveries } from '../../src/store/webhook-deliveries.js';
import type { WebhookEvent } from '../../src/web/github-webhook.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { type TempStore, tempStore } from '../support/db.js';

const SECRET = 'It\u2019s a Secret to Everybody';
const sign = (body: string | Buffer, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('POST /github/webhook', () => {
  let t: TempStore;
  let web: WebServer;
  let bare: WebServer;
  const seen: WebhookEvent[] = [];
  let n = 0;

  beforeAll(async () => {
    t = await tempStore();
    const webhook = {
      secret: SECRET,
      knowsRepository: (name: string) => name.toLowerCase() === 'acme/web',
      deliveries: new WebhookDeliveries(t.store.db),
      onEvent: async (e: WebhookEvent) => {
        seen.push(e);
      },
    };
    web = createWebServer({
      host: '127.0.0.1',
      port: 0,
      auth: 'ops:pw',
      store: t.store,
      events: new DeployEvents(),
      logger: pino({ level: 'silent' }),
      webhook,
    });
    bare = createWebServer({
      host: '127.0.0.1',
      port: 0,
      store: t.store,
      events: new DeployEvents(),
      logger: pino({ level: 'silent' }),
      webhook: { ...webhook, secret: undefined },
    });
    await web.start();
    await bare.start();
  });
  afterAll(async () => {
    await web?.stop();
    await bare?.stop();
    await t?.close();
  });

  async function post(
    body: string,
    options: { event?: string; delivery?: string; signature?: string | null; type?: string; server?: WebServer } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: Record<string, string> = {
      'content-type': options.type ?? 'application/json',
      'x-github-event': options.event ?? 'check_suite',
      'x-github-delivery': options.delivery ?? `d-${++n}`,
      'user-agent': 'GitHub-Hookshot/abc123',
    };
    const signature = options.signature === undefined ? sign(body) : options.signature;
    if (signature !== null) headers['x-hub-signature-256'] = signature;
    const res = await fetch(`${(options.server ?? web).url}/github/webhook`, { method: 'POST', headers, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const event = (repo = 'acme/web') => JSON.stringify({ action: 'completed', repository: { full_name: repo }, check_suite: { head_sha: 'a'.repeat(40) } });

  it('GIVEN a signed ping THEN 200, without WEB_AUTH credentials', async () => {
    const r = await post(JSON.stringify({ zen: 'Design for failure.', hook_id: 1 }), { event: 'ping' });
    expect(r).toEqual({ status: 200, body: { ok: true, pong: 'Design for failure.' } });
  });

  it('GIVEN no signature, or a wrong one THEN 401 with the reason, nothing handled', async () => {
    const missing = await post(event(), { signature: null });
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatch(/missing X-Hub-Signature-256/);
    const wrong = await post(event(), { signature: sign(event(), 'another secret') });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatch(/does not match/);
    const garbage = await post(event(), { signature: 'sha256=zz' });
    expect(garbage.status).toBe(401);
    // A body changed after signing fails too.
    const tampered = await post(event().replace('acme', 'acne'), { signature: sign(event()) });
    expect(tampered.status).toBe(401);
    expect(seen).toHaveLength(0);
  });

  it('GIVEN GITHUB_WEBHOOK_SECRET unset THEN every delivery is 401 and says so', async () => {
    const r = await post(event(), { server: bare });
    expect(r.status).toBe(401);
    expect(r.body.error).toMatch(/GITHUB_WEBHOOK_SECRET is not set/);
  });

  it('GIVEN malformed JSON (signed) THEN 400, nothing handled', async () => {
    const r = await post('{"action": "completed",');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/not a JSON object/);
    expect((await post('[1,2]')).status).toBe(400);
    expect(seen).toHaveLength(0);
  });

  it('GIVEN an event for a repository no app names THEN 404 naming it', async () => {
    const r = await post(event('acme/other'));
    expect(r.status).toBe(404);
    expect(r.body.error).toMatch(/no app in shepherd.yml has repo: acme\/other/);
    expect(seen).toHaveLength(0);
  });

  it('GIVEN a new delivery THEN 202 and it is handled; the same delivery again → 200, handled once', async () => {
    const first = await post(event(), { delivery: 'f0f0-1' });
    expect(first.status).toBe(202);
    await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 10_000 });
    expect(seen[0]).toMatchObject({ name: 'check_suite', delivery: 'f0f0-1', repository: 'acme/web' });
    const again = await post(event(), { delivery: 'f0f0-1' });
    expect(again).toEqual({ status: 200, body: { ok: true, note: 'delivery f0f0-1 was handled already' } });
    expect(seen).toHaveLength(1);
    expect(await t.store.db.webhookDelivery.count({ where: { id: 'f0f0-1' } })).toBe(1);
  });

  it("GIVEN GitHub's form encoding (payload=…) THEN it is read like JSON", async () => {
    const form = new URLSearchParams({ payload: event() }).toString();
    const r = await post(form, { type: 'application/x-www-form-urlencoded', delivery: 'form-1' });
    expect(r.status).toBe(202);
    await vi.waitFor(() => expect(seen.map((e) => e.delivery)).toContain('form-1'), { timeout: 10_000 });
  });

  it('GIVEN WEB_AUTH THEN the other routes still ask for it', async () => {
    expect((await fetch(`${web.url}/api/locks`)).status).toBe(401);
    expect((await fetch(`${web.url}/github/webhook`)).status).toBe(401);
  });
});
