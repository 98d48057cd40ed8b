/**
 * Benchmark section `logs`: one host (a real sshd on loopback) prints BENCH_LOGS_LINES lines (500k) in one step.
 * Shepherd: the whole pipeline — ssh2 → LineSplitter → Masker → DeployEvents → LogWriter batches in SQLite —
 * timed from the deploy request until every line is stored (the deploy only ends after its lines are written),
 * on a bot that has deployed once since its start (that first deploy, of one line, is timed and reported apart),
 * in a child process of its own so its peak RSS (VmHWM) is its own. Baseline: `ssh host cmd > file` with
 * OpenSSH. Also counted: the chat messages the deploy posted (the log stays out of chat). The same deploy printing
 * one line gives the fixed cost (connect, release directory, bookkeeping) apart from the per-line cost, and an
 * in-process run of each pipeline stage on the same lines shows where the per-line cost goes. The Shepherd child
 * runs compiled as `npm start` runs the bot (see compiledSelf); BENCH_LOGS_TSX=1 runs it through tsx instead.
 *
 *   npm run bench -- logs          # BENCH_LOGS_LINES=500000
 *   BENCH_LOGS_TSX=1 npm run bench -- logs   # the Shepherd side from the sources (tsx), as measured before
 */
import { execFile, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeployEvents } from '../src/deploy/events.js';
import { LineSplitter } from '../src/deploy/line-splitter.js';
import { DeployLog, LogWriter } from '../src/deploy/log-pipeline.js';
import { Masker } from '../src/deploy/mask.js';
import { type DatabaseKind, openDatabase, sqlitePath } from '../src/store/db.js';
import type { StoredLine } from '../src/store/deploys.js';
import { createStore } from '../src/store/index.js';
import { LogLineStore } from '../src/store/log-lines.js';
import { sshdUnavailable, startSshd } from '../test/support/sshd.js';
import { benchDatabase, postgresEnv, postgresMissing } from './support/database.js';
import { type BenchDeployer, startBenchDeployer } from './support/deployer.js';
import { npmStartNodeOptions } from './support/node-options.js';
import { type BenchSection, figure, ms, printTable, ratio, verdict } from './support/section.js';

const SELF = fileURLToPath(import.meta.url);
const LINES = Number(process.env.BENCH_LOGS_LINES ?? 500_000);
/** A build-log-like line (~80 characters), numbered. */
const LINE_FORMAT = '%.0f npm info lifecycle build~prepare: compiling src/components/module.ts (ok)';
const command = (lines: number) => `seq -f '${LINE_FORMAT}' 1 ${lines}`;

interface Target {
  entry: string;
  key: string;
  deployTo: string;
  lines: number;
  database: DatabaseKind;
}

interface ShepherdFigures {
  ms: number;
  stored: number;
  messages: number;
  minGapMs: number;
  idleRssMiB: number;
  peakRssMiB: number;
  /** process.memoryUsage() in MiB when idle, and the peak of each field while the deploy ran (sampled). */
  idleMem: Record<string, number>;
  peakMem: Record<string, number>;
  /** Most lines ever waiting to be stored (the LogWriter's queue). */
  peakQueued: number;
  /** How often, and how long in all (ms), the host's output was paused because storing lagged behind. */
  pauses: number;
  pausedMs: number;
  /** CPU time (user + system, all threads) the process used during the deploy: steadier than wall time on a busy machine. */
  cpuMs: number;
  /** The same for the main thread alone (the event loop every line goes through; 10 ms resolution). */
  mainCpuMs: number;
  /** The bot's first deploy after its start (1 line, before the measured one): ms. */
  firstDeployMs: number;
  /** ms from the request to the host's first published line, and to its last (the rest: storing the tail, ending). */
  firstLineMs: number;
  lastLineMs: number;
}

function memory(): Record<string, number> {
  return Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, v / 1024 / 1024]));
}

function mib(m: Record<string, number>): string {
  return ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'].map((k) => `${k} ${(m[k] ?? 0).toFixed(0)}`).join(', ');
}

/** CPU time (user + system, ms) of this process's main thread so far, from /proc (clock ticks of 10 ms). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** MiB → MB (10^6 bytes): the goal is 200 MB. */
function mb(mib: number): number {
  return (mib * 1024 * 1024) / 1e6;
}

