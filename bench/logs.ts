/**
 * Benchmark section `logs`: one host (a real sshd on loopback) prints BENCH_LOGS_LINES lines (500k) in one step.
 * Shepherd: the whole pipeline — ssh2 → LineSplitter → Masker → DeployEvents → LogWriter batches in SQLite —
 * timed from the deploy request until every line is stored (the deploy only ends after its lines are written),
 * in a child process of its own so its peak RSS (VmHWM) is its own. Baseline: `ssh host cmd > file` with
 * OpenSSH. Also counted: the chat messages the deploy posted (the log stays out of chat).
 *
 *   npm run bench -- logs          # BENCH_LOGS_LINES=500000
 */
import { execFile, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sshdUnavailable, startSshd } from '../test/support/sshd.js';
import { startBenchDeployer } from './fanout.js';
import { type BenchSection, ms, printTable, ratio, verdict } from './support/section.js';

const SELF = fileURLToPath(import.meta.url);
const LINES = Number(process.env.BENCH_LOGS_LINES ?? 500_000);
/** A build-log-like line (~80 characters), numbered. */
const COMMAND = `seq -f '%.0f npm info lifecycle build~prepare: compiling src/components/module.ts (ok)' 1 ${LINES}`;

interface Target {
  entry: string;
  key: string;
  deployTo: string;
}

interface ShepherdFigures {
  ms: number;
  stored: number;
  messages: number;
  minGapMs: number;
  idleRssMiB: number;
  peakRssMiB: number;
}

function vm(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Child process: runs one deploy whose step prints LINES lines, reports figures over IPC. */
async function shepherdRole(target: Target): Promise<void> {
  const bench = await startBenchDeployer(
    JSON.stringify({
      apps: {
        logs: {
          repo_url: '/nonexistent',
          deploy_to: target.deployTo,
          ssh: { user: 'root', private_key_path: target.key },
          steps: [COMMAND],
          environments: { bench: { hosts: [target.entry] } },
        },
      },
    }),
  );
  const idle = vm('VmRSS');
  const started = performance.now();
  const r = await bench.deployer.request({
    app: 'logs',
    environment: 'bench',
    ref: 'main',
    sha: 'b'.repeat(40),
    requester: bench.user,
    provider: 'shell',
    room: { room: 'bench' },
  });
  if (r.outcome !== 'started') throw new Error(`deploy did not start: ${r.outcome}`);
  await bench.deployer.waitFor(r.deploy.id);
  const elapsed = performance.now() - started;
  const d = await bench.store.deploys.get(r.deploy.id);
  if (d?.state !== 'succeeded') throw new Error(`deploy ${d?.state}: ${d?.error}`);
  const stored = (await bench.store.db.logLine.count({ where: { deployId: d.id, stream: 'stdout' } })) as number;
  await bench.deployer.idle();
  const figures: ShepherdFigures = { ms: elapsed, stored, messages: bench.messages(), minGapMs: bench.minGapMs(), idleRssMiB: idle, peakRssMiB: vm('VmHWM') };
  await bench.close();
  process.send?.(figures);
}

function measureShepherd(target: Target): Promise<ShepherdFigures> {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_LOGS_ROLE: 'shepherd', BENCH_LOGS_TARGET: JSON.stringify(target) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m) => resolve(m as ShepherdFigures));
    child.once('exit', (code) => reject(new Error(`shepherd child exited (${code}) without figures`)));
  });
}

function measureSsh(host: string, port: number, key: string, out: string): Promise<number> {
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
        COMMAND,
        out,
      ],
      (err) => (err ? reject(err) : resolve(performance.now() - started)),
    );
  });
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
      const sshMs = await measureSsh(host.host, host.port, sshd.clientKey, out);
      const sshLines = readFileSync(out, 'utf8').split('\n').length - 1;
      const ours = await measureShepherd({ entry: host.entry, key: sshd.clientKey, deployTo: sshd.deployTo });
      const sshMs2 = await measureSsh(host.host, host.port, sshd.clientKey, out);
      const raw = Math.min(sshMs, sshMs2);
      printTable([
        ['', 'ms', 'lines', 'ratio'],
        ['ssh host cmd > file', ms(raw), String(sshLines), ''],
        ['shepherd (all stored)', ms(ours.ms), String(ours.stored), ratio(ours.ms, raw)],
      ]);
      const seconds = ours.ms / 1000;
      console.log(`  ${Math.round(ours.stored / seconds).toLocaleString('en')} lines/s stored; ${(statSync(out).size / 1024 / 1024).toFixed(1)} MiB of output`);
      console.log(`  shepherd RSS: ${ours.idleRssMiB.toFixed(0)} MiB before, peak ${ours.peakRssMiB.toFixed(0)} MiB (whole process, VmHWM)`);
      const gap = Number.isFinite(ours.minGapMs) ? `${ms(ours.minGapMs)} ms` : 'n/a';
      console.log(`  chat messages posted: ${ours.messages} for ${ours.stored.toLocaleString('en')} lines; shortest gap between two: ${gap}`);
      console.log(
        `  aim: ≤ 2× raw ssh: ${verdict(ours.ms / raw, 2)}; RSS ≤ 200 MB: ${verdict(ours.peakRssMiB, 200)}; ≤ 1 chat message/s: ${verdict(1000 / ours.minGapMs, 1)}`,
      );
      if (ours.stored !== LINES) throw new Error(`stored ${ours.stored} of ${LINES} lines`);
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
