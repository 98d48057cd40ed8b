/**
 * Benchmark section `sse`: 50 browsers watching one deploy that prints 100k lines.
 *
 * Shepherd: a server process like the bot (web viewer + the engine's own log pipeline: LineSplitter → Masker →
 * DeployEvents → LogWriter batches into SQLite) prints 100k lines in chunks at BENCH_SSE_RATE lines/s; 50 SSE
 * viewers (a separate process) read /deploys/<id>/events. Every 10th viewer drops at 30% and resumes with
 * Last-Event-ID, as a browser does after a network blip. Measured: lines lost or doubled per viewer (must be 0),
 * delivery lag (line published → parsed by the viewer; viewers that reconnected are left out of the lag, their
 * catch-up is not live), server RSS; printed besides: the CPU time the server and the viewers' process used
 * while the deploy printed and both event loops' delays (on a loaded machine the viewers' process, which parses
 * every viewer's stream, is what falls behind first: compare its delay with the lag).
 *
 * Baseline: what a team without a viewer does — everyone runs `tail -F` on the deploy's log file (GNU tail,
 * inotify, same machine, no network, no masking, no storage). A writer process appends the same lines at the
 * same rate; 50 `tail -n +1 -F` processes follow it. Same figures; memory is the sum of the 50 tails' peak RSS.
 *
 *   npm run bench -- sse        # BENCH_SSE_LINES=100000 BENCH_SSE_VIEWERS=50 BENCH_SSE_RATE=10000
 *   BENCH_SSE_DROP_EVERY=0 (no viewer drops), BENCH_SSE_PROF=1 (CPU profile of the server in $TMPDIR/shepherd-sse-prof)
 *   BENCH_SSE_MEM=1 (the server's memory by kind before the deploy and at peak RSS), BENCH_SSE_HEAPSNAP=0.6 (heap
 *   snapshot when 60% of the lines are out), BENCH_SSE_SERVER_ARGS="--max-semi-space-size=2" (more node arguments)
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { npmStartNodeOptions } from './support/node-options.js';
import { type BenchSection, figure, ms, printTable, ratio, verdict } from './support/section.js';

const SELF = fileURLToPath(import.meta.url);
const LINES = Number(process.env.BENCH_SSE_LINES ?? 100_000);
const VIEWERS = Number(process.env.BENCH_SSE_VIEWERS ?? 50);
const RATE = Number(process.env.BENCH_SSE_RATE ?? 10_000);
const TICK_MS = 10;
/** Every DROP_EVERY-th viewer drops at 30% and resumes (0: none). */
const DROP_EVERY = Number(process.env.BENCH_SSE_DROP_EVERY ?? 10);
/** Issue 11's goals: lag p99 ≤ 50 ms, server memory ≤ 2× the tails'. */
const TARGET_P99_MS = 50;
const TARGET_MEMORY_RATIO = 2;

const now = () => performance.timeOrigin + performance.now();
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/** A build-log-like line carrying its seq and the time it was written, padded to a typical length. */
function lineText(seq: number): string {
  return `[${seq}] t=${now().toFixed(3)} \x1b[32mnpm\x1b[0m info lifecycle build~prepare: compiling src/module-${seq % 997}.ts (ok)`;
}

/** Calls emit(count) so that `total` lines go out at `rate`/s in TICK_MS chunks; awaits back-pressure. */
async function pace(total: number, rate: number, emit: (from: number, count: number) => Promise<void> | void): Promise<void> {
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    if (due > sent) {
      await emit(sent + 1, due - sent);
      sent = due;
    }
    await sleep(TICK_MS);
  }
}

// ---------------------------------------------------------------- child: Shepherd's server process

