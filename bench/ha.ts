/**
 * Benchmark section `ha`: three Shepherd processes, each started as `npm start` starts it (the compiled build,
 * made fresh first; each with its own web port and data folder) on one PostgreSQL, deploying 5 apps (one
 * `staging` environment each) to a real sshd host. 100 deploys are asked through the instances' terminal chats
 * (the shell adapter on piped stdin, round robin over the three), all at once; once half of them have ended, the
 * instance running the most deploys is killed with SIGKILL. A viewer (SSE, as a browser) follows every deploy on
 * an instance other than the one running it.
 *
 * Measured: deploys run twice on the host (must be 0), deploys lost (asked and recorded but never ended, must be
 * 0), live deploys of a live instance taken for dead (must be 0), overlapping runs on one app/environment (must
 * be 0), time from the kill until the dead instance's deploys are `interrupted` and until the queue moves on
 * (goal ≤ 3 heartbeats), and live-line lag (printed on the host → parsed by a viewer on another instance, p50 /
 * p99, goal p99 ≤ 250 ms), with where each line waited (bench/support/line-legs.ts: every instance preloads
 * bench/support/line-probe.mjs, which records the `shepherd:live-line` trace and its event-loop delay).
 *
 * BENCH_HA_START=sources runs the instances from their sources through tsx instead (as the tests do);
 * BENCH_HA_START=sources,build runs the whole section once each way, one after the other, to compare them.
 *
 *   npm run bench -- ha          # BENCH_HA_DEPLOYS=100 BENCH_HA_HEARTBEAT=3s BENCH_HA_START=build BENCH_HA_PROFILES=
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { parseDuration } from '../src/duration.js';
import { makeRepo } from '../test/deploy/harness.js';
import { clusterConfig, type Instance, overlaps, pgRows, runHistory, SOURCE_ARGS, startCluster } from '../test/postgresql/cluster.js';
import { startPostgres } from '../test/support/postgres.js';
import { startSshd } from '../test/support/sshd.js';
import { openSse, type SseConnection } from '../test/web/sse-client.js';
import { lineLegs, printLegs, readProbe, type SeenLine } from './support/line-legs.js';
import { freshBuild, npmStartArgs } from './support/npm-start.js';
import { type BenchSection, ms, percentile, printTable, verdict } from './support/section.js';

const DEPLOYS = Number(process.env.BENCH_HA_DEPLOYS ?? 100);
const HEARTBEAT = process.env.BENCH_HA_HEARTBEAT ?? '3s';
const STARTS = (process.env.BENCH_HA_START ?? 'build').split(',') as ('build' | 'sources')[];
const APPS = 5;
const STALL_MS = 60_000;
/** A folder for CPU profiles of the instances, 10 s slices each (bench/support/line-probe.mjs). */
const PROFILES = process.env.BENCH_HA_PROFILES;
const PROBE = pathToFileURL(join(import.meta.dirname, 'support', 'line-probe.mjs')).href;
const FINAL = ['succeeded', 'failed', 'cancelled', 'interrupted'];

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

export const ha: BenchSection = {
  name: 'ha',
  summary: `three instances on one PostgreSQL, ${DEPLOYS} deploys over sshd, one instance SIGKILLed mid-way`,
  async run() {
    for (const start of STARTS) {
      if (start !== 'build' && start !== 'sources') throw new Error(`BENCH_HA_START: ${start} is neither build nor sources`);
      if (start === 'build') await freshBuild((why) => console.log(`  building Shepherd (${why})...`));
      if (STARTS.length > 1) console.log(`  -- instances started from ${start === 'build' ? 'the build (npm start)' : 'the sources (tsx)'}`);
      await once(start);
    }
  },
};

