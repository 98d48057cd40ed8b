/**
 * The masking table: every secret shape below is printed by a real deploy (transport local, real shell steps)
 * plain, right after an ANSI colour code and split in two by one, and its failing step quotes secrets in its
 * command text. None may reach any output: the database (the SQLite file's bytes, or every PostgreSQL row), /api/deploys/<id>, /api/deploys/<id>/lines,
 * the raw download, the live stream (SSE), the HTML page, chat (every text the bot sent) or the pino log.
 * Near-misses (PWD=/path, a SHA, a UUID, ordinary words) must come out unchanged.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskChat } from '../../src/adapters/masked.js';
import { type DeployEvent, DeployEvents } from '../../src/deploy/events.js';
import { MASK, Masker, secretsFromEnv } from '../../src/deploy/mask.js';
import { createLogger } from '../../src/logger.js';
import { sqlitePath } from '../../src/store/db.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from '../deploy/harness.js';
import { queryRows, startedDeploy, TEST_DB, tempStore } from '../support/db.js';
import { openSse, type SseEvent } from './sse-client.js';

/** The environment the bot runs with: its secret values are masked wherever they appear, whatever their shape. */
const ENV = {
  GITHUB_TOKEN: 'gh-seeded-0123456789abcdef',
  IRC_PASSWORD: 'hunter2-irc!x',
  DEPLOY_API_KEY: 'Zq8-custom-key-value',
  DATABASE_URL: 'postgres://app:Db-pw-from-env-9@db:5432/app',
  PWD: '/srv/not-a-secret',
};

interface Shape {
  name: string;
  before: string;
  secret: string;
  after?: string;
}

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

