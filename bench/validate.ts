/**
 * Benchmark section `validate`: the automatic rollback of a validation window. 20 loopback hosts, real sshds
 * (127.0.0.2..21, each its own deploy root), each with an HTTP health server on the same address that serves
 * the release its `current` points at; `validate: { url: http://{host}:PORT/health, every: 1s, max_failures: 1 }`.
 * While deploy B validates, one host starts answering 502: measured is the time from that host's first failing
 * answer to every host's `current` being on the previous release again (the last host switched back), next to
 * a manual `rollback` of the same 20 hosts (request to every host switched), against the goal
 * ≤ 2 check intervals + the manual rollback's time.
 *
 *   npm run bench -- validate        # BENCH_VALIDATE_HOSTS=20 BENCH_VALIDATE_RUNS=3 BENCH_VALIDATE_EVERY=1s
 */
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../src/duration.js';
import type { DeployEvent } from '../src/deploy/events.js';
import { freePort, type Sshd, sshdUnavailable, startSshd } from '../test/support/sshd.js';
import { type BenchDeployer, startBenchDeployer } from './fanout.js';
import { type BenchSection, median, ms, printTable, verdict } from './support/section.js';

const HOSTS = Number(process.env.BENCH_VALIDATE_HOSTS ?? 20);
const RUNS = Number(process.env.BENCH_VALIDATE_RUNS ?? 3);
const EVERY = process.env.BENCH_VALIDATE_EVERY ?? '1s';
const EVERY_MS = parseDuration(EVERY) ?? 1000;

/** One health server per host address: 200 with the live release, 502 once the host is broken. */
interface Health {
  servers: Server[];
  broken: string | null;
  /** When the broken host first answered 502 (performance.now()). */
  firstFailure: number | null;
}

async function startHealth(sshd: Sshd, port: number): Promise<Health> {
  const health: Health = { servers: [], broken: null, firstFailure: null };
  for (const host of sshd.hosts) {
    const server = createServer((_req, res) => {
      if (health.broken === host.host) {
        health.firstFailure ??= performance.now();
        res.statusCode = 502;
        res.end('bad gateway');
        return;
      }
      let live = 'none';
      try {
        live = readlinkSync(join(host.root, 'bench', 'current'));
      } catch {}
      res.end(live);
    });
    server.keepAliveTimeout = 60_000;
    health.servers.push(server);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host.host, resolve);
      });
    } catch (err) {
      for (const s of health.servers) s.close();
      throw err;
    }
  }
  return health;
}

/**
 * The health servers on one port free on every host address: a port free on the first address can be taken on
 * another (a run once died here with EADDRINUSE on 127.0.0.8), so a port that fails anywhere is given up for another.
 */
async function startHealthAnywhere(sshd: Sshd): Promise<{ port: number; health: Health }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort('127.0.0.2');
    try {
      return { port, health: await startHealth(sshd, port) };
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt === 10) throw err;
    }
  }
}

function onAll(sshd: Sshd, releaseId: string): boolean {
  return sshd.hosts.every((h) => {
    try {
      return readlinkSync(join(h.root, 'bench', 'current')) === `releases/${releaseId}`;
    } catch {
      return false;
    }
  });
}

function waitEvent(bench: BenchDeployer, match: (e: DeployEvent) => boolean): Promise<DeployEvent> {
  return new Promise((resolve) => {
    const off = bench.events.subscribe((e) => {
      if (match(e)) {
        off();
        resolve(e);
      }
    });
  });
}

