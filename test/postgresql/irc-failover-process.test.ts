/**
 * The IRC lease between two real Shepherd processes on one PostgreSQL and a real ngircd: A holds the IRC
 * connection, B stands by (ready, not connected). A is killed (-9) with a deploy running and one queued; B takes
 * the lease when it runs out (2 heartbeats), joins, tells the channel A's deploy was interrupted, runs the
 * queued one itself, and the channel gets that deploy's final message, once.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFailed, vi } from 'vitest';
import { makeRepo } from '../deploy/harness.js';
import { type BotProcess, killGroup, startBotProcess } from '../support/bot-process.js';
import { IrcPerson } from '../support/irc-client.js';
import { freePort, type Ngircd, ngircdAvailable, skipWithoutNgircd, startNgircd } from '../support/ngircd.js';
import { type Postgres, PostgresMissing, postgresAvailable, startPostgres } from '../support/postgres.js';

const missingPostgres = !postgresAvailable() && !process.env.CI;
if (missingPostgres) console.warn(`skipping: ${new PostgresMissing().message}`);
const skip = missingPostgres || (!ngircdAvailable() && skipWithoutNgircd());

describe.skipIf(skip)('the IRC lease between two Shepherd processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-irc-failover-'));
  const repo = makeRepo();
  const bots: BotProcess[] = [];
  const steps: number[] = [];
  let server: Postgres;
  let ircd: Ngircd;
  let alice: IrcPerson | undefined;

  beforeAll(async () => {
    [server, ircd] = await Promise.all([startPostgres(), startNgircd({ penalties: false })]);
  });
  afterAll(async () => {
    for (const b of bots) if (b.child.exitCode === null) b.child.kill('SIGKILL');
    for (const pid of steps) killGroup(pid);
    await alice?.quit();
    repo.close();
    await ircd?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN A holds IRC with a deploy running and one queued WHEN A is killed THEN B takes the lease, joins, and the channel gets the final message of the deploy B runs', async () => {
    onTestFailed(() => {
      for (const [i, bot] of bots.entries()) writeFileSync(`/tmp/irc-failover-${i}.log`, bot.output());
    });
    repo.commit('first');
    const config = join(dir, 'shepherd.yml');
    writeFileSync(
      config,
      JSON.stringify({
        release_managers: ['irc:alice'],
        // Lease: renewed every 1.5 s, runs out after 6 s; a deploy is stale after 9 s. (Shorter intervals make
        // A's own deploy look dead on a machine so loaded that A's heartbeat round waits seconds for the queue.)
        heartbeat_interval: '3s',
        apps: {
          slow: {
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: join(dir, 'deploy'),
            // The first deploy hangs (its instance is killed under it); the second finishes at once.
            steps: ['echo $$ > "../../step-$SHEPHERD_DEPLOY_ID.pid"; if [ "$SHEPHERD_DEPLOY_ID" = 1 ]; then sleep 300; fi; echo done'],
            environments: { staging: { hosts: ['localhost'] } },
          },
        },
      }),
    );
    const env = {
      SHEPHERD_CONFIG: config,
      DATABASE_URL: server.url('postgres'),
      SHEPHERD_DATA_DIR: join(dir, 'data'),
      LOG_LEVEL: 'info',
      WEB_BASE_URL: 'http://viewer.test',
      WEB_PORT: '0',
      IRC_SERVER: ircd.host,
      IRC_PORT: String(ircd.port),
      IRC_NICK: 'shepherd',
      IRC_CHANNELS: '#deploys',
    };
    const pidOf = (id: number) => {
      const f = join(dir, 'deploy', `step-${id}.pid`);
      return existsSync(f) ? Number(readFileSync(f, 'utf8')) || null : null;
    };
    const deploy = async (id: number) => {
      const client = new pg.Client({ connectionString: server.url('postgres') });
      await client.connect();
      try {
        const { rows } = await client.query('SELECT "state", "ownerId" FROM "Deploy" WHERE "id" = $1', [id]);
        return rows[0] as { state: string; ownerId: string } | undefined;
      } finally {
        await client.end();
      }
    };
    const person = await IrcPerson.connect({ host: ircd.host, port: ircd.port, nick: 'alice', channels: ['#deploys'] });
    alice = person;
    const fromBot = () => person.heard.filter((h) => h.from.startsWith('shepherd') && h.to === '#deploys').map((h) => h.text);
    const botJoins = () => person.seen.filter((s) => s.type === 'join' && s.nick.startsWith('shepherd')).length;
    const hear = (pattern: RegExp, what: string) => person.waitFor(() => fromBot().find((t) => pattern.test(t)), 120_000, what);

    const a = startBotProcess(env);
    bots.push(a);
    // Generous waits: a start takes a minute and more on a machine shared by many test runs.
    await person.waitFor(() => (botJoins() === 1 ? true : undefined), 180_000, 'A joining');
    const webPort = await freePort();
    const b = startBotProcess({ ...env, WEB_PORT: String(webPort) });
    bots.push(b);
    await b.waitFor(/another instance holds the IRC connection; standing by/, 180_000);
    // B is up and ready without an IRC connection of its own: its /readyz says so.
    await b.waitFor(/"msg":"ready"/, 180_000);
    const ready = await fetch(`http://127.0.0.1:${webPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', chat: { irc: 'standing by' } });
    expect(botJoins()).toBe(1);

    // Commands reach A, the holder: #1 runs there, #2 queues behind it.
    person.say('#deploys', '!deploy slow to staging');
    await vi.waitFor(() => expect(pidOf(1)).toBeTruthy(), { timeout: 120_000, interval: 50 });
    steps.push(pidOf(1) as number);
    person.say('#deploys', '!deploy slow to staging');
    await hear(/#2 .*queued behind #1/, 'the queued reply');
    const ownerA = (await deploy(1))?.ownerId;

    a.child.kill('SIGKILL');
    await a.exited;
    // B takes the lease once it runs out and joins; then A's deploy is interrupted (3 heartbeats) and B runs #2.
    await b.waitFor(/took the IRC lease over/, 120_000);
    await person.waitFor(() => (botJoins() === 2 ? true : undefined), 60_000, 'B joining');
    await hear(/#1 slow\/HEAD \([0-9a-f]{7}\) → staging was interrupted/, 'the interrupted message');
    const final = await hear(/#2 slow\/HEAD \([0-9a-f]{7}\) → staging succeeded/, 'the final message of #2');
    const second = await deploy(2);
    expect(second?.state).toBe('succeeded');
    expect(second?.ownerId).not.toBe(ownerA);
    expect(fromBot().filter((t) => t === final)).toHaveLength(1);

    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  }, 600_000);
});