/** Each secret is distinct, so a leak names its shape. */
const SHAPES: Shape[] = [
  { name: 'GITHUB_TOKEN from the environment', before: 'cloning with ', secret: ENV.GITHUB_TOKEN },
  { name: 'IRC_PASSWORD from the environment', before: 'irc pass ', secret: ENV.IRC_PASSWORD, after: ' ok' },
  { name: 'a *_API_KEY variable from the environment', before: 'using key ', secret: ENV.DEPLOY_API_KEY },
  { name: 'the password in DATABASE_URL from the environment', before: 'db pass is ', secret: 'Db-pw-from-env-9' },
  { name: 'GitHub ghp_', before: 'token ', secret: 'ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5' },
  { name: 'GitHub gho_', before: '', secret: 'gho_16C7e42F292c6912E7710c838347Ae178B4a' },
  { name: 'GitHub ghs_', before: 'x-access-token ', secret: 'ghs_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2' },
  { name: 'GitHub ghu_', before: 'user token: ', secret: 'ghu_Qw3rTy7uIo9pAs1dFg3hJk5lZx7cVb9nM1q2' },
  { name: 'GitHub github_pat_', before: '', secret: 'github_pat_11ABCDEFG0a1b2c3d4e5f6_g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6A7B8C9D0E1F2G3H4' },
  { name: 'Slack xoxb-', before: 'slack ', secret: 'xoxb-2048-4096-SlAcKbOtToKeN1x2y3' },
  { name: 'Slack xoxp-', before: '', secret: 'xoxp-1111-2222-3333-uSeRtOkEn9z8y7' },
  { name: 'Slack xapp-', before: 'app ', secret: 'xapp-1-A0123-4567-aPpLeVeLtOkEn55' },
  { name: 'Slack xoxe refresh token', before: '', secret: 'xoxe-1-My1xNjE2OTg0MjYwMzQ5LXJlZnJlc2g' },
  { name: 'AWS access key id AKIA', before: 'key id ', secret: 'AKIAIOSFODNN7EXAMPLE' },
  { name: 'AWS temporary key id ASIA', before: '', secret: 'ASIAY34FZKBOKMUTVV7A', after: ' expires soon' },
  { name: 'aws_secret_access_key = (ini)', before: 'aws_secret_access_key = ', secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  { name: 'AWS_SECRET_ACCESS_KEY= (env)', before: 'AWS_SECRET_ACCESS_KEY=', secret: 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY' },
  { name: 'a bare JWT', before: 'session ', secret: JWT },
  { name: 'URL with user:password@', before: 'git clone https://deploy:', secret: 'Url-pass-31337', after: '@git.example.com/acme/web.git' },
  { name: 'Authorization: Bearer', before: 'Authorization: Bearer ', secret: 'opaque-bearer-7f3e9a1c' },
  { name: 'Authorization: Basic', before: 'curl -H "Authorization: Basic ', secret: 'ZGVwbG95OnMzY3JldC1iYXNpYw==', after: '" https://x' },
  { name: 'Authorization: token (GitHub style)', before: 'Authorization: token ', secret: 'tok-gh-style-0042abcd' },
  { name: 'mysql --password X', before: 'mysql --password ', secret: 'S3cret-mysql-space', after: ' -e "select 1"' },
  { name: '--password=X', before: 'pg_restore --password=', secret: 'S3cret-eq-flag', after: ' dump.sql' },
  { name: 'mysql -pSECRET', before: 'mysql -u root -p', secret: 'S3cretGlued77', after: ' shop' },
  { name: 'password: x (YAML)', before: '  password: ', secret: 'yaml-pass-value-1' },
  { name: 'PASSWORD=x', before: 'export PASSWORD=', secret: 'env-pass-value-2' },
  { name: 'DB_PWD=x', before: 'DB_PWD=', secret: 'db-pwd-value-3', after: ' ./migrate' },
  { name: '"password":"x" (JSON)', before: '{"user":"app","password":"', secret: 'json-pass-value-4', after: '"}' },
  { name: '\\"password\\":\\"x\\" (JSON in a string)', before: 'body="{\\"password\\":\\"', secret: 'esc-json-pass-5', after: '\\"}"' },
  { name: 'token=', before: 'https://hooks.example.com/x?token=', secret: 'qs-token-value-6', after: '&ok=1' },
  { name: 'secret=', before: 'CLIENT_SECRET=', secret: 'client-secret-value-7' },
  { name: 'api_key=', before: 'api_key=', secret: 'api-key-value-8', after: ';' },
  { name: '"client_secret": "x"', before: '"client_secret": "', secret: 'oauth-client-secret-9', after: '",' },
  { name: 'Stripe sk_live_', before: 'stripe ', secret: 'sk_live_51HxYzAbCdEfGhIjKlMnOp' },
  { name: 'npm token', before: '//registry.npmjs.org/:_authToken=', secret: 'npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789' },
  { name: 'Google API key', before: 'maps key ', secret: 'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY' },
  { name: 'SendGrid key', before: '', secret: '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' },
  { name: 'GitLab token', before: 'glab ', secret: 'glpat-xYz123AbC456dEf789gH' },
  { name: 'PRIVATE_KEY=value', before: 'SSH_PRIVATE_KEY=', secret: 'b3BlbnNzaC1rZXktdjEAAAAAprivate' },
];

/** A private key block: every body line is a secret (the stream's state carries across lines). */
const PEM_BODY = ['MIIEowIBAAKCAQEAyW3n9pemBodyLineOne00000', 'pemBodyLineTwoQUJDREVGR0hJSktMTU5PUFFS=='];
const PEM = ['-----BEGIN RSA PRIVATE KEY-----', ...PEM_BODY, '-----END RSA PRIVATE KEY-----'];

/** Lines that look a little like secrets and must come out exactly as printed. */
const NEAR_MISSES = [
  'PWD=/srv/app/releases/20261201',
  'OLDPWD=/home/deploy',
  'PASSWORD_MIN_LENGTH=8',
  'TOKEN_TTL=3600',
  'max_tokens=512',
  'mysql --password-file /etc/mysql/pw.txt',
  'HEAD is now at 3f786850e387550fdab836ed7e6dc881de23001b',
  'release 123e4567-e89b-12d3-a456-426614174000 ready',
  'Basic authentication is disabled; token authentication failed',
  'git@github.com:acme/web.git',
  'ssh -p 2222 deploy@web-1.example.com',
  'npm info lifecycle build~prepare: compiling src/components/module.ts (ok)',
  'see https://example.com/docs?page=2 or mail ops@example.com',
  'passwords must match',
  'AKIA1234 is too short to be a key id',
];

/** How a shape is printed: plain, right after a colour code, and split in the middle by a colour code. */
function variants(s: Shape): string[] {
  const mid = Math.floor(s.secret.length / 2);
  const after = s.after ?? '';
  return [
    `${s.before}${s.secret}${after}`,
    `${s.before}\x1b[31m${s.secret}\x1b[0m${after}`,
    `${s.before}${s.secret.slice(0, mid)}\x1b[1;33m${s.secret.slice(mid)}\x1b[0m${after}`,
  ];
}

/** What must never be seen: each secret, and each half of it (a split secret leaks as its halves). */
function forbidden(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const s of SHAPES) {
    const mid = Math.floor(s.secret.length / 2);
    out.push(
      { name: s.name, text: s.secret },
      { name: `${s.name} (1st half)`, text: s.secret.slice(0, mid) },
      { name: `${s.name} (2nd half)`, text: s.secret.slice(mid) },
    );
  }
  for (const b of PEM_BODY) out.push({ name: 'PEM body', text: b });
  for (const c of COMMAND_SECRETS) out.push({ name: 'in the failing command', text: c }, { name: 'in the failing command (prefix)', text: c.slice(0, 12) });
  return out;
}

function leaks(where: string, text: string): string[] {
  // JSON escapes `/` nowhere and `"` as \", so a secret without quotes is found as is.
  return forbidden()
    .filter((f) => text.includes(f.text))
    .map((f) => `${where}: ${f.name}`);
}

/** Secrets the failing step quotes in its command text (the second one sits where the 60-character cut falls). */
const COMMAND_SECRETS = ['Cmd-pass-in-step-42', 'ghp_CmdToKeNfRoMtHeStEpCoMmAnD0123456789'];
const FAILING_STEP = `false --password ${COMMAND_SECRETS[0]} --token ${COMMAND_SECRETS[1]}`;

describe('Masker: the table of shapes, line by line', () => {
  const m = () => new Masker(secretsFromEnv(ENV));
  it.each(SHAPES.map((s) => [s.name, s] as const))('%s: plain, after a colour code and split by one', (_name, s) => {
    for (const line of variants(s)) {
      const out = m().line(line);
      expect(out).toContain(MASK);
      expect(leaks('line', out)).toEqual([]);
      // What is around the secret is kept: its words and its colours.
      if (s.before) expect(out.startsWith(s.before)).toBe(true);
      expect(out.endsWith(`${line.includes('\x1b[0m') ? '\x1b[0m' : ''}${s.after ?? ''}`)).toBe(true);
    }
  });

  it('keeps the colour codes around and inside a masked secret, so what follows keeps its colour', () => {
    expect(m().line('\x1b[31mghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5\x1b[0m done')).toBe(`\x1b[31m${MASK}\x1b[0m done`);
    expect(m().line('tok ghp_aB3dE5gH7jK9m\x1b[1mN1pQ3sT5vW7yZ9bC1dF3hJ5 \x1b[32mok')).toBe(`tok ${MASK}\x1b[1m \x1b[32mok`);
  });

  it.each(NEAR_MISSES.map((l) => [l]))('leaves alone: %s', (line) => {
    expect(m().line(line)).toBe(line);
    expect(m().line(`\x1b[32m${line}\x1b[0m`)).toBe(`\x1b[32m${line}\x1b[0m`);
  });

  it('masks a private key block split over lines with colour codes', () => {
    const masker = m();
    const out = PEM.map((l, i) => masker.line(i === 1 ? `\x1b[33m${l}\x1b[0m` : l, 'web-1:stdout'));
    expect(leaks('pem', out.join('\n'))).toEqual([]);
    expect(out[3]).toBe(`${MASK}-----END RSA PRIVATE KEY-----`);
  });

  it('masks every line of a multi-line text (an error message quoting a key)', () => {
    const out = m().text(`step failed:\n${PEM.join('\n')}\nafter`);
    expect(leaks('text', out)).toEqual([]);
    expect(out.split('\n').at(-1)).toBe('after');
  });

  it('the pino log masks messages, fields and errors', () => {
    const written: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        written.push(String(chunk));
        done();
      },
    });
    const masker = m();
    const logger = createLogger('info', sink as unknown as pino.DestinationStream, (t) => masker.text(t));
    for (const s of SHAPES) {
      const [line] = variants(s);
      logger.error({ err: new Error(`failed: ${line}`), text: line, nested: { error: line } }, `command failed: ${line}`);
    }
    logger.child({ component: 'deploy' }).warn({ error: FAILING_STEP }, FAILING_STEP);
    const log = written.join('');
    expect(log).toContain(MASK);
    expect(leaks('pino', log)).toEqual([]);
  });
});