function vm(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/**
 * Deploys `app` to its environment and waits for the end; throws unless it succeeded. `ended` runs the moment the
 * deploy ended, before the state is read (what a measurement stops its clocks in).
 */
async function deployOnce(bench: BenchDeployer, app: string, ended: () => void = () => {}): Promise<number> {
  const r = await bench.deployer.request({
    app,
    environment: 'bench',
    ref: 'main',
    sha: 'b'.repeat(40),
    requester: bench.user,
    provider: 'shell',
    room: { room: 'bench' },
  });
  if (r.outcome !== 'started') throw new Error(`${app} deploy did not start: ${r.outcome}`);
  await bench.deployer.waitFor(r.deploy.id);
  ended();
  const d = await bench.store.deploys.get(r.deploy.id);
  if (d?.state !== 'succeeded') throw new Error(`${app} deploy ${d?.state}: ${d?.error}`);
  return d.id;
}

/** Child process: runs one deploy whose step prints LINES lines (after a 1-line one), reports figures over IPC. */
async function shepherdRole(target: Target): Promise<void> {
  const bench = await startBenchDeployer(
    JSON.stringify({
      apps: {
        logs: {
          repo_url: '/nonexistent',
          deploy_to: target.deployTo,
          ssh: { user: 'root', private_key_path: target.key },
          steps: [command(target.lines)],
          environments: { bench: { hosts: [target.entry] } },
        },
        // The same host and deploy, printing one line: what the bot deployed before the measured deploy.
        warmup: {
          repo_url: '/nonexistent',
          deploy_to: target.deployTo,
          ssh: { user: 'root', private_key_path: target.key },
          steps: [command(1)],
          environments: { bench: { hosts: [target.entry] } },
        },
      },
    }),
    target.database,
  );
  // A bot that is up has deployed before: the first deploy after a start also compiles each of its database
  // queries (Prisma's query compiler) and loads the modules only a deploy needs. Timed, and reported apart.
  const firstStarted = performance.now();
  await deployOnce(bench, 'warmup');
  const firstDeployMs = performance.now() - firstStarted;
  const idle = vm('VmRSS');
  const idleMem = memory();
  const peakMem = memory();
  // Where the peak goes: V8 heap, memory outside it (Buffers, SQLite, wasm), the rest of RSS. Every 50 ms: each
  // memoryUsage() walks the heap's spaces in the measured process (every 10 ms it took ~2 % of the deploy's
  // event loop); the peak RSS figure itself is the kernel's (VmHWM), exact whatever the interval.
  const sampler = setInterval(() => {
    for (const [k, v] of Object.entries(memory())) peakMem[k] = Math.max(peakMem[k] ?? 0, v);
  }, 50);
  const messagesBefore = bench.messages();
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuMs();
  const started = performance.now();
  // When the first and the last of the host's lines were published (split, masked, numbered): the deploy's time
  // is start → first line (connect, release) + first → last (the output) + last → stored and ended.
  let firstLineAt = 0;
  let lastLineAt = 0;
  const offLines = bench.events.subscribe((e) => {
    if (e.type !== 'lines' && e.type !== 'line') return;
    if ((e.type === 'lines' ? e.lines.stream : e.line.stream) === 'system') return;
    lastLineAt = performance.now();
    firstLineAt ||= lastLineAt;
  });
  let elapsed = 0;
  let used = { user: 0, system: 0 };
  let mainCpuMs = 0;
  const deployId = await deployOnce(bench, 'logs', () => {
    elapsed = performance.now() - started;
    offLines();
    used = process.cpuUsage(cpu);
    mainCpuMs = mainThreadCpuMs() - mainCpu;
    clearInterval(sampler);
  });
  const stored = (await bench.store.db.logChunk.findMany({ where: { deployId, stream: 'stdout' }, select: { firstSeq: true, lastSeq: true } })).reduce(
    (n, c) => n + c.lastSeq - c.firstSeq + 1,
    0,
  );
  await bench.deployer.idle();
  const figures: ShepherdFigures = {
    ms: elapsed,
    stored,
    messages: bench.messages() - messagesBefore,
    minGapMs: bench.minGapMs(started),
    firstDeployMs,
    idleRssMiB: idle,
    peakRssMiB: vm('VmHWM'),
    idleMem,
    peakMem,
    peakQueued: bench.deployer.writer.peakQueued,
    pauses: bench.deployer.writer.pauses,
    pausedMs: bench.deployer.writer.pausedMs,
    cpuMs: (used.user + used.system) / 1000,
    mainCpuMs,
    firstLineMs: firstLineAt - started,
    lastLineMs: lastLineAt - started,
  };
  await bench.close();
  process.send?.(figures);
}

/** BENCH_LOGS_TSX=1: run the Shepherd side from the sources through tsx (as before), not compiled. */
const UNDER_TSX = process.env.BENCH_LOGS_TSX === '1';
let compiled: Promise<string> | undefined;

/**
 * This file compiled as `npm start` compiles the bot (scripts/build.mjs's options, into dist/bench-logs/): the
 * bot runs as JavaScript in production, and tsx's loader thread and on-the-fly compiling (~35 MiB of RSS, and
 * ~150 ms compiling ssh2 in the first deploy) are no part of what it costs. Built once per run.
 */
function compiledSelf(): Promise<string> {
  compiled ??= (async () => {
    const { build } = await import('esbuild');
    const { esbuildOptions } = await import('../scripts/build.mjs');
    const outdir = join(dirname(SELF), '..', 'dist', 'bench-logs');
    rmSync(outdir, { recursive: true, force: true });
    await build({ ...esbuildOptions({ logs: SELF }, outdir), outExtension: { '.js': '.mjs' } });
    return join(outdir, 'logs.mjs');
  })();
  return compiled;
}

async function measureShepherd(target: Target): Promise<ShepherdFigures> {
  const pgEnv = target.database === 'postgresql' ? await postgresEnv() : {};
  const entry = UNDER_TSX ? SELF : await compiledSelf();
  return new Promise((resolve, reject) => {
    const child = fork(entry, [], {
      // As `npm start` runs the bot (its node options from package.json: --liftoff-only, the young generation's size).
      // BENCH_LOGS_NODE_ARGS: extra node flags for the Shepherd side, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'.
      execArgv: [...npmStartNodeOptions(), ...(process.env.BENCH_LOGS_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...(UNDER_TSX ? ['--import', 'tsx'] : [])],
      env: { ...process.env, ...pgEnv, BENCH_LOGS_ROLE: 'shepherd', BENCH_LOGS_TARGET: JSON.stringify(target) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m) => resolve(m as ShepherdFigures));
    child.once('exit', (code) => reject(new Error(`shepherd child exited (${code}) without figures`)));
  });
}

function measureSsh(host: string, port: number, key: string, out: string, lines = LINES): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      '/bin/sh',
      [
        '-c',
        `ssh -i "$1" -p "$2" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@"$3" "$4" > "$5"`,
        'sh',
        key,
        String(port),
        host,
        command(lines),
        out,
      ],
      (err) => (err ? reject(err) : resolve(performance.now() - started)),
    );
  });
}

