/**
 * Back-pressure in the live log (src/web/live-log.ts) against real sockets: a viewer whose socket is full is
 * paused and resumes from the ring, a big burst alone never pauses a viewer that reads, and neither costs a
 * database read (the lines are all in the ring of the process that publishes them).
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import type { LogReader } from '../../src/store/log-lines.js';
import { LiveLog } from '../../src/web/live-log.js';
import { Redactor } from '../../src/web/redact.js';
import { type TempStore, tempStore } from '../support/db.js';
import { SimulatedRun, seedDeploy } from './fixtures.js';

const logger = pino({ level: 'silent' });
/** Generous: a loaded machine delays, it does not break; the assertions are about order and counts. */
const WAIT = { timeout: 20_000 };
/** A line of about 400 bytes as an SSE frame. */
const text = (i: number) => `line ${i} ${'x'.repeat(300)}`;

/** The store's real reader, counting the reads of "lines after N". */
function countingReader(logs: LogReader): LogReader & { reads: number } {
  const counted = {
    reads: 0,
    chunks: (...args: Parameters<LogReader['chunks']>) => {
      counted.reads++;
      return logs.chunks(...args);
    },
    page: logs.page.bind(logs),
    raw: logs.raw.bind(logs),
    lastSeq: logs.lastSeq.bind(logs),
    count: logs.count.bind(logs),
  };
  return counted;
}

/** An SSE client that can stop reading (its socket fills up) and that counts line ids in order. */
function viewer(url: string) {
  const ids: number[] = [];
  /** Each line event's text, in arrival order. */
  const texts: string[] = [];
  let res: IncomingMessage | undefined;
  let rest = '';
  let ended = false;
  const req = request(url, { headers: { accept: 'text/event-stream' } }, (r) => {
    res = r;
    r.setEncoding('utf8');
    r.on('data', (chunk: string) => {
      const all = rest + chunk;
      const cut = all.lastIndexOf('\n\n') + 2;
      if (cut < 2) {
        rest = all;
        return;
      }
      rest = all.slice(cut);
      for (const frame of all.slice(0, cut).split('\n\n')) {
        const id = /^id: (\d+)$/m.exec(frame);
        if (id && /^event: line$/m.test(frame)) {
          ids.push(Number(id[1]));
          texts.push((JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? 'null') as { text: string }).text);
        }
        if (/^event: end$/m.test(frame)) ended = true;
      }
    });
  });
  req.end();
  return {
    ids,
    texts,
    get ended() {
      return ended;
    },
    pause: () => res?.pause(),
    resume: () => res?.resume(),
    close: () => req.destroy(),
  };
}