describe('a real deploy printing every shape: no output shows any of them', () => {
  let repo: TestRepo;
  let h: DeployHarness;
  let web: WebServer;
  let work: string;
  let id: number;

  beforeAll(async () => {
    repo = makeRepo();
    repo.commit('first');
    work = mkdtempSync(join(tmpdir(), 'shepherd-shapes-'));
    // The printed lines come from a file, so the step's own command text (logged as `$ …`) holds no secret.
    const printed = [...SHAPES.flatMap(variants), ...PEM, ...NEAR_MISSES];
    writeFileSync(join(work, 'out.txt'), `${printed.join('\n')}\n`);
    const app = {
      repo_url: repo.bare,
      transport: 'local',
      deploy_to: join(work, 'deploy'),
      default_environment: 'staging',
      steps: [`cat ${join(work, 'out.txt')}`, `cat ${join(work, 'out.txt')} >&2`, FAILING_STEP],
      environments: { staging: { hosts: ['localhost'] } },
    };
    h = await deployHarness(JSON.stringify({ release_managers: ['irc:boss'], apps: { web: app } }), { secrets: secretsFromEnv(ENV) });
    // No secrets given to the viewer: its own second pass must not be what hides them.
    web = createWebServer({ host: '127.0.0.1', port: 0, store: h.store, events: h.events, logger: pino({ level: 'silent' }) });
    await web.start();
    const started = new Promise<number>((resolve) => {
      const off = h.events.subscribe((e) => {
        if (e.type === 'state' && e.state === 'running') {
          off();
          resolve(e.deployId);
        }
      });
    });
    await h.chat.say('alice', 'deploy web/main to staging');
    id = await started;
    await h.deployer.waitFor(id);
    await h.deployer.idle();
    // A user pastes a secret into a command: the reply quoting it and the audit row are masked too.
    await h.chat.say('alice', `deploy ${SHAPES[4]?.secret} to staging`);
    await h.chat.say('alice', `lock staging --password ${COMMAND_SECRETS[0]}`);
  }, 60_000);
  afterAll(async () => {
    await web?.stop();
    await h?.close();
    repo?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the deploy failed on the step that quotes secrets, and every line was stored', async () => {
    const d = await h.store.deploys.get(id);
    expect(d?.state).toBe('failed');
    expect(d?.error).toBe(`localhost: step 3/3 failed (exit code 1): false --password ${MASK} --token ${MASK}`);
    expect(d?.hosts[0]?.error).toMatch(/step 3\/3 failed/);
    const stored = await h.store.logs.count(id);
    expect(stored).toBeGreaterThan(2 * (SHAPES.length * 3 + NEAR_MISSES.length));
  });

  it('the database holds none of them (log lines, Deploy.error, DeployHost.error, audit rows, lock reasons)', async () => {
    if (TEST_DB === 'postgresql') {
      // No one file to read: every row of every table, as text.
      const tables = await queryRows<{ name: string }>(h.url, "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'");
      expect(tables.map((t) => t.name)).toContain('LogChunk');
      const rows: string[] = [];
      for (const { name } of tables) {
        for (const r of await queryRows<{ r: string }>(h.url, `SELECT CAST(t AS TEXT) AS r FROM "${name}" t`)) rows.push(r.r);
      }
      expect(leaks('postgresql rows', rows.join('\n'))).toEqual([]);
      return;
    }
    const path = sqlitePath(h.url);
    const bytes = [path, `${path}-wal`].filter(existsSync).map((p) => readFileSync(p).toString('latin1'));
    expect(leaks('sqlite file', bytes.join('\n'))).toEqual([]);
  });

  it('the API (deploy and lines), the raw download and the page show none of them, and near-misses unchanged', async () => {
    const detail = await (await fetch(`${web.url}/api/deploys/${id}`)).text();
    const lines = await (await fetch(`${web.url}/api/deploys/${id}/lines?limit=5000`)).text();
    const raw = await (await fetch(`${web.url}/deploys/${id}/raw`)).text();
    const page = await (await fetch(`${web.url}/deploys/${id}`)).text();
    expect([...leaks('api deploy', detail), ...leaks('api lines', lines), ...leaks('raw', raw), ...leaks('page', page)]).toEqual([]);
    expect(detail).toContain(MASK);
    const texts = (JSON.parse(lines) as { lines: { text: string }[] }).lines.map((l) => l.text);
    for (const near of NEAR_MISSES) expect(texts).toContain(near);
    for (const near of NEAR_MISSES) expect(raw).toContain(`localhost stdout ${near}\n`);
    // Colours of what is not secret stay.
    expect(texts).toContain(`token \x1b[31m${MASK}\x1b[0m`);
  });

  it('the live stream (SSE) shows none of them', async () => {
    const got: SseEvent[] = [];
    const conn = openSse(`${web.url}/deploys/${id}/events`, { onEvent: (e) => got.push(e) });
    await conn.ended;
    const all = got.map((e) => e.data).join('\n');
    expect(got.filter((e) => e.event === 'line').length).toBeGreaterThan(2 * SHAPES.length * 3);
    expect(leaks('sse', all)).toEqual([]);
  });

  it('the events every listener heard (state and host errors included) show none of them', () => {
    const heard = h.seen.filter((e) => e.type !== 'line' || e.line.deployId === id);
    expect(leaks('events', JSON.stringify(heard))).toEqual([]);
    expect(heard.some((e) => e.type === 'host' && e.error?.includes(MASK))).toBe(true);
  });

  it('chat shows none of them: deploy lines, the failure with its last lines, and replies quoting the user', () => {
    const chat = h.texts().join('\n');
    expect(chat).toMatch(/failed/);
    expect(chat).toContain(MASK);
    expect(leaks('chat', chat)).toEqual([]);
  });
});