/** Secret values as a bot configured for Slack, IRC and GitHub would mask (none of them in the output). */
const SECRETS = ['ghp_0123456789abcdefghij0123456789abcdef', 'xoxb-1111-2222-abcdefABCDEF', 'hunter2-irc!'];

/**
 * Each stage alone, in this process, on the same LINES lines cut in 32 KiB chunks as ssh2 delivers them: where
 * the per-line cost goes. Best of two runs each.
 */
async function printStages(): Promise<void> {
  const text = Array.from({ length: LINES }, (_, i) => `${LINE_FORMAT.replace('%.0f', String(i + 1))}\n`).join('');
  const all = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let o = 0; o < all.length; o += 32 * 1024) chunks.push(all.subarray(o, o + 32 * 1024));
  const best = async (run: () => unknown) => {
    let fastest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      await run();
      fastest = Math.min(fastest, performance.now() - started);
    }
    return fastest;
  };
  const nextTurn = () => new Promise<void>((r) => setImmediate(r));
  const db = await benchDatabase('sqlite');
  const opened = await openDatabase(db.url);
  const t = { url: db.url, store: createStore(opened.prisma, { karmaInitial: 4 }) };
  try {
    const requester = await t.store.users.identify({ provider: 'shell', id: 'stages', handle: 'stages' });
    let environment = 0;
    const newDeploy = async () => {
      const r = await t.store.deploys.request({
        app: 'logs',
        environment: `s${environment++}`,
        ref: 'main',
        sha: 'b'.repeat(40),
        kind: 'deploy',
        requesterId: requester.id,
        provider: 'shell',
        room: 'bench',
        hosts: [],
      });
      if (r.outcome !== 'started') throw new Error(`no deploy row: ${r.outcome}`);
      return r.deploy.id;
    };
    // The lines as the pipeline hands them to the store: one timestamp per chunk.
    const rows: StoredLine[] = [];
    for (const chunk of chunks) {
      const at = new Date();
      const s = new LineSplitter((l) => rows.push({ deployId: 0, seq: rows.length + 1, host: 'web-1', stream: 'stdout', text: l, at }));
      s.push(chunk);
      s.end();
    }
    const lines = rows.map((r) => r.text);
    // Publishing and queueing without storing: a sink that keeps nothing.
    const noStore = { insert: async () => {}, insertChunks: async () => {}, close: async () => {} };
    const pipeline = async (sink: LogLineStore | typeof noStore, deployId: number) => {
      const events = new DeployEvents();
      events.subscribe(() => {});
      const writer = new LogWriter(sink);
      const out = new DeployLog(deployId, { events, masker: new Masker(SECRETS), writer }).host('web-1');
      for (const chunk of chunks) await (out.onOutput('stdout', chunk) ?? nextTurn());
      out.end();
      await writer.drain();
    };
    const figures: [string, number][] = [
      [
        'split (LineSplitter)',
        await best(() => {
          const s = new LineSplitter(() => {});
          for (const c of chunks) s.push(c);
          s.end();
        }),
      ],
      [
        'mask (Masker, 3 secrets)',
        await best(() => {
          const m = new Masker(SECRETS);
          for (const l of lines) m.line(l, 'web-1:stdout');
        }),
      ],
      ['split+mask+number+publish+queue', await best(() => pipeline(noStore, 0))],
      [
        'store (LogLineStore, 10k-line batches)',
        await best(async () => {
          const id = await newDeploy();
          const store = new LogLineStore(sqlitePath(t.url));
          for (const r of rows) r.deployId = id;
          for (let i = 0; i < rows.length; i += 10_000) await store.insert(rows.slice(i, i + 10_000));
          await store.close();
        }),
      ],
      [
        'whole pipeline, in-process',
        await best(async () => {
          const store = new LogLineStore(sqlitePath(t.url));
          await pipeline(store, await newDeploy());
          await store.close();
        }),
      ],
    ];
    console.log(`  stages in-process, ${LINES.toLocaleString('en')} lines in ${chunks.length} chunks of 32 KiB (best of 2):`);
    printTable([['', 'ms', 'ns/line'], ...figures.map(([name, t]): string[] => [name, ms(t), ((t * 1e6) / LINES).toFixed(0)])]);
  } finally {
    await opened.prisma.$disconnect();
    await db.drop();
  }
}

