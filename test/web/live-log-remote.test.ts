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
import { LocalNotifier, type Notifier, type Notification } from '../../src/store/notify.js';
import { PgNotifier } from '../../src/store/notify-postgresql.js';
import { LiveLog } from '../../src/web/live-log.js';
import { Redactor } from '../../src/web/redact.js';
import { TEST_DB, type TempStore, tempStore } from '../support/db.js';
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

/**
 * The bus seen from another process: the same notifications, under another origin, reaching other processes.
 * `lose(n)` true: the n-th 'lines' notification (from 1) never reaches this instance's listeners.
 */
function otherInstance(bus: LocalNotifier, origin: string, lose: (n: number) => boolean = () => false): Notifier {
  let lines = 0;
  return {
    origin,
    crossProcess: true,
    notify: (topic, data) => bus.notify(topic, data),
    listen: (topic, fn) =>
      bus.listen(topic, (n) => {
        if (topic === 'lines' && n.origin !== origin && lose(++lines)) return;
        fn(n);
      }),
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

  /**
   * Instance A runs a deploy through the real log pipeline and notifying sink (`carryBytes`: how much of a batch
   * its notification may carry); ten viewers follow it on instance B, which `lose`s some notifications. Each
   * round prints two lines and waits until every viewer has them (except in rounds whose notification is lost:
   * the next one's brings them). Returns B's reads of stored lines during the rounds, the batches, the viewers.
   */
  async function followFromB(options: { carryBytes?: number; lose?: (n: number) => boolean; rounds: number; pollMs?: number }) {
    const bus = new LocalNotifier('instance-a');
    // Instance A runs the deploy: its own events, the real log pipeline, batches stored and announced.
    const deploy = await seedDeploy(t.store, { state: 'running' });
    const eventsA = new DeployEvents();
    const writer = new LogWriter(notifyingLineSink(sink, otherInstance(bus, 'instance-a'), { carryBytes: options.carryBytes }), logger);
    const log = new DeployLog(deploy.id, { events: eventsA, masker: new Masker([]), writer });
    // Instance B only serves viewers: nothing is published on its events; it learns from the notifications.
    const reader = countingReader(t.store.logs);
    const live = new LiveLog({
      events: new DeployEvents(),
      logs: reader,
      redactor: new Redactor([]),
      logger,
      notifier: otherInstance(bus, 'instance-b', options.lose),
      // The poll is the safety net, not what these tests are about (unless they say).
      remotePollMs: options.pollMs ?? 60_000,
      storedState: async (id) => (await t.store.db.deploy.findUnique({ where: { id }, select: { state: true } }))?.state ?? null,
    });
    live.start();
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
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
    for (let round = 0; round < options.rounds; round++) {
      host.onOutput('stdout', Buffer.from(`round ${round} a\nround ${round} b\n`));
      await writer.drain();
      if (options.lose?.(round + 1)) continue;
      // All viewers at the last stored line before the next batch: each batch finds them level.
      await vi.waitFor(() => expect(viewers.every((v) => v.ids.length === log.lastSeq)).toBe(true), WAIT);
    }
    offBatches();
    // A lost last notification: only the poll brings its lines.
    await vi.waitFor(() => expect(viewers.every((v) => v.ids.length === log.lastSeq)).toBe(true), WAIT);
    const reads = reader.reads - readsBefore;

    host.end();
    await writer.drain();
    await t.store.db.deploy.update({ where: { id: deploy.id }, data: { state: 'succeeded', finishedAt: new Date() } });
    await bus.notify('deploy', { id: deploy.id, state: 'succeeded', error: null });
    await vi.waitFor(() => expect(viewers.every((v) => v.ended)).toBe(true), WAIT);
    live.stop();
    return { reads, batches, viewers, lines: log.lastSeq };
  }

  it('each stored batch announced by seq only is read once for all the viewers at the same line, and every viewer gets every line once', async () => {
    const { reads, batches, viewers, lines } = await followFromB({ carryBytes: 0, rounds: 20 });
    // One read per batch for the ten viewers (not ten, nor a second to find there is no more).
    expect(batches).toBe(20);
    expect(reads).toBe(batches);
    for (const v of viewers) {
      expect(v.ids).toEqual(Array.from({ length: lines }, (_, i) => i + 1));
      // Each state once, though every batch's wake-up brought the viewer live again.
      expect(v.states).toEqual(['running', 'succeeded']);
    }
  });

  it('small batches travel in their notification: the viewers on B show them without reading the database, every line once', async () => {
    const { reads, batches, viewers, lines } = await followFromB({ rounds: 20 });
    expect(batches).toBe(20);
    expect(reads).toBe(0);
    for (const v of viewers) {
      expect(v.ids).toEqual(Array.from({ length: lines }, (_, i) => i + 1));
      expect(v.states).toEqual(['running', 'succeeded']);
    }
  });

  it('a lost notification leaves a hole before the next carried batch: the viewers read the missing lines from the database, none twice', async () => {
    // The 5th and 6th batches' notifications never arrive; the 7th carries lines 13-14, after the viewers' 8.
    const { reads, viewers, lines } = await followFromB({ rounds: 20, lose: (n) => n === 5 || n === 6 });
    expect(reads).toBeGreaterThanOrEqual(1);
    for (const v of viewers) {
      expect(v.ids).toEqual(Array.from({ length: lines }, (_, i) => i + 1));
      expect(v.states).toEqual(['running', 'succeeded']);
    }
  });

  it('with a poll every 100 ms, carried lines still reach every viewer once, and a lost last notification’s lines come by the poll', async () => {
    // A poll every 100 ms through 10 rounds: it leaves the viewers live at the end of the ring, and loses nothing.
    const flowing = await followFromB({ rounds: 10, pollMs: 100 });
    for (const v of flowing.viewers) expect(v.ids).toEqual(Array.from({ length: flowing.lines }, (_, i) => i + 1));
    // The last batch's notification is lost and the deploy falls silent: a poll round reads its lines.
    const silent = await followFromB({ rounds: 10, pollMs: 100, lose: (n) => n === 10 });
    expect(silent.reads).toBeGreaterThanOrEqual(1);
    for (const v of silent.viewers) expect(v.ids).toEqual(Array.from({ length: silent.lines }, (_, i) => i + 1));
  });

  it.skipIf(TEST_DB !== 'postgresql')(
    'on PostgreSQL the statement storing a batch sends its NOTIFY (carrying the lines) at commit; a batch that overlaps stored lines sends none',
    async () => {
      const notifierA = new PgNotifier(t.url, logger, 'pg-a');
      const notifierB = new PgNotifier(t.url, logger, 'pg-b');
      await Promise.all([notifierA.start(), notifierB.start()]);
      const heard: Notification[] = [];
      const off = notifierB.listen('lines', (n) => heard.push(n));
      const sent = vi.spyOn(notifierA, 'notify');
      try {
        const deploy = await seedDeploy(t.store, { state: 'running' });
        const lines = notifyingLineSink(sink, notifierA);
        const at = new Date();
        await lines.insertChunks([{ deployId: deploy.id, firstSeq: 1, lastSeq: 2, host: 'web-1', stream: 'stdout', text: 'one\ntwo', at }]);
        await vi.waitFor(() => expect(heard).toHaveLength(1), WAIT);
        // Sent by the INSERT's statement, not by A's notifier afterwards.
        expect(sent).not.toHaveBeenCalled();
        expect(heard[0]).toEqual({
          origin: 'pg-a',
          data: { d: [[deploy.id, 2]], c: [[deploy.id, 1, 2, 'web-1', 'stdout', at.getTime(), 'one\ntwo']] },
        });
        // Lines 2-3: line 2 is stored already, so nothing is stored and nobody is told.
        await expect(
          lines.insertChunks([{ deployId: deploy.id, firstSeq: 2, lastSeq: 3, host: 'web-1', stream: 'stdout', text: 'two\nthree', at }]),
        ).rejects.toThrow();
        await lines.insertChunks([{ deployId: deploy.id, firstSeq: 3, lastSeq: 3, host: 'web-1', stream: 'stdout', text: 'three', at }]);
        await vi.waitFor(() => expect(heard).toHaveLength(2), WAIT);
        expect(heard[1]?.data.d).toEqual([[deploy.id, 3]]);
      } finally {
        off();
        await Promise.all([notifierA.close(), notifierB.close()]);
      }
    },
  );
});