describe('each boundary masks on its own, whatever its caller forgot', () => {
  const SECRET = 'S3cret-boundary-77';
  const raw = `mysql --password ${SECRET} -e x`;
  const masker = new Masker(secretsFromEnv(ENV));
  const mask = (t: string) => masker.text(t);

  it('the store: Deploy.error, DeployHost.error, audit text and detail, lock and karma reasons', async () => {
    const t = await tempStore(4, mask);
    try {
      const deployId = await startedDeploy(t);
      const host = await t.store.db.deployHost.create({ data: { deployId, host: 'web-1', port: 22, stage: 0, state: 'running' } });
      await t.store.deploys.updateHost(host.id, { state: 'failed', error: raw });
      await t.store.deploys.finish(deployId, 'failed', `web-1: ${raw}`);
      const user = await t.store.users.identify({ provider: 'irc', id: 'a', handle: 'a' });
      await t.store.audit.record({ userId: user.id, identity: 'irc:a', room: '#d', command: 'lock', text: raw, outcome: 'error', detail: raw });
      await t.store.locks.acquire({ app: '*', environment: 'staging', holderId: user.id, reason: raw });
      await t.store.karma.change({ userId: user.id, actorId: user.id, kind: 'unlike', reason: raw });
      const rows = JSON.stringify([
        await t.store.db.deploy.findMany(),
        await t.store.db.deployHost.findMany(),
        await t.store.db.auditEvent.findMany(),
        await t.store.db.lock.findMany(),
        await t.store.db.karmaEvent.findMany(),
      ]);
      expect(rows).not.toContain(SECRET);
      expect(rows.split(`--password ${MASK}`).length - 1).toBe(6);
    } finally {
      await t.close();
    }
  });

  it('the event stream: every error field, before any listener hears it', () => {
    const events = new DeployEvents(mask);
    const heard: DeployEvent[] = [];
    events.subscribe((e) => heard.push(e));
    events.publish({ type: 'host', deployId: 1, host: 'web-1', state: 'failed', error: raw });
    events.publish({ type: 'state', deployId: 1, state: 'failed', error: `web-1: ${raw}` });
    expect(JSON.stringify(heard)).not.toContain(SECRET);
    expect(heard.map((e) => (e.type === 'state' || e.type === 'host' ? e.error : null))).toEqual([
      `mysql --password ${MASK} -e x`,
      `web-1: mysql --password ${MASK} -e x`,
    ]);
  });

  it('chat: every send of a wrapped adapter, its own methods still working', async () => {
    const sent: string[] = [];
    const adapter = {
      name: 'irc' as const,
      start: async () => {},
      stop: async () => {},
      mention: (i: { handle: string }) => `@${i.handle}`,
      send: async (target: { room: string }, text: string) => {
        sent.push(text);
        return target;
      },
      /** A method beyond Adapter that sends through `this`. */
      async shout(this: { send(t: { room: string }, text: string): Promise<unknown> }, text: string) {
        await this.send({ room: '#d' }, text.toUpperCase());
      },
    };
    const chat = maskChat(adapter, mask);
    await chat.send({ room: '#d' }, `failed: ${raw}`);
    await chat.shout(`token=${SECRET.toLowerCase()}`);
    expect(chat.mention({ handle: 'bob' })).toBe('@bob');
    expect(sent).toEqual([`failed: mysql --password ${MASK} -e x`, `TOKEN=${MASK}`]);
  });
});