export const logs: BenchSection = {
  name: 'logs',
  summary: `one host prints ${LINES} lines: time until all are stored vs \`ssh host cmd > file\`, peak RSS, chat messages`,
  async run() {
    const missing = sshdUnavailable();
    if (missing) throw new Error(missing);
    const sshd = await startSshd({ hosts: 1 });
    const work = mkdtempSync(join(tmpdir(), 'shepherd-logs-'));
    const host = sshd.hosts[0]!;
    try {
      const out = join(work, 'out.log');
      const target = { entry: host.entry, key: sshd.clientKey, deployTo: sshd.deployTo };
      const databases: DatabaseKind[] = ['sqlite'];
      const noPostgres = postgresMissing();
      if (noPostgres) console.log(`  PostgreSQL figures left out: ${noPostgres}`);
      else databases.push('postgresql');
      for (const database of databases) {
        // Each side twice, taking turns, and the faster run of each: the machine's speed changes by the second
        // (one run of either side varies by ±15 % here). The peak RSS is the larger of Shepherd's two.
        const sshMs = await measureSsh(host.host, host.port, sshd.clientKey, out);
        const sshLines = readFileSync(out, 'utf8').split('\n').length - 1;
        const first = await measureShepherd({ ...target, lines: LINES, database });
        const sshMs2 = await measureSsh(host.host, host.port, sshd.clientKey, out);
        const second = await measureShepherd({ ...target, lines: LINES, database });
        const ours = { ...(first.ms <= second.ms ? first : second), peakRssMiB: Math.max(first.peakRssMiB, second.peakRssMiB) };
        const raw = Math.min(sshMs, sshMs2);
        console.log(
          `  runs: ssh ${ms(sshMs)} and ${ms(sshMs2)} ms; shepherd ${ms(first.ms)} and ${ms(second.ms)} ms (${ratio(first.ms, raw)} and ${ratio(second.ms, raw)} the faster ssh)`,
        );
        const size = statSync(out).size;
        const one = await measureShepherd({ ...target, lines: 1, database });
        const sshOne = await measureSsh(host.host, host.port, sshd.clientKey, out, 1);
        console.log(`  -- on ${database}${database === 'postgresql' ? ' (a throwaway server on loopback; its own processes are not in the RSS)' : ''}`);
        printTable([
          ['', 'ms', 'lines', 'ratio'],
          ['ssh host cmd > file', ms(raw), String(sshLines), ''],
          ['shepherd (all stored)', ms(ours.ms), String(ours.stored), ratio(ours.ms, raw)],
          ['ssh, 1 line', ms(sshOne), '1', ''],
          ['shepherd, 1 line', ms(one.ms), String(one.stored), ratio(one.ms, sshOne)],
          ['per-line part: ssh', ms(raw - sshOne), '', ''],
          ['per-line part: shepherd', ms(ours.ms - one.ms), '', ratio(ours.ms - one.ms, raw - sshOne)],
        ]);
        const seconds = ours.ms / 1000;
        console.log(`  ${Math.round(ours.stored / seconds).toLocaleString('en')} lines/s stored; ${(size / 1024 / 1024).toFixed(1)} MiB of output`);
        console.log(
          `  shepherd CPU time during the deploy: ${ms(ours.cpuMs)} ms (user + system, all threads), main thread ${ms(ours.mainCpuMs)} ms; 1-line deploy: ${ms(one.cpuMs)} ms, main thread ${ms(one.mainCpuMs)} ms`,
        );
        console.log(
          `  shepherd timeline: first line published at ${ms(ours.firstLineMs)} ms, last at ${ms(ours.lastLineMs)} ms, all stored and ended at ${ms(ours.ms)} ms`,
        );
        console.log(
          `  measured on a bot that has deployed once since its start; that first deploy (1 line) took ${ms(ours.firstDeployMs)} ms (${ms(one.firstDeployMs)} ms in the 1-line run): it also compiles each database query and loads the deploy's modules`,
        );
        console.log(
          `  shepherd RSS: ${ours.idleRssMiB.toFixed(0)} MiB before, peak ${ours.peakRssMiB.toFixed(0)} MiB = ${mb(ours.peakRssMiB).toFixed(0)} MB (whole process, VmHWM, the larger of the two runs): the deploy's own increment ${(ours.peakRssMiB - ours.idleRssMiB).toFixed(0)} MiB (1-line deploy: ${(one.peakRssMiB - one.idleRssMiB).toFixed(0)} MiB)`,
        );
        console.log(`    idle MiB: ${mib(ours.idleMem)}`);
        console.log(`    peak MiB: ${mib(ours.peakMem)} (each field's own peak, sampled every 50 ms)`);
        console.log(
          `    most lines waiting to be stored at once: ${ours.peakQueued.toLocaleString('en')}; output paused for storage ${ours.pauses} times, ${ms(ours.pausedMs)} ms in all`,
        );
        const gap = Number.isFinite(ours.minGapMs) ? `${ms(ours.minGapMs)} ms` : 'n/a';
        console.log(`  chat messages posted: ${ours.messages} for ${ours.stored.toLocaleString('en')} lines; shortest gap between two: ${gap}`);
        console.log(
          `  aim: ≤ 2× raw ssh: ${verdict(ours.ms / raw, 2)}; RSS ≤ 200 MB: ${verdict(mb(ours.peakRssMiB), 200)}; ≤ 1 chat message/s: ${verdict(1000 / ours.minGapMs, 1)}`,
        );
        const on = database === 'sqlite' ? '' : ` (${database})`;
        figure({
          name: `${LINES / 1000}k lines until stored${on}`,
          value: ours.ms,
          unit: 'ms',
          baseline: { name: 'ssh > file', value: raw },
          goal: { ratio: 2 },
        });
        figure({
          name: `per-line part${on}`,
          value: ((ours.ms - one.ms) * 1e6) / LINES,
          unit: 'ns/line',
          baseline: { name: 'ssh', value: ((raw - sshOne) * 1e6) / LINES },
        });
        figure({
          name: `CPU time of the deploy${on}`,
          value: ours.cpuMs,
          unit: 'ms',
          note: 'user + system of the Shepherd process: steadier than wall time on a shared machine',
        });
        figure({ name: `peak RSS${on}`, value: mb(ours.peakRssMiB), unit: 'MB', goal: { max: 200 } });
        if (ours.stored !== LINES) throw new Error(`stored ${ours.stored} of ${LINES} lines on ${database}`);
      }
      await printStages();
    } finally {
      await sshd.stop();
      rmSync(work, { recursive: true, force: true });
    }
  },
};

if (process.env.BENCH_LOGS_ROLE === 'shepherd') {
  shepherdRole(JSON.parse(process.env.BENCH_LOGS_TARGET ?? '{}') as Target).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