async function serverRole(): Promise<void> {
  const pino = (await import('pino')).default;
  const { openDatabase } = await import('../src/store/db.js');
  const { createStore } = await import('../src/store/index.js');
  const { DeployEvents } = await import('../src/deploy/events.js');
  const { Masker, secretsFromEnv } = await import('../src/deploy/mask.js');
  const { DeployLog, LogWriter } = await import('../src/deploy/log-pipeline.js');
  const { LogLineStore } = await import('../src/store/log-lines.js');
  const { createWebServer } = await import('../src/web/server.js');

  const dir = mkdtempSync(join(tmpdir(), 'shepherd-bench-sse-'));
  const { prisma, path } = await openDatabase(`file:${join(dir, 'bench.db')}`);
  const store = createStore(prisma, { karmaInitial: 4 });
  const user = await store.users.identify({ provider: 'shell', id: 'bench', handle: 'bench' });
  const deploy = await prisma.deploy.create({
    data: {
      app: 'web',
      environment: 'production',
      ref: 'main',
      sha: 'f'.repeat(40),
      state: 'running',
      requesterId: user.id,
      room: 'bench',
      releaseId: 'bench',
      startedAt: new Date(),
    },
  });
  for (const host of ['web-1', 'web-2'])
    await prisma.deployHost.create({ data: { deployId: deploy.id, host, port: 22, state: 'running', startedAt: new Date() } });

  const events = new DeployEvents();
  const logger = pino({ level: 'warn' });
  const web = createWebServer({ host: '127.0.0.1', port: 0, store, events, logger, secrets: secretsFromEnv(process.env) });
  await web.start();
  const sink = new LogLineStore(path);
  const writer = new LogWriter(sink, logger);
  const log = new DeployLog(deploy.id, { events, masker: new Masker(secretsFromEnv(process.env)), writer });
  const hosts = [log.host('web-1'), log.host('web-2')];

  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const loop = monitorEventLoopDelay({ resolution: 5 });
  // process.memoryUsage.rss(), not memoryUsage(): the latter walks the heap's spaces (~80 ms of a run's CPU).
  let peakRss = process.memoryUsage.rss();
  // BENCH_SSE_MEM=1: where the peak is (heap used/total, external, arrayBuffers, V8's spaces), at the sample with the
  // highest RSS. Off by default: memoryUsage() and the space statistics cost CPU on every sample.
  const v8 = await import('node:v8');
  let atPeak: { usage: NodeJS.MemoryUsage; spaces: string } | undefined;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peakRss && process.env.BENCH_SSE_MEM) atPeak = memoryNow();
    peakRss = Math.max(peakRss, rss);
  }, 50);
  const memoryNow = () => ({
    usage: process.memoryUsage(),
    spaces: v8
      .getHeapSpaceStatistics()
      .filter((s) => s.space_size > 0)
      .map((s) => `${s.space_name.replace('_space', '')} ${(s.space_size / 2 ** 20).toFixed(1)}/${(s.space_used_size / 2 ** 20).toFixed(1)}`)
      .join(', '),
  });
  const printMemory = (what: string, at: ReturnType<typeof memoryNow>) => {
    const m = (b: number) => `${(b / 2 ** 20).toFixed(1)}`;
    const u = at.usage;
    console.log(
      `  server ${what} (MiB): rss ${m(u.rss)}, heap used ${m(u.heapUsed)} of ${m(u.heapTotal)}, external ${m(u.external)}, arrayBuffers ${m(u.arrayBuffers)}`,
    );
    console.log(`    V8 spaces (MiB committed/used): ${at.spaces}`);
  };
  const send = (m: unknown) => process.send?.(m);

  process.on('message', async (m: { type: string }) => {
    if (m.type === 'go') {
      const idle = process.env.BENCH_SSE_MEM ? memoryNow() : undefined;
      const idleRss = process.memoryUsage().rss;
      peakRss = idleRss;
      // BENCH_SSE_HEAPSNAP=0.6: a heap snapshot when 60% of the lines are out (stops the server for seconds).
      const snapAt = Number(process.env.BENCH_SSE_HEAPSNAP ?? 0);
      let snapped: string | undefined;
      const cpu0 = process.cpuUsage();
      loop.enable();
      await pace(LINES, RATE, async (from, count) => {
        if (snapAt && !snapped && from >= snapAt * LINES) {
          snapped = v8.writeHeapSnapshot(join(tmpdir(), `shepherd-sse-${process.pid}.heapsnapshot`));
          console.log(`  heap snapshot at line ${from}: ${snapped}`);
        }
        // One output chunk per tick and host, as a transport delivers them.
        const chunks: string[][] = [[], []];
        for (let seq = from; seq < from + count; seq++) chunks[seq % 2]!.push(lineText(seq));
        for (const [i, lines] of chunks.entries()) if (lines.length) await hosts[i]!.onOutput('stdout', Buffer.from(`${lines.join('\n')}\n`));
      });
      for (const h of hosts) h.end();
      await writer.drain();
      await prisma.deploy.update({ where: { id: deploy.id }, data: { state: 'succeeded', finishedAt: new Date() } });
      events.publish({ type: 'state', deployId: deploy.id, state: 'succeeded' });
      loop.disable();
      const cpu = process.cpuUsage(cpu0);
      if (idle) printMemory('before the deploy', idle);
      if (atPeak) printMemory('at peak RSS', atPeak);
      if (process.env.BENCH_SSE_MEM) console.log(`  live log slabs: ${JSON.stringify(web.live.arenaStats())}`);
      send({
        type: 'done',
        cpuMs: (cpu.user + cpu.system) / 1000,
        published: log.lastSeq,
        dropped: writer.dropped,
        idleRss,
        peakRss,
        loopP99: loop.percentile(99) / 1e6,
        loopMax: loop.max / 1e6,
      });
    } else if (m.type === 'stop') {
      clearInterval(sampler);
      await web.stop();
      sink.close();
      await prisma.$disconnect();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
  });
  send({ type: 'ready', url: web.url, deployId: deploy.id, rss: process.memoryUsage().rss });
}