export const validate: BenchSection = {
  name: 'validate',
  summary: `automatic rollback after a failing HTTP check on 1 of ${HOSTS} sshd hosts (every ${EVERY}) vs a manual rollback of the same hosts`,
  async run() {
    const missing = sshdUnavailable();
    if (missing) throw new Error(missing);
    const sshd = await startSshd({ hosts: HOSTS });
    const { port, health } = await startHealthAnywhere(sshd);
    const work = mkdtempSync(join(tmpdir(), 'shepherd-validate-'));
    const bench = await startBenchDeployer(
      JSON.stringify({
        apps: {
          val: {
            repo_url: '/nonexistent',
            deploy_to: `${sshd.deployTo}/bench`,
            keep_releases: 10,
            ssh: { user: 'root', private_key_path: sshd.clientKey },
            steps: ['echo "built $SHEPHERD_SHA" > artifact'],
            environments: {
              bench: {
                hosts: sshd.hosts.map((h) => h.entry),
                concurrency: HOSTS,
                lock_after_rollback: false,
                validate: { for: '10m', every: EVERY, url: `http://{host}:${port}/health`, max_failures: 1 },
              },
            },
          },
        },
      }),
    );
    let n = 0;
    const deploy = async () => {
      const sha = `${String(n++).padStart(4, '0')}${'b'.repeat(36)}`;
      const r = await bench.deployer.request({
        app: 'val',
        environment: 'bench',
        ref: 'main',
        sha,
        requester: bench.user,
        provider: 'shell',
        room: { room: 'bench' },
      });
      if (r.outcome !== 'started') throw new Error(`deploy did not start: ${r.outcome}`);
      return r.deploy;
    };
    /** A release that stays: deployed, its validation cancelled once it is under way. */
    const kept = async () => {
      const d = await deploy();
      await waitEvent(bench, (e) => e.type === 'validation' && e.deployId === d.id);
      await bench.deployer.cancel(d.id, 'bench');
      await bench.deployer.waitFor(d.id);
      const final = await bench.store.deploys.get(d.id);
      if (final?.state !== 'succeeded') throw new Error(`#${d.id} ${final?.state}: ${final?.error}`);
      return final;
    };
    const auto: number[] = [];
    const manual: number[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        // Automatic: A is live, B validates, one host breaks.
        const a = await kept();
        const b = await deploy();
        await waitEvent(bench, (e) => e.type === 'validation' && e.deployId === b.id && e.failing.length === 0);
        let lastSwitch = 0;
        const off = bench.events.subscribe((e) => {
          if (e.type === 'host' && e.deployId === b.id && e.state === 'rolled_back') lastSwitch = performance.now();
        });
        health.firstFailure = null;
        health.broken = sshd.hosts[Math.floor(HOSTS / 3)]!.host;
        await bench.deployer.waitFor(b.id);
        off();
        health.broken = null;
        const ended = await bench.store.deploys.get(b.id);
        if (ended?.state !== 'failed' || !onAll(sshd, a.releaseId))
          throw new Error(`#${b.id} ${ended?.state} (${ended?.error}); not every host back on ${a.releaseId}`);
        auto.push(lastSwitch - (health.firstFailure ?? Number.NaN));

        // Manual: C is live (A before it), `rollback` to A.
        await kept();
        const target = await bench.store.deploys.rollbackTarget('val', 'bench');
        if (!target) throw new Error('nothing to roll back to');
        const started = performance.now();
        const r = await bench.deployer.request({
          app: 'val',
          environment: 'bench',
          ref: target.target.ref,
          sha: target.target.sha,
          kind: 'rollback',
          releaseId: target.target.releaseId,
          requester: bench.user,
          provider: 'shell',
          room: { room: 'bench' },
        });
        if (r.outcome !== 'started') throw new Error(`rollback did not start: ${r.outcome}`);
        await bench.deployer.waitFor(r.deploy.id);
        manual.push(performance.now() - started);
        if (!onAll(sshd, target.target.releaseId)) throw new Error('the manual rollback did not switch every host');
      }
    } finally {
      await bench.close();
      for (const s of health.servers) await new Promise((resolve) => s.close(resolve));
      await sshd.stop();
      rmSync(work, { recursive: true, force: true });
    }
    const [autoMs, manualMs] = [median(auto), median(manual)];
    const goal = 2 * EVERY_MS + manualMs;
    printTable([
      ['', 'ms (median)', 'runs'],
      [`automatic: first 502 → all ${HOSTS} hosts back`, ms(autoMs), auto.map((t) => ms(t)).join(' ')],
      [`manual rollback: request → all ${HOSTS} switched`, ms(manualMs), manual.map((t) => ms(t)).join(' ')],
      [`goal: 2 × ${EVERY} + manual rollback`, ms(goal), ''],
    ]);
    console.log(`  automatic ≤ goal: ${verdict(autoMs, goal)} (max_failures 1: the second failing round, at most one interval later, rolls back)`);
  },
};
