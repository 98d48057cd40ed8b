/**
 * Liveness by heartbeat across processes: two real Shepherd processes on one database (SQLite file or PostgreSQL). The second one's
 * start and its periodic recovery leave the first one's live deploy alone (and queue behind it, never run two
 * on one environment); once the first is killed (-9), the second marks its deploy interrupted after 3 missed
 * heartbeats, frees the lock, tells the channel, and starts the deploy queued behind it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BotProcess, killGroup, startBotProcess } from '../support/bot-process.js';
import { queryRows, type TempDatabase, tempDatabase } from '../support/db.js';
import { makeRepo } from './harness.js';

interface Row {
  id: number;
  state: string;
  ownerId: string | null;
  heartbeatAt: number | null;
  finishedAt: number | null;
  error: string | null;
}

describe('two Shepherd processes on one database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-liveness-'));
  const repo = makeRepo();
  const bots: BotProcess[] = [];
  const steps: number[] = [];
  let database: TempDatabase;
  beforeAll(async () => {
    database = await tempDatabase();
  });
  afterAll(async () => {
    for (const b of bots) if (b.child.exitCode === null) b.child.kill('SIGKILL');
    for (const pid of steps) killGroup(pid);
    repo.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a deploy running in A THEN B leaves it alone and queues; WHEN A is killed THEN B interrupts it after 3 heartbeats, frees the lock and runs the next', async () => {
    repo.commit('first');
    const config = join(dir, 'shepherd.yml');
    writeFileSync(
      config,
      JSON.stringify({
        release_managers: ['shell:*'],
        heartbeat_interval: '1s',
        apps: {
          slow: {
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: join(dir, 'deploy'),
            steps: ['echo $$ > "../../step-$SHEPHERD_DEPLOY_ID.pid"; sleep 300'],
            environments: { staging: { hosts: ['localhost'] } },
          },
        },
      }),
    );
    const env = { SHEPHERD_CONFIG: config, ...database.env, LOG_LEVEL: 'warn', WEB_BASE_URL: 'http://viewer.test', WEB_PORT: '0' };
    const pidOf = (id: number) => {
      const f = join(dir, 'deploy', `step-${id}.pid`);
      return existsSync(f) ? Number(readFileSync(f, 'utf8')) || null : null;
    };
    // SQLite: Prisma keeps DateTime as text (or epoch ms, depending on the version); PostgreSQL: a Date. All read as ms here.
    const ms = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(String(v)));
    const row = async (id: number): Promise<Row | undefined> => {
      const [r] = await queryRows(
        database.url,
        `SELECT "id", "state", "ownerId", "heartbeatAt", "finishedAt", "error" FROM "Deploy" WHERE "id" = ${Number(id)}`,
      );
      return r ? ({ ...r, heartbeatAt: ms(r.heartbeatAt), finishedAt: ms(r.finishedAt) } as Row) : undefined;
    };
    const a = startBotProcess(env);
    bots.push(a);
    a.say('deploy slow');
    await vi.waitFor(() => expect(pidOf(1)).toBeTruthy(), { timeout: 60_000, interval: 50 });
    steps.push(pidOf(1)!);
    const ownerA = (await row(1))!.ownerId;
    expect(await row(1)).toMatchObject({ state: 'running' });
    expect(ownerA).toBeTruthy();

    // B starts on the same database while A's deploy runs, and asks for the same environment.
    const b = startBotProcess(env);
    bots.push(b);
    b.say('deploy slow');
    await b.waitFor(/#2 .*queued behind #1/);
    // Let B's recovery run for more than 3 heartbeat intervals while A lives (measured on A's heartbeats).
    const seen = (await row(1))!.heartbeatAt!;
    await vi.waitFor(async () => expect((await row(1))!.heartbeatAt! - seen).toBeGreaterThan(3_500), { timeout: 60_000, interval: 100 });
    expect(await row(1)).toMatchObject({ state: 'running', ownerId: ownerA });
    expect(await row(2)).toMatchObject({ state: 'queued' });
    expect(pidOf(2)).toBeNull();

    // A dies without a word. B notices the silence and takes over the queue.
    const lastBeat = (await row(1))!.heartbeatAt!;
    a.child.kill('SIGKILL');
    await a.exited;
    await vi.waitFor(async () => expect((await row(1))?.state).toBe('interrupted'), { timeout: 60_000, interval: 100 });
    const interrupted = (await row(1))!;
    expect(interrupted.error).toBe('the bot stopped while this deploy ran');
    // Only once the heartbeat was stale: 3 intervals of 1 s after A's last one.
    expect(interrupted.finishedAt! - lastBeat).toBeGreaterThanOrEqual(3_000);
    await b.waitFor(/⚠️ #1 slow\/HEAD \([0-9a-f]{7}\) → staging was interrupted: the bot stopped while it ran\. The lock is free/);
    // The queued deploy starts in B, holding the lock alone.
    await vi.waitFor(() => expect(pidOf(2)).toBeTruthy(), { timeout: 60_000, interval: 50 });
    steps.push(pidOf(2)!);
    const second = (await row(2))!;
    expect(second.state).toBe('running');
    expect(second.ownerId).not.toBe(ownerA);
    expect(await queryRows(database.url, 'SELECT "deployId" FROM "Lock"')).toEqual([{ deployId: 2 }]);

    // B stops gracefully: its deploy is interrupted, the lock freed, and it exits 0.
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect((await row(2))?.state).toBe('interrupted');
    expect(await queryRows(database.url, 'SELECT CAST(count(*) AS INTEGER) AS n FROM "Lock"')).toEqual([{ n: 0 }]);
  }, 240_000);
});