async function once(start: 'build' | 'sources'): Promise<void> {
  const heartbeatMs = parseDuration(HEARTBEAT) ?? 3_000;
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-bench-ha-'));
  const ran = join(dir, 'ran');
  const repo = makeRepo();
  repo.commit('first');
  const [server, sshd] = await Promise.all([startPostgres(), startSshd({ hosts: 1 })]);
  const url = server.url('postgres');
  const instances: Instance[] = [];
  const viewers = new Map<number, SseConnection>();
  const db = new pg.Client({ connectionString: url });
  try {
    const config = clusterConfig(join(dir, 'shepherd.yml'), {
      apps: APPS,
      repoUrl: repo.bare,
      deployTo: sshd.deployTo,
      key: sshd.clientKey,
      hosts: sshd.hosts.map((h) => h.entry),
      heartbeat: HEARTBEAT,
      // Each line carries the host's clock (ms) so a viewer can tell how late it sees it.
      steps: [
        `echo "$SHEPHERD_DEPLOY_ID" >> ${JSON.stringify(ran)}; sleep 0.5; for i in 1 2 3 4 5 6 7 8 9 10; do echo "t=$(date +%s%3N) line $i"; sleep 0.1; done`,
      ],
    });
    const nodeArgs = ['--import', PROBE, ...(start === 'build' ? npmStartArgs() : SOURCE_ARGS)];
    const probeFile = (name: string) => join(dir, `probe-${name}.jsonl`);
    instances.push(
      ...(await startCluster({
        url,
        config,
        dir,
        count: 3,
        nodeArgs,
        instanceEnv: (name) => ({
          SHEPHERD_LINE_PROBE: probeFile(name),
          ...(PROFILES ? { SHEPHERD_CPU_PROFILE: join(PROFILES, `${start}-${name}`) } : {}),
        }),
      })),
    );
    await db.connect();
    const pidOf = (owner: string | null) => Number(owner?.split(':').at(-2));
    const alive = () => instances.filter((i) => i.child.exitCode === null && i.child.signalCode === null);

    // Viewers: each running deploy is followed on an instance other than its owner.
    const seen: SeenLine[] = [];
    const follow = (id: number, owner: string | null) => {
      if (viewers.has(id)) return;
      const others = alive().filter((i) => i.child.pid !== pidOf(owner));
      const on = others[id % Math.max(1, others.length)];
      if (!on) return;
      let openedAt = Number.POSITIVE_INFINITY;
      const c = openSse(`${on.web}/deploys/${id}/events`, {
        onOpen: () => {
          openedAt = Date.now();
        },
        onEvent: (e) => {
          if (e.event !== 'line') return;
          const parsed = Date.now();
          const data = JSON.parse(e.data) as { seq: number; text: string; at: string };
          const m = /t=(\d{13}) line/.exec(data.text);
          // Only lines printed after the viewer connected: those are live, not catch-up.
          if (m && Number(m[1]) > openedAt)
            seen.push({ deployId: id, seq: data.seq, viewer: on.name, printed: Number(m[1]), received: Date.parse(data.at), parsed });
        },
      });
      c.ended.catch(() => {});
      viewers.set(id, c);
    };

    const started = Date.now();
    for (let n = 0; n < DEPLOYS; n++) (instances[n % 3] as Instance).say(`deploy svc${(n % APPS) + 1}`);
    let killedAt = 0;
    let victim: Instance | undefined;
    let victimRunning: number[] = [];
    let rows: { id: number; app: string; state: string; ownerId: string | null }[] = [];
    // A queue that stops moving (no deploy changes state for STALL_MS) ends the wait: its deploys count as lost.
    let lastChange = Date.now();
    let lastStates = '';
    for (;;) {
      rows = (await db.query('SELECT "id", "app", "state", "ownerId" FROM "Deploy" ORDER BY "id"')).rows;
      const states = rows.map((r) => r.state).join();
      if (states !== lastStates) {
        lastStates = states;
        lastChange = Date.now();
      }
      for (const r of rows) if (r.state === 'running') follow(r.id, r.ownerId);
      const ended = rows.filter((r) => FINAL.includes(r.state)).length;
      if (!victim && rows.length === DEPLOYS && ended >= DEPLOYS / 2) {
        // The instance running the most deploys now dies without a word.
        const running = rows.filter((r) => r.state === 'running');
        victim = [...alive()].sort(
          (a, b) => running.filter((r) => pidOf(r.ownerId) === b.child.pid).length - running.filter((r) => pidOf(r.ownerId) === a.child.pid).length,
        )[0];
        victimRunning = running.filter((r) => pidOf(r.ownerId) === victim?.child.pid).map((r) => r.id);
        killedAt = Date.now();
        victim?.child.kill('SIGKILL');
        await victim?.exited;
      }
      if (victim && ended === DEPLOYS) break;
      if (Date.now() - started > 30 * 60_000) break;
      if (Date.now() - lastChange > STALL_MS) {
        const stuck = rows.filter((r) => !FINAL.includes(r.state));
        const locks = (await db.query('SELECT l."app", l."deployId" FROM "Lock" l JOIN "Deploy" d ON d."id" = l."deployId" WHERE d."state" = ANY($1)', [FINAL]))
          .rows;
        const held = locks.length ? `; locks still held for ended deploys: ${locks.map((l) => `${l.app} by #${l.deployId}`).join(', ')}` : '';
        console.log(`  STALLED: nothing changed for ${STALL_MS / 1000} s; not ended: ${stuck.map((r) => `#${r.id} ${r.app} ${r.state}`).join(', ')}${held}`);
        break;
      }
      await sleep(100);
    }
    const took = Date.now() - started;
    const lags = seen.map((l) => l.parsed - l.printed);

    // Figures.
    const ranIds = readFileSync(ran, 'utf8').trim().split('\n').filter(Boolean).map(Number);
    const counts = new Map<number, number>();
    for (const id of ranIds) counts.set(id, (counts.get(id) ?? 0) + 1);
    const twice = [...counts.values()].filter((n) => n > 1).length;
    const all = await pgRows<{ id: number; app: string; state: string; ownerId: string | null; startedAt: Date | null; finishedAt: Date | null }>(
      url,
      'SELECT "id", "app", "state", "ownerId", "startedAt", "finishedAt" FROM "Deploy" ORDER BY "id"',
    );
    const lost = DEPLOYS - all.filter((r) => FINAL.includes(r.state)).length;
    const interrupted = all.filter((r) => r.state === 'interrupted');
    const wrongly = interrupted.filter((r) => !victimRunning.includes(r.id)).length;
    const victims = all.filter((r) => victimRunning.includes(r.id));
    const interruptMs = Math.max(...victims.map((r) => (r.finishedAt?.getTime() ?? Number.NaN) - killedAt));
    // The queue moves on: the next deploy of each app whose deploy died starts.
    const movedOn = victims.map((v) => {
      const next = all.filter((r) => r.app === v.app && r.id !== v.id && r.startedAt && r.startedAt.getTime() >= (v.finishedAt?.getTime() ?? 0));
      const first = Math.min(...next.map((r) => (r.startedAt as Date).getTime()));
      return first - killedAt;
    });
    const moveOnMs = movedOn.length ? Math.max(...movedOn) : Number.NaN;
    const overlapping = overlaps(await runHistory(url)).length;
    const states = new Map<string, number>();
    for (const r of all) states.set(r.state, (states.get(r.state) ?? 0) + 1);

    console.log(
      `  ${DEPLOYS} deploys (${[...states].map(([s, n]) => `${n} ${s}`).join(', ')}) in ${(took / 1000).toFixed(0)} s; heartbeat ${heartbeatMs} ms; ` +
        `killed ${victim?.name} running ${victimRunning.length} (#${victimRunning.join(', #')}); load ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores`,
    );
    printTable([
      ['figure', 'value', 'goal', 'verdict'],
      ['deploys run twice', String(twice), '0', verdict(twice, 0)],
      ['deploys lost', String(lost), '0', verdict(lost, 0)],
      ['live deploys taken for dead', String(wrongly), '0', verdict(wrongly, 0)],
      ['overlapping runs per app/env', String(overlapping), '0', verdict(overlapping, 0)],
      ['kill → interrupted (ms)', ms(interruptMs), `≤ ${3 * heartbeatMs}`, verdict(interruptMs, 3 * heartbeatMs)],
      ['kill → interrupted (heartbeats)', (interruptMs / heartbeatMs).toFixed(2), '≤ 3', verdict(interruptMs / heartbeatMs, 3)],
      ['kill → queue moved on (ms)', ms(moveOnMs), `≤ ${3 * heartbeatMs}`, verdict(moveOnMs, 3 * heartbeatMs)],
      [`live-line lag p50 (ms, ${lags.length} lines)`, ms(percentile(lags, 50)), '', ''],
      ['live-line lag p99 (ms)', ms(percentile(lags, 99)), '≤ 250', verdict(percentile(lags, 99), 250)],
    ]);
    console.log(`  where live lines waited (instances from ${start === 'build' ? 'the build, as npm start' : 'the sources, through tsx'}):`);
    printLegs(lineLegs(seen, Object.fromEntries(instances.map((i) => [i.name, readProbe(probeFile(i.name))]))));
  } finally {
    for (const v of viewers.values()) v.close();
    for (const i of instances) if (i.child.exitCode === null) i.child.kill('SIGKILL');
    await Promise.all(instances.map((i) => i.exited));
    await db.end().catch(() => {});
    await sshd.stop();
    await server.stop();
    repo.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
