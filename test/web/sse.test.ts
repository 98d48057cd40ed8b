import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { type TempStore, tempStore } from '../support/db.js';
import { SimulatedRun, seedDeploy, seedLines } from './fixtures.js';
import { openSse, type SseEvent } from './sse-client.js';
import { waitUntil } from '../support/wait.js';

const logger = pino({ level: 'silent' });

const seqs = (events: SseEvent[]) => events.filter((e) => e.event === 'line').map((e) => Number(e.id));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('live log over server-sent events', () => {
  let t: TempStore;
  let events: DeployEvents;
  let web: WebServer;

  beforeAll(async () => {
    t = await tempStore();
    events = new DeployEvents();
    // A small page size makes catch-up cross several database pages.
    web = createWebServer({ host: '127.0.0.1', port: 0, store: t.store, events, logger, live: { pageSize: 50 } });
    await web.start();
  });
  afterAll(async () => {
    await web?.stop();
    await t?.close();
  });

  it('a viewer that drops mid-deploy and reconnects with Last-Event-ID gets every line exactly once', async () => {
    const deploy = await seedDeploy(t.store, { state: 'running' });
    const run = new SimulatedRun(t.store, events, deploy.id);
    for (let i = 0; i < 120; i++) run.line(i % 2 ? 'web-1' : 'web-2', `step one ${i}`);
    await run.flush();
    // Published, not stored yet: only the server's ring has them.
    for (let i = 0; i < 30; i++) run.line('web-1', `unstored ${i}`);

    const got: SseEvent[] = [];
    const url = `${web.url}/deploys/${deploy.id}/events`;
    const first = openSse(url, { onEvent: (e) => got.push(e) });
    expect(await first.status).toBe(200);
    await waitUntil('the first 150 lines', () => seqs(got).length >= 150);

    // More lines while it watches, some stored, some not; then it drops mid-stream.
    for (let i = 0; i < 40; i++) run.line('web-2', `live ${i}`);
    await waitUntil('some live lines', () => seqs(got).length >= 170);
    first.close();
    const lastId = Number(got.filter((e) => e.id).at(-1)!.id);
    expect(lastId).toBeGreaterThanOrEqual(170);

    // While it is away: lines published and stored in batches, and some published only.
    await run.flush();
    for (let i = 0; i < 200; i++) {
      run.line(i % 3 ? 'web-1' : null, `while away ${i}`);
      if (i % 64 === 0) await run.flush();
    }

    const second = openSse(url, { lastEventId: lastId, onEvent: (e) => got.push(e) });
    expect(await second.status).toBe(200);
    await waitUntil('the reconnect to catch up', () => seqs(got).at(-1) === run.seq);
    for (let i = 0; i < 25; i++) run.line('web-2', `after reconnect ${i}`);
    await run.state('succeeded');
    await second.ended;

    expect(seqs(got)).toEqual(range(1, run.seq));
    const texts = got.filter((e) => e.event === 'line').map((e) => JSON.parse(e.data).text as string);
    expect(texts[0]).toBe('step one 0');
    expect(texts[120]).toBe('unstored 0');
    expect(texts.at(-1)).toBe('after reconnect 24');
    expect(got.filter((e) => e.event === 'state').map((e) => JSON.parse(e.data).state)).toEqual(['succeeded']);
    expect(got.at(-1)!.event).toBe('end');
  });

  it('several viewers joining at different moments all see the whole log once', async () => {
    const deploy = await seedDeploy(t.store, { state: 'running' });
    const run = new SimulatedRun(t.store, events, deploy.id);
    const viewers: { got: SseEvent[]; conn: ReturnType<typeof openSse> }[] = [];
    const join = (lastEventId?: number) => {
      const got: SseEvent[] = [];
      viewers.push({ got, conn: openSse(`${web.url}/deploys/${deploy.id}/events`, { lastEventId, onEvent: (e) => got.push(e) }) });
    };
    for (let round = 0; round < 6; round++) {
      join(round === 3 ? 0 : undefined);
      for (let i = 0; i < 70; i++) run.line(`web-${i % 3}`, `round ${round} line ${i}`, i % 10 === 0 ? 'stderr' : 'stdout');
      if (round % 2) await run.flush();
      // Let the viewers read this round before the next (a macrotask turn: no time is waited).
      await new Promise((r) => setImmediate(r));
    }
    await run.host('web-1', 'succeeded');
    await run.state('succeeded');
    await Promise.all(viewers.map((v) => v.conn.ended));
    for (const v of viewers) {
      expect(seqs(v.got)).toEqual(range(1, run.seq));
      expect(v.got.at(-1)!.event).toBe('end');
    }
    expect(web.live.viewerCount()).toBe(0);
  });

  it('a viewer of a finished deploy gets the stored log, the state and the end', async () => {
    const deploy = await seedDeploy(t.store, { state: 'failed', finishedAt: new Date() });
    await seedLines(t.store, deploy.id, 130);
    const got: SseEvent[] = [];
    const conn = openSse(`${web.url}/deploys/${deploy.id}/events?after=100`, { onEvent: (e) => got.push(e) });
    await conn.ended;
    expect(seqs(got)).toEqual(range(101, 130));
    expect(got.filter((e) => e.event !== 'line').map((e) => e.event)).toEqual(['state', 'end']);
    expect(JSON.parse(got.find((e) => e.event === 'state')!.data).state).toBe('failed');
  });

  it('rejects a malformed Last-Event-ID and an unknown deploy', async () => {
    const deploy = await seedDeploy(t.store, { state: 'running' });
    const bad = openSse(`${web.url}/deploys/${deploy.id}/events`, { lastEventId: 'abc', onEvent: () => {} });
    expect(await bad.status).toBe(400);
    await bad.ended;
    const missing = openSse(`${web.url}/deploys/424242/events`, { onEvent: () => {} });
    expect(await missing.status).toBe(404);
    await missing.ended;
  });

  it('stop() ends open streams instead of hanging', async () => {
    const t2 = await tempStore();
    const ev = new DeployEvents();
    const other = createWebServer({ host: '127.0.0.1', port: 0, store: t2.store, events: ev, logger });
    await other.start();
    const deploy = await seedDeploy(t2.store, { state: 'running' });
    const conn = openSse(`${other.url}/deploys/${deploy.id}/events`, { onEvent: () => {} });
    expect(await conn.status).toBe(200);
    await waitUntil('the viewer to attach', () => other.live.viewerCount() === 1);
    await other.stop();
    await conn.ended;
    await t2.close();
  });
});
