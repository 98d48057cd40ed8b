/**
 * Benchmark section `remote-lag`: the live-line path between two instances on one PostgreSQL, without the rest
 * of `ha` (three bots, sshd, 100 deploys). Instance A runs the log pipeline (DeployLog → LogWriter → the
 * notifying PgLogLineStore, NOTIFY per batch on its own PgNotifier); instance B serves SSE viewers (LiveLog woken
 * by its own PgNotifier, reading stored chunks through Prisma). Both live in this process, each with its own
 * connections, so the path is the real one: batch stored, NOTIFY, LISTEN, read, SSE.
 *
 * DEPLOYS deploys print a line every INTERVAL ms each (as `ha`'s steps do, a line per 100 ms, but more of them);
 * VIEWERS viewers per deploy on B. Lag = line printed at A → parsed by a viewer on B. Run three times in one
 * process, so the figures share the machine's load: the writer's old 100 ms batch interval, announced by seq only
 * (B reads each batch back), NOTIFY sent after the INSERT returned; the interval the notifying sink asks for, still
 * by seq only; small batches carried in their NOTIFY (B reads nothing back), still sent after; and as it runs now,
 * the NOTIFY sent by the INSERT's own statement (delivered at its commit).
 *
 *   npm run bench -- remote-lag     # BENCH_RL_DEPLOYS=5 BENCH_RL_VIEWERS=4 BENCH_RL_LINES=200 BENCH_RL_INTERVAL=20
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { DeployEvents } from '../src/deploy/events.js';
import { notifyingLineSink } from '../src/deploy/instance-notify.js';
import { DeployLog, LogWriter } from '../src/deploy/log-pipeline.js';
import { Masker } from '../src/deploy/mask.js';
import { openDatabase } from '../src/store/db.js';
import { createStore } from '../src/store/index.js';
import { PgNotifier } from '../src/store/notify-postgresql.js';
import { LiveLog } from '../src/web/live-log.js';
import { Redactor } from '../src/web/redact.js';
import { benchDatabase, postgresMissing } from './support/database.js';
import { type BenchSection, figure, ms, percentile, printTable } from './support/section.js';

const DEPLOYS = Number(process.env.BENCH_RL_DEPLOYS ?? 5);
const VIEWERS = Number(process.env.BENCH_RL_VIEWERS ?? 4);
const LINES = Number(process.env.BENCH_RL_LINES ?? 200);
const INTERVAL = Number(process.env.BENCH_RL_INTERVAL ?? 20);
const TARGET_P99_MS = 250;

const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

interface Result {
  lags: number[];
  lost: number;
  batches: number;
  reads: number;
}

async function measure(batchMs: number | undefined, carryBytes?: number, notifyOnCommit?: boolean): Promise<Result> {
  const logger = pino({ level: 'warn' });
  const db = await benchDatabase('postgresql');
  const { prisma, lines } = await openDatabase(db.url);
  const store = createStore(prisma, { karmaInitial: 4 });
  const notifierA = new PgNotifier(db.url, logger, 'instance-a');
  const notifierB = new PgNotifier(db.url, logger, 'instance-b');
  await Promise.all([notifierA.start(), notifierB.start()]);
  const sink = notifyingLineSink(lines(), notifierA, { carryBytes, notifyOnCommit });
  const writer = new LogWriter(sink, logger, batchMs === undefined ? {} : { intervalMs: batchMs });
  let batches = 0;
  const offBatches = notifierB.listen('lines', () => batches++);
  // B's reader, counting reads of "lines after N".
  let reads = 0;
  const logs = store.logs;
  const counted: typeof logs = {
    chunks: (...a) => {
      reads++;
      return logs.chunks(...a);
    },
    page: logs.page.bind(logs),
    raw: logs.raw.bind(logs),
    lastSeq: logs.lastSeq.bind(logs),
    count: logs.count.bind(logs),
  };
  const live = new LiveLog({
    events: new DeployEvents(),
    logs: counted,
    redactor: new Redactor([]),
    logger,
    notifier: notifierB,
    storedState: async (id) => (await prisma.deploy.findUnique({ where: { id }, select: { state: true } }))?.state ?? null,
  });
  live.start();
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    live.attach(Number(req.url?.slice(1)), 0, res, 'running');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  const user = await store.users.identify({ provider: 'shell', id: 'bench', handle: 'bench' });
  const deploys: number[] = [];
  for (let i = 0; i < DEPLOYS; i++) {
    const d = await prisma.deploy.create({
      data: {
        app: `app${i}`,
        environment: 'staging',
        ref: 'main',
        sha: 'f'.repeat(40),
        state: 'running',
        requesterId: user.id,
        room: 'bench',
        releaseId: `r${i}`,
        startedAt: new Date(),
      },
    });
    deploys.push(d.id);
  }
  const lags: number[] = [];
  const received = new Map<string, Set<number>>();
  const ended: Promise<void>[] = [];
  for (const id of deploys)
    for (let v = 0; v < VIEWERS; v++) {
      const seen = new Set<number>();
      received.set(`${id}/${v}`, seen);
      ended.push(
        new Promise<void>((resolve) => {
          request(`http://127.0.0.1:${port}/${id}`, (res) => {
            res.setEncoding('utf8');
            let rest = '';
            res.on('data', (chunk: string) => {
              const arrived = Date.now();
              const text = rest + chunk;
              const cut = text.lastIndexOf('\n\n') + 2;
              if (cut < 2) {
                rest = text;
                return;
              }
              rest = text.slice(cut);
              for (const m of text.slice(0, cut).matchAll(/^id: (\d+)\nevent: line\ndata: .*?"text":"t=(\d+) /gm)) {
                seen.add(Number(m[1]));
                lags.push(arrived - Number(m[2]));
              }
              if (text.includes('event: end\n')) resolve();
            });
            res.on('close', () => resolve());
          }).end();
        }),
      );
    }
  while (live.viewerCount() < DEPLOYS * VIEWERS) await sleep(10);
  await sleep(200);

  // A prints: every deploy a line every INTERVAL ms, stamped with the time it is printed.
  const events = new DeployEvents();
  const logsA = deploys.map((id) => new DeployLog(id, { events, masker: new Masker([]), writer }).host('web-1'));
  for (let n = 0; n < LINES; n++) {
    for (const out of logsA) await out.onOutput('stdout', Buffer.from(`t=${Date.now()} line ${n}\n`));
    await sleep(INTERVAL);
  }
  await writer.drain();
  for (const id of deploys) {
    await prisma.deploy.update({ where: { id }, data: { state: 'succeeded', finishedAt: new Date() } });
    await notifierA.notify('deploy', { id, state: 'succeeded', error: null });
  }
  await Promise.race([Promise.all(ended), sleep(30_000)]);
  const lost = [...received.values()].reduce((n, s) => n + (LINES - s.size), 0);
  offBatches();
  live.stop();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await Promise.all([notifierA.close(), notifierB.close(), sink.close()]);
  await prisma.$disconnect();
  await db.drop();
  return { lags, lost, batches, reads };
}

export const remoteLag: BenchSection = {
  name: 'remote-lag',
  summary: `live lines of A's deploys on B (one PostgreSQL): ${DEPLOYS} deploys × a line per ${INTERVAL} ms, ${VIEWERS} viewers each on B`,
  async run() {
    const missing = postgresMissing();
    if (missing) {
      console.log(`  skipped: ${missing}`);
      return;
    }
    const before = await measure(100, 0, false);
    const bySeq = await measure(undefined, 0, false);
    const carriedAfter = await measure(undefined, undefined, false);
    const now = await measure(undefined);
    const row = (name: string, r: Result) => [
      name,
      ms(percentile(r.lags, 50)),
      ms(percentile(r.lags, 99)),
      ms(percentile(r.lags, 100)),
      String(r.lost),
      String(r.batches),
      String(r.reads),
    ];
    printTable([
      ['batch interval, lines', 'lag p50 (ms)', 'p99', 'max', 'lost', 'batches', 'reads on B'],
      row('100 ms, read back (before)', before),
      row('the sink’s, read back', bySeq),
      row('the sink’s, carried, NOTIFY after', carriedAfter),
      row('the sink’s, carried, NOTIFY in INSERT (now)', now),
    ]);
    figure({
      name: 'remote live-line lag p99',
      value: percentile(now.lags, 99),
      unit: 'ms',
      baseline: { name: '100 ms batches', value: percentile(before.lags, 99) },
      goal: { max: TARGET_P99_MS },
    });
    const lost = [before, bySeq, carriedAfter, now].map((r) => r.lost);
    if (lost.some((n) => n > 0)) throw new Error(`lines lost: ${lost.join(' / ')}`);
  },
};
