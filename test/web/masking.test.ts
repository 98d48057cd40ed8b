/**
 * Masking: the pipeline's Masker rules (src/deploy/mask.ts), and the viewer's second pass over whatever
 * storage holds, so even a line that reached the database unmasked is never shown.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import { MASK, Masker, secretsFromEnv } from '../../src/deploy/mask.js';
import { Redactor } from '../../src/web/redact.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { type TempStore, tempStore } from '../support/db.js';
import { SimulatedRun, seedDeploy } from './fixtures.js';
import { waitUntil } from '../support/wait.js';
import { openSse, type SseEvent } from './sse-client.js';

const ENV = {
  GITHUB_TOKEN: 'gh-seeded-0123456789abcdef',
  SLACK_BOT_TOKEN: 'xoxb-1111-2222-abcdefABCDEF',
  SLACK_APP_TOKEN: 'xapp-1-A0000-9999-deadbeef',
  IRC_PASSWORD: 'hunter2-irc!',
  WEB_AUTH: 'ops:web-pass-77',
  LOG_LEVEL: 'info',
};

describe('Masker rules', () => {
  const m = () => new Masker(secretsFromEnv(ENV));

  it.each([
    [
      'a token from the environment, anywhere in the line',
      `curl -H "Authorization: token ${ENV.GITHUB_TOKEN}" https://api`,
      `curl -H "Authorization: token ${MASK}" https://api`,
    ],
    ['two secrets in one line', `irc ${ENV.IRC_PASSWORD} slack ${ENV.SLACK_BOT_TOKEN}`, `irc ${MASK} slack ${MASK}`],
    ['a Slack token not configured here', 'xoxb-9999-8888-zzzzzzzzzzzz leaked', `${MASK} leaked`],
    ['a GitHub PAT not configured here', `push with ghp_${'a'.repeat(36)} ok`, `push with ${MASK} ok`],
    ['password= assignment', 'DB_PASSWORD=s3cr3t ./migrate', `DB_PASSWORD=${MASK} ./migrate`],
    ['token: with quotes (kept)', 'api_token: "abc def"', `api_token: "${MASK}"`],
    ['secret=', 'export CLIENT_SECRET=xyz123;', `export CLIENT_SECRET=${MASK};`],
    ['api-key=', 'curl "https://x/?api-key=k3y&q=1"', `curl "https://x/?api-key=${MASK}&q=1"`],
    ['URL with a password', 'git clone https://deploy:p4ss@git.example.com/acme/web.git', `git clone https://deploy:${MASK}@git.example.com/acme/web.git`],
    ['postgres URL', 'DATABASE_URL=postgres://app:pw@db:5432/app', `DATABASE_URL=postgres://app:${MASK}@db:5432/app`],
    ['bearer header', 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig', `Authorization: Bearer ${MASK}`],
    ['ordinary output stays', 'npm ci --omit=dev: added 120 packages in 3s', 'npm ci --omit=dev: added 120 packages in 3s'],
    ['a commit SHA stays', 'HEAD is now at 3f786850e387550fdab836ed7e6dc881de23001b', 'HEAD is now at 3f786850e387550fdab836ed7e6dc881de23001b'],
  ])('%s', (_what, input, expected) => {
    expect(m().line(input)).toBe(expected);
  });

  it('masks a PEM private key across lines, per stream, and resumes after its end', () => {
    const masker = m();
    const out = [
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEowIBAAKCAQEAsecretbody1',
      'other stream line',
      'secretbody2==',
      '-----END RSA PRIVATE KEY-----',
      'after the key',
    ].map((l, i) => masker.line(l, i === 2 ? 'web-1:stderr' : 'web-1:stdout'));
    expect(out).toEqual(['-----BEGIN RSA PRIVATE KEY-----', MASK, 'other stream line', MASK, `${MASK}-----END RSA PRIVATE KEY-----`, 'after the key']);
  });

  it('masks a key printed on one line, and the rest of a BEGIN line', () => {
    expect(m().line('k=-----BEGIN PRIVATE KEY-----MIIBVQIBADANBg-----END PRIVATE KEY-----')).toBe(
      `k=-----BEGIN PRIVATE KEY-----${MASK}-----END PRIVATE KEY-----`,
    );
    const masker = m();
    expect(masker.line('-----BEGIN EC PRIVATE KEY----- MHcCAQEEI')).toBe(`-----BEGIN EC PRIVATE KEY-----${MASK}`);
    expect(masker.line('MoreKeyBody')).toBe(MASK);
  });

  it('leaves public keys and certificates alone', () => {
    expect(m().line('-----BEGIN CERTIFICATE-----')).toBe('-----BEGIN CERTIFICATE-----');
    expect(m().line('-----BEGIN PUBLIC KEY-----')).toBe('-----BEGIN PUBLIC KEY-----');
  });

  it('takes secret values from the known variables and the password of WEB_AUTH, ignoring tiny ones', () => {
    expect(secretsFromEnv(ENV).sort()).toEqual(
      [ENV.GITHUB_TOKEN, ENV.IRC_PASSWORD, ENV.SLACK_APP_TOKEN, ENV.SLACK_BOT_TOKEN, ENV.WEB_AUTH, 'web-pass-77'].sort(),
    );
    expect(new Masker(['ab']).line('ab cab')).toBe('ab cab');
  });

  it('is idempotent: masking masked text changes nothing (the viewer masks again)', () => {
    const lines = [`token ${ENV.GITHUB_TOKEN}`, 'PASSWORD=x', 'https://u:p@h/x', '-----BEGIN RSA PRIVATE KEY-----', 'body', '-----END RSA PRIVATE KEY-----'];
    const once = (() => {
      const masker = m();
      return lines.map((l) => masker.line(l));
    })();
    const redactor = new Redactor(secretsFromEnv(ENV));
    expect(once.map((l) => redactor.line(l))).toEqual(once);
  });
});

describe('the viewer masks again on the way out', () => {
  let t: TempStore;
  let web: WebServer;
  let events: DeployEvents;
  const TOKEN = ENV.GITHUB_TOKEN;
  const BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7';

  beforeAll(async () => {
    t = await tempStore();
    events = new DeployEvents();
    web = createWebServer({ host: '127.0.0.1', port: 0, store: t.store, events, logger: pino({ level: 'silent' }), secrets: secretsFromEnv(ENV) });
    await web.start();
  });
  afterAll(async () => {
    await web?.stop();
    await t?.close();
  });

  it('a secret that reached storage unmasked (a bug upstream) is not shown by the API, raw log, stream or page', async () => {
    const deploy = await seedDeploy(t.store, { state: 'running', error: `step failed: GITHUB_TOKEN=${TOKEN}` });
    const run = new SimulatedRun(t.store, events, deploy.id);
    run.line('web-1', `cloning with ${TOKEN}`);
    run.line('web-1', '-----BEGIN PRIVATE KEY-----');
    run.line('web-1', BODY);
    run.line('web-1', '-----END PRIVATE KEY-----');
    run.line('web-2', 'password=letmein');
    await run.flush();
    const leak = (s: string) => [TOKEN, 'letmein'].filter((x) => s.includes(x));

    const api = await (await fetch(`${web.url}/api/deploys/${deploy.id}/lines`)).text();
    expect(api).toContain(`cloning with ${MASK}`);
    expect(leak(api)).toEqual([]);
    const detail = await (await fetch(`${web.url}/api/deploys/${deploy.id}`)).text();
    expect(detail).toContain(`GITHUB_TOKEN=${MASK}`);
    expect(leak(detail)).toEqual([]);
    const page = await (await fetch(`${web.url}/deploys/${deploy.id}`)).text();
    expect(leak(page)).toEqual([]);

    // The raw log is read in order, so it can also blank a key body stored unmasked.
    const raw = await (await fetch(`${web.url}/deploys/${deploy.id}/raw`)).text();
    expect(raw).toBe(
      [
        'web-1 stdout cloning with ********',
        'web-1 stdout -----BEGIN PRIVATE KEY-----',
        'web-1 stdout ********',
        'web-1 stdout ********-----END PRIVATE KEY-----',
        'web-2 stdout password=********',
        '',
      ].join('\n'),
    );

    const got: SseEvent[] = [];
    const conn = openSse(`${web.url}/deploys/${deploy.id}/events`, { onEvent: (e) => got.push(e) });
    await waitUntil('the viewer to attach', () => web.live.viewerCount() === 1);
    run.line('web-2', `live ${TOKEN}`);
    await run.state('failed');
    await conn.ended;
    const streamed = got.filter((e) => e.event === 'line').map((e) => JSON.parse(e.data).text as string);
    expect(streamed).toHaveLength(6);
    expect(streamed.at(-1)).toBe(`live ${MASK}`);
    expect(leak(streamed.join('\n'))).toEqual([]);
  });
});
