/**
 * PostgreSQL going away, on a server of this file's own (the run's shared one must not be restarted under
 * the other test files): an unreachable server at start stops the bot with one line naming host and port;
 * a restart while the bot runs is answered with "the database is not answering", /readyz says 503, and once
 * the server is back the bot carries on by itself with what was stored before intact.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../commands/index.js';
import { Bot, DATABASE_DOWN } from '../../src/bot.js';
import { loadConfig } from '../../src/config.js';
import { DeployEvents } from '../../src/deploy/events.js';
import { type OpenedDatabase, openDatabase } from '../../src/store/db.js';
import { createServices } from '../../src/services.js';
import { createStore } from '../../src/store/index.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { TEST_CONFIG, TestClock } from '../support/bot.js';
import { FakeAdapter } from '../support/fake-adapter.js';
import { freePort } from '../support/ngircd.js';
import { type Postgres, PostgresMissing, postgresAvailable, startPostgres } from '../support/postgres.js';

const ROOT = join(import.meta.dirname, '..', '..');
const skip = !postgresAvailable() && !process.env.CI;
if (skip) console.warn(`skipping: ${new PostgresMissing().message}`);

describe.skipIf(skip)('PostgreSQL unreachable or restarted', () => {
  let server: Postgres;
  let database: OpenedDatabase;
  let web: WebServer;
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-outage-'));

  beforeAll(async () => {
    server = await startPostgres();
    database = await openDatabase(server.url('postgres'));
  });
  afterAll(async () => {
    await web?.stop();
    await database?.prisma.$disconnect();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN nothing listening at DATABASE_URL THEN the bot exits 1 with one line naming host and port', async () => {
    const port = await freePort();
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      input: '',
      timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        LOG_LEVEL: 'warn',
        WEB_PORT: '0',
        DATABASE_URL: `postgresql://shepherd:secret@127.0.0.1:${port}/shepherd`,
      },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^shepherd: could not start: PostgreSQL at 127\\.0\\.0\\.1:${port}/shepherd is not answering: [^\\n]*ECONNREFUSED[^\\n]*\\n$`),
    );
    expect(run.stderr).not.toContain('secret');
  });

  it('GIVEN the server restarts while the bot runs THEN commands say the database is not answering, /readyz is 503, and the bot recovers by itself with nothing lost', async () => {
    const path = join(dir, 'shepherd.yml');
    writeFileSync(path, TEST_CONFIG);
    const config = loadConfig({ SHEPHERD_CONFIG: path, DATABASE_URL: server.url('postgres'), SHEPHERD_DATA_DIR: dir });
    const store = createStore(database.prisma, { karmaInitial: 4 });
    const bot = new Bot({ commands, config, store, clock: new TestClock(), logger: pino({ level: 'silent' }), services: createServices() });
    const chat = new FakeAdapter('irc');
    await chat.start((message) => bot.handle(chat, message));
    web = createWebServer({
      host: '127.0.0.1',
      port: 0,
      store,
      events: new DeployEvents(),
      logger: pino({ level: 'silent' }),
      health: { database: () => database.ping(), chats: () => [chat], timeoutMs: 60_000 },
    });
    await web.start();

    expect(await chat.say('boss', 'lock staging db upgrade')).toMatch(/🔒 staging held by boss/);
    expect((await fetch(`${web.url}/readyz`)).status).toBe(200);

    await server.down();
    expect(await chat.say('boss', 'locks')).toContain(DATABASE_DOWN);
    expect(await chat.say('alice', 'lock api staging')).toContain(DATABASE_DOWN);
    const down = await fetch(`${web.url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: 'not ready', database: 'not answering' });
    expect((await fetch(`${web.url}/healthz`)).status).toBe(200);

    await server.up();
    // The pool reconnects on the next query: no restart of the bot, no reconnect call.
    const locks = await chat.say('boss', 'locks');
    expect(locks).toMatch(/staging/);
    expect(locks).toMatch(/db upgrade/);
    expect(await chat.say('boss', 'unlock staging')).not.toContain(DATABASE_DOWN);
    expect(await chat.say('boss', 'locks')).toContain('no locks');
    expect((await fetch(`${web.url}/readyz`)).status).toBe(200);
  });
});