// ---------------------------------------------------------------- child: the baseline's log writer

async function writerRole(): Promise<void> {
  const file = process.env.BENCH_SSE_FILE as string;
  const fd = openSync(file, 'a');
  process.on('message', async (m: { type: string }) => {
    if (m.type !== 'go') return;
    await pace(LINES, RATE, (from, count) => {
      const lines: string[] = [];
      for (let seq = from; seq < from + count; seq++) lines.push(lineText(seq));
      writeSync(fd, `${lines.join('\n')}\n`);
    });
    closeSync(fd);
    process.send?.({ type: 'done', published: LINES });
  });
  process.send?.({ type: 'ready' });
}

// ---------------------------------------------------------------- parent: viewers and figures

interface Viewer {
  seen: Uint8Array;
  received: number;
  duplicates: number;
  /** Lag of each line received while measuring, in arrival order (lagCount of them). */
  lags: Float64Array;
  lagCount: number;
  reconnected: boolean;
  /** Times the server cut this viewer off for being too slow (it then resumed). */
  cutOff: number;
}

function newViewer(): Viewer {
  return { seen: new Uint8Array(LINES + 1), received: 0, duplicates: 0, lags: new Float64Array(LINES), lagCount: 0, reconnected: false, cutOff: 0 };
}

/*
 * 500k lines/s arrive at the viewers' process (1M in the two runs): it parses them with indexOf and charCodeAt, not
 * a regular expression or a general SSE parser, and reads the clock once per chunk (every line of a chunk arrived
 * at the same moment), so that this process measures the server rather than itself. Both runs use the same code.
 */

