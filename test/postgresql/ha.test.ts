/**
 * Several Shepherd processes on one real PostgreSQL, deploying over a real sshd: each started as an operator
 * would (own web port, own data folder, the terminal chat), heartbeat 3 s.
 * - two instances, 50 deploys asked on both at once across 5 apps: each runs exactly once, all succeed, and no
 *   two ever ran on one app/environment (the database's running intervals, and a guard directory on the host);
 * - a viewer on B follows a deploy A runs, live (lines while it still runs), every line once, in order, to the end;
 * - three instances: A is killed (-9) while it runs a deploy with two more queued (asked on B and C): one live
 *   instance marks it interrupted (not before 3 heartbeats), frees the lock, tells its channel, and the queue
 *   moves on there.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo } from '../deploy/harness.js';
import { type Postgres, PostgresMissing, postgresAvailable, startPostgres } from '../support/postgres.js';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { openSse, type SseEvent } from '../web/sse-client.js';
import { waitUntil } from '../support/wait.js';
import { clusterConfig, type Instance, overlaps, pgRows, runHistory, startCluster } from './cluster.js';

const noPostgres = !postgresAvailable() && !process.env.CI;
if (noPostgres) console.warn(`skipping: ${new PostgresMissing().message}`);
const skip = noPostgres || skipWithoutSshd();
// 3 s: on two shared cores at load 20+ a process can go 6 s without running its timers; 3 missed beats = 9 s.
const HEARTBEAT_MS = 3_000;

describe.skipIf(skip)('several instances on one PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-ha-'));
  const guard = join(dir, 'guard');
  const hold = join(dir, 'hold');
  const ran = join(dir, 'ran');
  const repo = makeRepo();
  let server: Postgres;
  let sshd: Sshd;
  let config: string;
  const instances: Instance[] = [];

  beforeAll(async () => {
    mkdirSync(guard);
    mkdirSync(hold);
    repo.commit('first');
    [server, sshd] = await Promise.all([startPostgres(), startSshd({ hosts: 1 })]);
    const G = JSON.stringify(guard);
    const H = JSON.stringify(hold);
    config = clusterConfig(join(dir, 'shepherd.yml'), {
      apps: 5,
      repoUrl: repo.bare,
      deployTo: sshd.deployTo,
      key: sshd.clientKey,
      hosts: sshd.hosts.map((h) => h.entry),
      heartbeat: `${HEARTBEAT_MS}ms`,
      steps: [
        [
          // A deploy the test wants to keep running (until its instance is killed) holds here, outside the guard.
          `if [ -e ${H}/hold-$SHEPHERD_APP ]; then rm -f ${H}/hold-$SHEPHERD_APP; echo holding; exec sleep 60; fi`,
          // Two deploys of one app at once on the host would meet here.
          `mkdir ${G}/$SHEPHERD_APP || { echo "OVERLAP on $SHEPHERD_APP"; exit 1; }`,
          `echo "$SHEPHERD_DEPLOY_ID" >> ${JSON.stringify(ran)}`,
          `if [ -e ${H}/gate-$SHEPHERD_APP ]; then rm -f ${H}/gate-$SHEPHERD_APP; echo first; while [ ! -e ${H}/open ]; do sleep 0.05; done; echo last; fi`,
          'echo "deploy $SHEPHERD_DEPLOY_ID of $SHEPHERD_APP"; sleep 0.1',
          `rmdir ${G}/$SHEPHERD_APP`,
        ].join('\n'),
      ],
    });
    instances.push(...(await startCluster({ url: server.url('postgres'), config, dir, count: 2 })));
  }, 180_000);

  afterAll(async () => {
    for (const i of instances) if (i.child.exitCode === null) i.child.kill('SIGKILL');
    await Promise.all(instances.map((i) => i.exited));
    await sshd?.stop();
    await server?.stop();
    repo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = () => server.url('postgres');
  const deployRow = async (id: number) =>
    (
      await pgRows<{ state: string; ownerId: string | null; heartbeatAt: Date | null; finishedAt: Date | null; error: string | null }>(
        url(),
        'SELECT "state", "ownerId", "heartbeatAt", "finishedAt", "error" FROM "Deploy" WHERE "id" = $1',
        [id],
      )
    )[0];
  const maxId = async () => Number((await pgRows<{ n: number | null }>(url(), 'SELECT max("id") AS n FROM "Deploy"'))[0]?.n ?? 0);
  const ranIds = () => (existsSync(ran) ? readFileSync(ran, 'utf8').trim().split('\n').filter(Boolean).map(Number) : []);

  it('GIVEN two instances WHEN 50 deploys are asked on both at once THEN each runs once, all succeed, never two on one app/environment', async () => {
    const [a, b] = instances as [Instance, Instance];
    for (let n = 0; n < 50; n++) (n % 2 === 0 ? a : b).say(`deploy svc${(n % 5) + 1}`);
    await waitUntil(
      'the 50 deploys to end',
      async () => {
        const [row] = await pgRows<{ total: number; done: number }>(
          url(),
          `SELECT CAST(count(*) AS INTEGER) AS total, CAST(count(*) FILTER (WHERE "state" NOT IN ('queued', 'running')) AS INTEGER) AS done FROM "Deploy"`,
        );
        return row?.total === 50 && row.done === 50;
      },
      // Two quiet cores take about a minute; a machine shared at load 25 about three.
      600_000,
    );
    const states = await pgRows<{ state: string; n: number }>(url(), 'SELECT "state", CAST(count(*) AS INTEGER) AS n FROM "Deploy" GROUP BY "state"');
    expect(states).toEqual([{ state: 'succeeded', n: 50 }]);
    const history = await runHistory(url());
    expect(history).toHaveLength(50);
    expect(overlaps(history)).toEqual([]);
    // The host saw each deploy exactly once.
    expect(ranIds().sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await pgRows(url(), 'SELECT "id" FROM "Lock"')).toEqual([]);
    expect(a.output() + b.output()).not.toMatch(/OVERLAP/);
  }, 660_000);

  it('GIVEN a deploy run by A THEN a viewer on B gets its lines live, each once and in order, and the end', async () => {
    const [a, b] = instances as [Instance, Instance];
    writeFileSync(join(hold, 'gate-svc1'), '');
    a.say('deploy svc1');
    const id = await waitUntil(
      'the deploy to be recorded',
      async () => {
        const n = await maxId();
        return n > 50 ? n : null;
      },
      60_000,
    );
    // Started where it was asked (the environment was free): A runs it.
    await waitUntil('A to run it', async () => (await deployRow(id))?.ownerId?.includes(`:${a.child.pid}:`), 60_000);
    const seen: SseEvent[] = [];
    const stream = openSse(`${b.web}/deploys/${id}/events`, { onEvent: (e) => seen.push(e) });
    const texts = () => seen.filter((e) => e.event === 'line').map((e) => JSON.parse(e.data).text as string);
    await waitUntil('the first line on B', () => texts().includes('first'), 60_000);
    // Live: B showed it while A's deploy still waits on the host.
    expect((await deployRow(id))?.state).toBe('running');
    expect(existsSync(join(hold, 'open'))).toBe(false);
    writeFileSync(join(hold, 'open'), '');
    await stream.ended;
    expect(texts()).toContain('last');
    expect(seen.at(-1)?.event).toBe('end');
    const seqs = seen.filter((e) => e.event === 'line').map((e) => Number(e.id));
    // Lines are stored in chunks of consecutive seqs (src/store/log-lines.ts).
    const chunks = await pgRows<{ firstSeq: number; lastSeq: number }>(
      url(),
      'SELECT "firstSeq", "lastSeq" FROM "LogChunk" WHERE "deployId" = $1 ORDER BY "firstSeq"',
      [id],
    );
    const stored = chunks.flatMap((c) => Array.from({ length: c.lastSeq - c.firstSeq + 1 }, (_, i) => c.firstSeq + i));
    expect(seqs).toEqual(stored);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seen.some((e) => e.event === 'state' && JSON.parse(e.data).state === 'succeeded')).toBe(true);
  }, 120_000);

  it('GIVEN three instances WHEN A is killed while it runs a deploy THEN another interrupts it after 3 heartbeats, tells the channel and runs the queue', async () => {
    const [c] = await startCluster({ url: url(), config, dir, count: 1, names: ['C'] });
    instances.push(c as Instance);
    const [a, b] = instances as [Instance, Instance, Instance];
    writeFileSync(join(hold, 'hold-svc2'), '');
    a.say('deploy svc2');
    const first = await waitUntil(
      'the held deploy to be recorded',
      async () => {
        const n = await maxId();
        return n > 51 ? n : null;
      },
      60_000,
    );
    await waitUntil(
      'it to hold on the host',
      async () =>
        (await pgRows(url(), 'SELECT 1 FROM "LogChunk" WHERE "deployId" = $1 AND chr(10) || "text" || chr(10) LIKE $2', [first, '%\nholding\n%'])).length > 0,
    );
    expect((await deployRow(first))?.ownerId).toContain(`:${a.child.pid}:`);
    const bFrom = b.output().length;
    const cFrom = c!.output().length;
    b.say('deploy svc2');
    await b.waitFor(new RegExp(`#${first + 1} .*queued behind #${first}`), 60_000, bFrom);
    c!.say('deploy svc2');
    await c!.waitFor(new RegExp(`#${first + 2} .*queued behind #${first + 1}`), 60_000, cFrom);

    const lastBeat = (await deployRow(first))!.heartbeatAt!.getTime();
    a.child.kill('SIGKILL');
    await a.exited;
    await waitUntil("the dead instance's deploy to be interrupted", async () => (await deployRow(first))?.state === 'interrupted', 60_000);
    const interrupted = (await deployRow(first))!;
    expect(interrupted.error).toBe('the bot stopped while this deploy ran');
    // Never before its heartbeat was 3 intervals old.
    expect(interrupted.finishedAt!.getTime() - lastBeat).toBeGreaterThanOrEqual(3 * HEARTBEAT_MS);
    // The queue moves on, on the live instances.
    await waitUntil(
      'the queued deploys to succeed',
      async () => {
        const rows = await pgRows<{ state: string }>(url(), 'SELECT "state" FROM "Deploy" WHERE "id" IN ($1, $2)', [first + 1, first + 2]);
        return rows.length === 2 && rows.every((r) => r.state === 'succeeded');
      },
      120_000,
    );
    for (const id of [first + 1, first + 2]) expect((await deployRow(id))?.ownerId).not.toContain(`:${a.child.pid}:`);
    // Exactly one live instance told its channel.
    const told = `${b.output().slice(bFrom)}${c!.output().slice(cFrom)}`.match(
      new RegExp(`⚠️ #${first} svc2/HEAD \\([0-9a-f]{7}\\) → staging was interrupted`, 'g'),
    );
    expect(told).toHaveLength(1);
    expect(overlaps(await runHistory(url()))).toEqual([]);
    expect(await pgRows(url(), 'SELECT "id" FROM "Lock"')).toEqual([]);
  }, 240_000);
});
