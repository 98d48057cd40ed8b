/**
 * Viewers of a deploy another instance runs (src/web/live-log.ts with a notifier): the instance running it stores
 * batches through the real log writer and notifying sink (src/deploy/instance-notify.ts); the viewers' instance is
 * woken by each batch's notification and reads the stored lines once for all its viewers at the same line. Both
 * instances share one database and one in-process notifier bus under two origins, as two processes share
 * PostgreSQL's LISTEN/NOTIFY.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import { CROSS_INSTANCE_BATCH_MS, notifyingLineSink } from '../../src/deploy/instance-notify.js';
import { DeployLog, LogWriter } from '../../src/deploy/log-pipeline.js';
import { Masker } from '../../src/deploy/mask.js';
import type { LineSink, LogReader } from '../../src/store/log-lines.js';
import { LocalNotifier, type Notifier } from '../../src/store/notify.js';
import { LiveLog } from '../../src/web/live-log.js';
import { Redactor } from '../../src/web/redact.js';
import { type TempStore, tempStore } from '../support/db.js';
import { seedDeploy } from './fixtures.js';

const logger = pino({ level: 'silent' });
/** Generous: a loaded machine delays, it does not break; the assertions are about order and counts. */
const WAIT = { timeout: 20_000 };

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

/** The bus seen from another process: the same notifications, under another origin, reaching other processes. */
function otherInstance(bus: LocalNotifier, origin: string): Notifier {
  return {
    origin,
    crossProcess: true,
    notify: (topic, data) => bus.notify(topic, data),
    listen: (topic, fn) => bus.listen(topic, fn),
    onReconnect: () => () => {},
    close: async () => {},
  };
}

/** An SSE client collecting line ids and states in order, and whether the stream ended. */
function viewer(url: string) {
  const ids: number[] = [];
  const states: string[] = [];
  let rest = '';
  let ended = false;
  const req = request(url, { headers: { accept: 'text/event-stream' } }, (r) => {
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
        if (id && /^event: line$/m.test(frame)) ids.push(Number(id[1]));
        if (/^event: state$/m.test(frame)) states.push(JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? '{}').state);
        if (/^event: end$/m.test(frame)) ended = true;
      }
    });
  });
  req.end();
  return {
    ids,
    states,
    get ended() {
      return ended;
    },
    close: () => req.destroy(),
  };
}

describe('live log of a deploy another instance runs', () => {
  let t: TempStore;
  let server: Server;
  let url: string;
  let sink: LineSink;

  beforeAll(async () => {
    t = await tempStore();
    sink = await t.lines();
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await sink?.close();
    await t?.close();
  });

  it('a notifying sink with a cross-process notifier asks the log writer for short batches', () => {
    const bus = new LocalNotifier('a');
    expect(notifyingLineSink(sink, otherInstance(bus, 'a')).batchMs).toBe(CROSS_INSTANCE_BATCH_MS);
    expect(notifyingLineSink(sink, bus).batchMs).toBeUndefined();
  });

  it('each stored batch is read once for all the viewers at the same line, and every viewer gets every line once', async () => {
    const bus = new LocalNotifier('instance-a');
    // Instance A runs the deploy: its own events, the real log pipeline, batches stored and announced.
    const deploy = await seedDeploy(t.store, { state: 'running' });
    const eventsA = new DeployEvents();
    const writer = new LogWriter(notifyingLineSink(sink, otherInstance(bus, 'instance-a')), logger);
    const log = new DeployLog(deploy.id, { events: eventsA, masker: new Masker([]), writer });
    // Instance B only serves viewers: nothing is published on its events; it learns from the notifications.
    const reader = countingReader(t.store.logs);
    const live = new LiveLog({
      events: new DeployEvents(),
      logs: reader,
      redactor: new Redactor([]),
      logger,
      notifier: otherInstance(bus, 'instance-b'),
      // The poll is the safety net, not what this test is about.
      remotePollMs: 60_000,
      storedState: async (id) => (await t.store.db.deploy.findUnique({ where: { id }, select: { state: true } }))?.state ?? null,
    });
    live.start();
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      live.attach(deploy.id, 0, res, 'running');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const viewers = Array.from({ length: 10 }, () => viewer(url));
    await vi.waitFor(() => expect(live.viewerCount()).toBe(10), WAIT);
    // A tells the others its deploy runs (as relayDeployStates does).
    await bus.notify('deploy', { id: deploy.id, state: 'running', error: null });
    await vi.waitFor(() => expect(viewers.every((v) => v.states.length === 1)).toBe(true), WAIT);
    const host = log.host('web-1');
    let batches = 0;
    const offBatches = bus.listen('lines', () => batches++);
    const readsBefore = reader.reads;
    for (let round = 0; round < 20; round++) {
      host.onOutput('stdout', Buffer.from(`round ${round} a\nround ${round} b\n`));
      await writer.drain();
      // All viewers at the last stored line before the next batch: each batch finds them level.
      await vi.waitFor(() => expect(viewers.every((v) => v.ids.length === log.lastSeq)).toBe(true), WAIT);
    }
    offBatches();
    // One read per batch for the ten viewers (not ten, nor a second to find there is no more).
    expect(batches).toBe(20);
    expect(reader.reads - readsBefore).toBe(batches);

    host.end();
    await writer.drain();
    await t.store.db.deploy.update({ where: { id: deploy.id }, data: { state: 'succeeded', finishedAt: new Date() } });
    await bus.notify('deploy', { id: deploy.id, state: 'succeeded', error: null });
    await vi.waitFor(() => expect(viewers.every((v) => v.ended)).toBe(true), WAIT);
    for (const v of viewers) {
      expect(v.ids).toEqual(Array.from({ length: log.lastSeq }, (_, i) => i + 1));
      // Each state once, though every batch's wake-up brought the viewer live again.
      expect(v.states).toEqual(['running', 'succeeded']);
    }
    live.stop();
  });
});
