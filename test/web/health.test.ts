/**
 * /healthz and /readyz: open without WEB_AUTH (they say only up or down), /readyz 200 while the database
 * answers and every chat connection is up, 503 naming what is not.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { TEST_DB, type TempStore, tempStore } from '../support/db.js';

describe(`health endpoints (${TEST_DB})`, () => {
  let t: TempStore | undefined;
  let web: WebServer | undefined;
  afterEach(async () => {
    await web?.stop();
    await t?.close();
    web = t = undefined;
  });

  async function serve(chats: { name: string; ready?: boolean; standingBy?: boolean }[], starting?: () => boolean) {
    t = await tempStore();
    const store = t.store;
    web = createWebServer({
      host: '127.0.0.1',
      port: 0,
      auth: 'ops:s3cret',
      store,
      events: new DeployEvents(),
      logger: pino({ level: 'silent' }),
      // A generous timeout: this test is about the answers, not about a slow database.
      health: { database: () => store.db.$queryRawUnsafe('SELECT 1').then(() => true), chats: () => chats, starting, timeoutMs: 60_000 },
    });
    await web.start();
    return web;
  }

  it('answers /healthz and /readyz without credentials while everything else still needs them', async () => {
    const w = await serve([{ name: 'irc', ready: true }, { name: 'shell' }]);
    const alive = await fetch(`${w.url}/healthz`);
    expect(alive.status).toBe(200);
    expect(await alive.json()).toEqual({ status: 'alive' });
    const ready = await fetch(`${w.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'answering', chat: { irc: 'connected', shell: 'connected' } });
    expect((await fetch(`${w.url}/api/locks`)).status).toBe(401);
  });

  it('answers 503 naming the chat connection that is down, and 200 once it is back', async () => {
    const irc = { name: 'irc', ready: false };
    const w = await serve([irc]);
    const down = await fetch(`${w.url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'not ready', database: 'answering', chat: { irc: 'disconnected' } });
    irc.ready = true;
    expect((await fetch(`${w.url}/readyz`)).status).toBe(200);
  });

  it('answers 503 while the start is not done (the bot already answers some commands then), and 200 once it is', async () => {
    let starting = true;
    const w = await serve([{ name: 'irc', ready: true }], () => starting);
    const early = await fetch(`${w.url}/readyz`);
    expect(early.status).toBe(503);
    expect(await early.json()).toEqual({ status: 'not ready', start: 'starting', database: 'answering', chat: { irc: 'connected' } });
    starting = false;
    const ready = await fetch(`${w.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'answering', chat: { irc: 'connected' } });
  });

  it('counts IRC standing by (another instance holds the IRC lease) as ready, and says so', async () => {
    const w = await serve([
      { name: 'irc', ready: true, standingBy: true },
      { name: 'slack', ready: true },
    ]);
    const ready = await fetch(`${w.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'answering', chat: { irc: 'standing by', slack: 'connected' } });
  });
});