describe('live log back-pressure', () => {
  let t: TempStore;
  let events: DeployEvents;
  let server: Server;
  let url: string;
  let live: LiveLog;
  let reader: ReturnType<typeof countingReader>;
  /** The server side of the last SSE response, to see how much it holds unsent. */
  let lastResponse: ServerResponse | undefined;
  let attach: (res: ServerResponse, deployId: number) => void;

  beforeAll(async () => {
    t = await tempStore();
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      lastResponse = res;
      attach(res, Number(/\/(\d+)$/.exec(req.url ?? '')?.[1]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    live?.stop();
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await t?.close();
  });

  function start(maxBufferBytes: number, ringSize = 100_000) {
    events = new DeployEvents();
    reader = countingReader(t.store.logs);
    live = new LiveLog({ events, logs: reader, redactor: new Redactor([]), logger, maxBufferBytes, ringSize });
    live.start();
    attach = (res, deployId) => live.attach(deployId, 0, res, 'running');
  }

  it('a viewer whose socket is full is paused, then resumes from the ring with every line once and no database read', async () => {
    start(64 * 1024);
    const deploy = await seedDeploy(t.store, { state: 'running' });
    const run = new SimulatedRun(t.store, events, deploy.id);
    run.line('web-1', text(0));
    const v = viewer(`${url}/${deploy.id}`);
    await vi.waitFor(() => expect(v.ids).toEqual([1]), WAIT);
    const readsWhenLive = reader.reads;

    // It stops reading: lines keep coming until its socket holds more than maxBufferBytes unsent.
    v.pause();
    for (let round = 0; (lastResponse?.writableLength ?? 0) <= 64 * 1024; round++) {
      expect(round).toBeLessThan(1_000); // 200 MB: the socket would have filled long before
      for (let i = 0; i < 500; i++) run.line('web-1', text(run.seq));
      await new Promise((r) => setImmediate(r));
    }
    // Paused: more lines are not queued for it (the socket holds one block past the limit at most).
    const held = lastResponse?.writableLength ?? 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 500; i++) run.line('web-1', text(run.seq));
      await new Promise((r) => setImmediate(r));
    }
    expect(lastResponse?.writableLength).toBe(held);

    v.resume();
    await vi.waitFor(() => expect(v.ids.length).toBe(run.seq), WAIT);
    for (let i = 0; i < 100; i++) run.line('web-2', text(run.seq));
    await run.state('succeeded');
    await vi.waitFor(() => expect(v.ended).toBe(true), WAIT);
    expect(v.ids).toEqual(Array.from({ length: run.seq }, (_, i) => i + 1));
    expect(reader.reads).toBe(readsWhenLive);
  });

  it('one burst bigger than maxBufferBytes does not pause a viewer that reads, nor send it to the database', async () => {
    start(1024);
    const deploy = await seedDeploy(t.store, { state: 'running' });
    const run = new SimulatedRun(t.store, events, deploy.id);
    run.line('web-1', text(0));
    const v = viewer(`${url}/${deploy.id}`);
    await vi.waitFor(() => expect(v.ids).toEqual([1]), WAIT);
    const readsWhenLive = reader.reads;

    // 4 MB in one turn of the event loop: one block, far more than the socket takes at once.
    for (let i = 0; i < 10_000; i++) run.line('web-1', text(run.seq));
    await vi.waitFor(() => expect(v.ids.length).toBe(run.seq), WAIT);
    await run.state('succeeded');
    await vi.waitFor(() => expect(v.ended).toBe(true), WAIT);
    expect(v.ids).toEqual(Array.from({ length: run.seq }, (_, i) => i + 1));
    expect(reader.reads).toBe(readsWhenLive);
  });

  it('bytes a paused viewer was not sent yet are never written over, though the ring moves on and its memory is reused', async () => {
    // A ring of 1,000 lines: blocks leave it (and their slabs are reused) while the paused viewer's socket holds them.
    start(64 * 1024, 1_000);
    const deploy = await seedDeploy(t.store, { state: 'running' });
    const run = new SimulatedRun(t.store, events, deploy.id);
    /** Different bytes for every line: a frame written over shows up as a wrong text. */
    const unique = (i: number) => `line ${i} ${String(i * 7919).repeat(30)}`;
    run.line('web-1', unique(1));
    const reading = viewer(`${url}/${deploy.id}`);
    await vi.waitFor(() => expect(reading.ids).toEqual([1]), WAIT);
    const paused = viewer(`${url}/${deploy.id}`);
    await vi.waitFor(() => expect(paused.ids).toEqual([1]), WAIT);
    const pausedResponse = lastResponse;

    paused.pause();
    const round = async () => {
      for (let i = 0; i < 500; i++) run.line('web-1', unique(run.seq + 1));
      await run.flush(); // stored, so the paused viewer can catch up from the database later
      await new Promise((r) => setImmediate(r));
    };
    for (let n = 0; (pausedResponse?.writableLength ?? 0) <= 64 * 1024; n++) {
      expect(n).toBeLessThan(1_000);
      await round();
    }
    // The ring turns over many times while the other viewer reads along: slabs are freed and cut again.
    for (let n = 0; n < 20; n++) await round();
    await vi.waitFor(() => expect(reading.ids.length).toBe(run.seq), WAIT);
    expect(live.arenaStats().reused).toBeGreaterThan(0);

    paused.resume();
    await vi.waitFor(() => expect(paused.ids.length).toBe(run.seq), WAIT);
    await run.state('succeeded');
    await vi.waitFor(() => expect(paused.ended && reading.ended).toBe(true), WAIT);
    const expected = Array.from({ length: run.seq }, (_, i) => unique(i + 1));
    expect(paused.texts).toEqual(expected);
    expect(reading.texts).toEqual(expected);
    expect(live.arenaStats().unbalanced).toBe(0);
  });
});