/** The unsigned decimal (digits, optionally '.' and digits) at text[i]: [value, index after it]. */
function decimal(text: string, from: number): [number, number] {
  let i = from;
  let value = 0;
  let c = text.charCodeAt(i);
  for (; c >= 48 && c <= 57; c = text.charCodeAt(++i)) value = value * 10 + (c - 48);
  if (c === 46) {
    let scale = 1;
    for (c = text.charCodeAt(++i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) {
      scale /= 10;
      value += (c - 48) * scale;
    }
  }
  return [value, i];
}

const SSE_LINE = 'event: line\ndata: {"seq":';
const STAMP = ' t=';

/** Each line event in `frames` (whole frames): its seq and the time stamp its text starts with. */
function eachFrame(frames: string, fn: (seq: number, writtenAt: number) => boolean | undefined): void {
  for (let i = frames.indexOf(SSE_LINE); i >= 0; i = frames.indexOf(SSE_LINE, i)) {
    const [seq, after] = decimal(frames, i + SSE_LINE.length);
    const [writtenAt, end] = decimal(frames, frames.indexOf(STAMP, after) + STAMP.length);
    if (fn(seq, writtenAt)) return;
    i = end;
  }
}

/** Each "[seq] t=stamp …" line in `lines` (whole lines). */
function eachLine(lines: string, fn: (seq: number, writtenAt: number) => void): void {
  for (let i = 0; i < lines.length; ) {
    if (lines.charCodeAt(i) === 91) {
      const [seq, after] = decimal(lines, i + 1);
      const [writtenAt] = decimal(lines, after + 1 + STAMP.length);
      fn(seq, writtenAt);
    }
    i = lines.indexOf('\n', i) + 1;
    if (i === 0) break;
  }
}

/** Counts one received line, arrived at `arrivedAt`; `measure`: record its lag. */
function take(v: Viewer, seq: number, writtenAt: number, arrivedAt: number, measure: boolean): number {
  if (v.seen[seq]) v.duplicates++;
  else {
    v.seen[seq] = 1;
    v.received++;
  }
  if (measure && v.lagCount < v.lags.length) v.lags[v.lagCount++] = arrivedAt - writtenAt;
  return seq;
}

/** The p-th percentile of typed samples (sorted in place). */
function typedPercentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

interface Figures {
  lost: number;
  duplicates: number;
  p50: number;
  p99: number;
  max: number;
  memory: number;
  memoryNote: string;
  cutOff: number;
}

function figures(viewers: Viewer[], memory: number, memoryNote: string): Figures {
  const measured = viewers.filter((v) => !v.reconnected);
  const lags = new Float64Array(measured.reduce((n, v) => n + v.lagCount, 0));
  let at = 0;
  for (const v of measured) {
    lags.set(v.lags.subarray(0, v.lagCount), at);
    at += v.lagCount;
  }
  lags.sort();
  return {
    lost: viewers.reduce((n, v) => n + (LINES - v.received), 0),
    duplicates: viewers.reduce((n, v) => n + v.duplicates, 0),
    p50: typedPercentile(lags, 50),
    p99: typedPercentile(lags, 99),
    max: typedPercentile(lags, 100),
    memory,
    memoryNote,
    cutOff: viewers.reduce((n, v) => n + v.cutOff, 0),
  };
}

function message<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string }) => {
      if (m.type === type) {
        child.off('message', onMessage);
        resolve(m as T);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before "${type}"`)));
  });
}

/**
 * The server role compiled as `npm start` runs the bot (scripts/build.mjs's own options), so that its memory is the bot's: under tsx, TypeScript is compiled by loader hooks on a thread
 * of their own, ~32 MiB resident that a started bot does not have. Written under dist/ (ignored by git).
 */
async function compiledSelf(): Promise<string> {
  const { build } = await import('esbuild');
  const { DIST, esbuildOptions } = await import('../scripts/build.mjs');
  const outdir = join(DIST, `bench-sse-${process.pid}`);
  // Only this process builds: the bundle must not carry build.mjs (its "run as a script" check would fire).
  await build({ ...esbuildOptions({ sse: SELF }, outdir), external: ['../scripts/build.mjs'], outExtension: { '.js': '.mjs' } });
  return join(outdir, 'sse.mjs');
}

function child(role: string, env: Record<string, string> = {}, compiled?: string): ChildProcess {
  return fork(compiled ?? SELF, [], {
    execArgv: [
      // As `npm start` runs the bot (--liftoff-only: no TurboFan recompiling Prisma's WebAssembly, ~40 MiB).
      ...(role === 'server' ? [...npmStartNodeOptions(), ...(process.env.BENCH_SSE_SERVER_ARGS?.split(' ').filter(Boolean) ?? [])] : []),
      ...(compiled ? [] : ['--import', 'tsx']),
      ...(process.env.BENCH_SSE_PROF && role === 'server' ? ['--cpu-prof', `--cpu-prof-dir=${join(tmpdir(), 'shepherd-sse-prof')}`] : []),
    ],
    env: { ...process.env, BENCH_SSE_ROLE: role, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

async function measureShepherd(): Promise<Figures & { idleRss: number }> {
  const compiled = await compiledSelf();
  const server = child('server', {}, compiled);
  try {
    const ready = await message<{ url: string; deployId: number }>(server, 'ready');
    const url = `${ready.url}/deploys/${ready.deployId}/events`;
    const viewers = Array.from({ length: VIEWERS }, newViewer);
    /**
     * One viewer until the server ends the stream (event: end). With dropAt it disconnects there once and
     * resumes; a connection the server cut (a viewer too slow to keep up) resumes too, as EventSource does.
     */
    const watch = (v: Viewer, lastEventId?: number, dropAt?: number): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        let last = lastEventId ?? 0;
        let dropped = false;
        let finished = false;
        const req = request(url, { headers: { accept: 'text/event-stream', ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}) } });
        req.on('response', (res) => {
          if (res.statusCode !== 200) return reject(new Error(`viewer got HTTP ${res.statusCode}`));
          res.setEncoding('utf8');
          let rest = '';
          res.on('data', (chunk: string) => {
            if (dropped) return;
            const arrivedAt = now();
            const text = rest + chunk;
            const cut = text.lastIndexOf('\n\n') + 2;
            if (cut < 2) {
              rest = text; // no whole frame yet
              return;
            }
            rest = text.slice(cut);
            const frames = text.slice(0, cut);
            eachFrame(frames, (seq, writtenAt) => {
              last = take(v, seq, writtenAt, arrivedAt, !v.reconnected);
              if (dropAt === undefined || last < dropAt) return false;
              dropped = true;
              v.reconnected = true;
              req.destroy();
              return true;
            });
            if (dropped) return;
            if (frames.includes('event: end\n')) finished = true;
          });
          res.on('close', () => {
            if (finished) return resolve();
            if (!dropped) v.cutOff++;
            // Like a browser: retry after a moment with the last id it got.
            sleep(dropped ? 200 : 50)
              .then(() => watch(v, last))
              .then(resolve, reject);
          });
        });
        req.on('error', (err) => {
          if (!dropped) reject(err);
        });
        req.end();
      });
    const { monitorEventLoopDelay } = await import('node:perf_hooks');
    const ploop = monitorEventLoopDelay({ resolution: 5 });
    ploop.enable();
    const ended = viewers.map((v, i) => watch(v, undefined, DROP_EVERY > 0 && i % DROP_EVERY === DROP_EVERY - 1 ? Math.floor(LINES * 0.3) : undefined));
    await sleep(500);
    const pcpu0 = process.cpuUsage();
    server.send({ type: 'go' });
    const done = await message<{ cpuMs: number; published: number; dropped: number; idleRss: number; peakRss: number; loopP99: number; loopMax: number }>(
      server,
      'done',
    );
    console.log(`  viewers' event-loop delay: p99 ${ms(ploop.percentile(99) / 1e6)} ms, max ${ms(ploop.max / 1e6)} ms`);
    const pcpu = process.cpuUsage(pcpu0);
    console.log(`  server CPU while printing: ${done.cpuMs.toFixed(0)} ms; viewers' CPU: ${((pcpu.user + pcpu.system) / 1000).toFixed(0)} ms`);
    console.log(`  server event-loop delay while printing: p99 ${ms(done.loopP99)} ms, max ${ms(done.loopMax)} ms`);
    if (done.published !== LINES) throw new Error(`published ${done.published} of ${LINES} lines`);
    await Promise.race([Promise.all(ended), sleep(60_000).then(() => Promise.reject(new Error('viewers did not receive the end of the stream within 60 s')))]);
    return { ...figures(viewers, done.peakRss, 'server process peak RSS'), idleRss: done.idleRss };
  } finally {
    server.send({ type: 'stop' });
    await new Promise((r) => server.once('exit', r));
    rmSync(dirname(compiled), { recursive: true, force: true });
  }
}

async function measureTail(): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-bench-tail-'));
  const file = join(dir, 'deploy.log');
  closeSync(openSync(file, 'w'));
  const writer = child('writer', { BENCH_SSE_FILE: file });
  const tails: ChildProcess[] = [];
  try {
    await message(writer, 'ready');
    const viewers = Array.from({ length: VIEWERS }, newViewer);
    const complete: Promise<void>[] = [];
    const hwm: number[] = [];
    for (const v of viewers) {
      const tail = spawn('tail', ['-n', '+1', '-F', file], { stdio: ['ignore', 'pipe', 'ignore'] });
      tails.push(tail);
      complete.push(
        new Promise<void>((resolve) => {
          let rest = '';
          tail.stdout!.setEncoding('utf8');
          tail.stdout!.on('data', (chunk: string) => {
            // Same cheap parsing as for the SSE viewers.
            const arrivedAt = now();
            const text = rest + chunk;
            const cut = text.lastIndexOf('\n') + 1;
            rest = text.slice(cut);
            const lines = text.slice(0, cut);
            eachLine(lines, (seq, writtenAt) => take(v, seq, writtenAt, arrivedAt, true));
            if (v.received === LINES) {
              // Peak RSS of this tail before it is stopped.
              hwm.push(Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${tail.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024);
              resolve();
            }
          });
        }),
      );
    }
    await sleep(500);
    writer.send({ type: 'go' });
    await message(writer, 'done');
    await Promise.race([Promise.all(complete), sleep(30_000)]);
    return figures(
      viewers,
      hwm.reduce((a, b) => a + b, 0),
      `sum of ${VIEWERS} tail processes' peak RSS`,
    );
  } finally {
    for (const t of tails) t.kill();
    writer.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

export const sse: BenchSection = {
  name: 'sse',
  summary: `${VIEWERS} SSE viewers on a deploy printing ${LINES.toLocaleString('en')} lines at ${RATE.toLocaleString('en')}/s, vs ${VIEWERS} × tail -F`,
  async run() {
    const ours = await measureShepherd();
    const tail = await measureTail();
    printTable([
      ['', 'shepherd SSE', `tail -F ×${VIEWERS}`, 'ratio'],
      ['lines lost (all viewers)', String(ours.lost), String(tail.lost), ''],
      ['lines shown twice', String(ours.duplicates), String(tail.duplicates), ''],
      ['lag p50 (ms)', ms(ours.p50), ms(tail.p50), ratio(ours.p50, tail.p50)],
      ['lag p99 (ms)', ms(ours.p99), ms(tail.p99), ratio(ours.p99, tail.p99)],
      ['lag max (ms)', ms(ours.max), ms(tail.max), ratio(ours.max, tail.max)],
      ['memory', mib(ours.memory), mib(tail.memory), ratio(ours.memory, tail.memory)],
    ]);
    console.log(`  memory: shepherd = ${ours.memoryNote} (${mib(ours.idleRss)} before the deploy); tail = ${tail.memoryNote}`);
    console.log(`  viewers cut off by the server for falling behind (they resumed): ${ours.cutOff}`);
    console.log('  every 10th viewer dropped at 30% and resumed with Last-Event-ID (counted for loss, not for lag)');
    console.log(
      `  lines lost = 0: ${ours.lost === 0 && ours.duplicates === 0 ? 'ok' : 'MISSED'}; lag p99 ≤ ${TARGET_P99_MS} ms: ${verdict(ours.p99, TARGET_P99_MS)}; memory ≤ ${TARGET_MEMORY_RATIO}× tail: ${verdict(ours.memory / tail.memory, TARGET_MEMORY_RATIO)}`,
    );
    const tails = `${VIEWERS} × tail -F`;
    figure({
      name: 'lines lost + shown twice',
      value: ours.lost + ours.duplicates,
      unit: '',
      baseline: { name: tails, value: tail.lost + tail.duplicates },
      goal: { max: 0 },
    });
    figure({ name: 'lag p50', value: ours.p50, unit: 'ms', baseline: { name: tails, value: tail.p50 } });
    figure({ name: 'lag p99', value: ours.p99, unit: 'ms', baseline: { name: tails, value: tail.p99 }, goal: { max: TARGET_P99_MS } });
    figure({
      name: 'server memory (peak RSS)',
      value: ours.memory / 1024 / 1024,
      unit: 'MiB',
      baseline: { name: `${tails}, sum`, value: tail.memory / 1024 / 1024 },
      goal: { ratio: TARGET_MEMORY_RATIO },
    });
    figure({
      name: 'server memory, increment while printing',
      value: (ours.memory - ours.idleRss) / 1024 / 1024,
      unit: 'MiB',
      note: 'peak RSS minus RSS before the deploy printed: what the viewers and the lines cost',
    });
    figure({ name: 'viewers cut off', value: ours.cutOff, unit: '' });
    if (ours.lost !== 0 || ours.duplicates !== 0) throw new Error(`${ours.lost} lines lost, ${ours.duplicates} shown twice`);
  },
};

if (process.env.BENCH_SSE_ROLE === 'server') void serverRole();
else if (process.env.BENCH_SSE_ROLE === 'writer') void writerRole();
