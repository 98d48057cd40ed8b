/**
 * Benchmark section `irc`: Shepherd as users run it (what `npm start` runs: `node scripts/start.mjs`, the compiled
 * build, built before the first measurement so no run pays for it) on a real ngircd, against
 * the alternative a team would otherwise run, Hubot, doing the same through the same server in the same run.
 *   (a) start-to-ready: from spawn until a person in the channel sees the bot join; median of 5.
 *   (b) `!karma` / `!status` round trips, alternating, with 100k AuditEvent rows in Shepherd's database.
 *   (c) (a) and (b) of Shepherd again on PostgreSQL (a throwaway server on loopback, the same 100k rows), reported
 *       next to SQLite's from the same run; left out with a line when PostgreSQL is not installed.
 *
 *   npm run bench -- irc            # BENCH_IRC_REQUESTS=30 by default (about 11 s per !karma+!status pair: 1 line/s)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { build, staleness } from '../scripts/build.mjs';
import { DEFAULT_PACING } from '../src/adapters/irc.js';
import { openDatabase } from '../src/store/db.js';
import { IrcPerson } from '../test/support/irc-client.js';
import { NGIRCD, type Ngircd, NgircdMissing, ngircdAvailable, startNgircd } from '../test/support/ngircd.js';
import { type BenchDatabase, benchDatabase, postgresMissing } from './support/database.js';
import { type BenchSection, figure, median, ms, percentile, printTable, ratio, verdict } from './support/section.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HUBOT_DIR = fileURLToPath(new URL('./support/hubot/', import.meta.url));
const CHANNEL = '#bench';
const COMMANDS = ['karma', 'status'] as const;
const AUDIT_ROWS = 100_000;
const READY_RUNS = 5;
const TARGET_READY_MS = 1_500;
const TARGET_P99_MS = 25;

type Command = (typeof COMMANDS)[number];

interface BotSpec {
  label: string;
  nick: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

interface RoundTrips {
  /** Milliseconds from sending the command to the first line of the answer, per command. */
  first: Record<Command, number[]>;
  /** ... to the last line of the answer. */
  full: Record<Command, number[]>;
  replies: Record<Command, string>;
  /** What the answer sent the asker by NOTICE (an answer longer than a burst goes there whole). */
  notices: Record<Command, string>;
  /** Channel lines of the answer. */
  lines: Record<Command, number>;
  /** Everything the answer costs of the output budget: channel lines and notices. */
  cost: Record<Command, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Creates and migrates the database the way the bot does, then adds `rows` audit rows in one transaction. */
async function seedDatabase(path: string, rows: number): Promise<void> {
  const { prisma } = await openDatabase(`file:${path}`);
  await prisma.$disconnect();
  const db = new Database(path);
  try {
    const insert = db.prepare(
      'INSERT INTO "AuditEvent" (userId, identity, room, command, text, outcome, detail, createdAt) VALUES (NULL, ?, ?, ?, ?, ?, NULL, ?)',
    );
    const now = Date.now();
    const commands = ['karma', 'status', 'lock', 'unlock', 'whoami', 'help', 'oncall'];
    db.transaction(() => {
      for (let i = 0; i < rows; i++) {
        const command = commands[i % commands.length] as string;
        // Prisma stores DateTime as ISO text with an explicit offset.
        const at = new Date(now - (rows - i) * 30_000).toISOString().replace('Z', '+00:00');
        insert.run(`irc:user${i % 250}`, '#deploys', command, command, i % 50 === 0 ? 'refused' : 'ok', at);
      }
    })();
  } finally {
    db.close();
  }
}

/** The same rows as seedDatabase, on PostgreSQL: migrated the way the bot does, then one INSERT … SELECT. */
async function seedPostgres(url: string, rows: number): Promise<void> {
  const { prisma } = await openDatabase(url);
  await prisma.$disconnect();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // createdAt is TIMESTAMP(3) holding UTC, as Prisma writes it.
    await client.query(
      `INSERT INTO "AuditEvent" ("userId", "identity", "room", "command", "text", "outcome", "detail", "createdAt")
       SELECT NULL, 'irc:user' || (i % 250), '#deploys', c, c, CASE WHEN i % 50 = 0 THEN 'refused' ELSE 'ok' END, NULL,
              (to_timestamp($2::double precision / 1000) AT TIME ZONE 'UTC') - ($1::int - i) * interval '30 seconds'
       FROM generate_series(0, $1::int - 1) AS i,
            LATERAL (SELECT (ARRAY['karma', 'status', 'lock', 'unlock', 'whoami', 'help', 'oncall'])[i % 7 + 1] AS c) AS cmd`,
      [rows, Date.now()],
    );
    await client.query('ANALYZE "AuditEvent"');
  } finally {
    await client.end();
  }
}

/** Spawns a bot and resolves when `watcher` sees it join CHANNEL; the time is from spawn() to that JOIN. */
async function startBot(spec: BotSpec, watcher: IrcPerson): Promise<{ child: ChildProcess; readyMs: number }> {
  const mark = watcher.seen.length;
  let stderr = '';
  const started = performance.now();
  const child = spawn(process.execPath, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`${spec.label} exited (${signal ?? code}) before joining ${CHANNEL}:\n${stderr}`)));
  });
  exited.catch(() => undefined);
  try {
    const joined = watcher.waitFor(
      () => watcher.seen.slice(mark).find((s) => s.type === 'join' && s.nick === spec.nick && s.channel === CHANNEL),
      30_000,
      `${spec.label} to join ${CHANNEL}`,
    );
    const join = await Promise.race([joined, exited]);
    return { child, readyMs: join.at - started };
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
}

/** SIGTERM, then waits for the process to exit and for the server to have dropped its nick. */
async function stopBot(child: ChildProcess, nick: string, watcher: IrcPerson): Promise<void> {
  const mark = watcher.seen.length;
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill('SIGTERM');
    });
  }
  await watcher
    .waitFor(() => (watcher.seen.slice(mark).some((s) => s.type === 'quit' && s.nick === nick) ? true : undefined), 10_000, `${nick} to quit`)
    .catch(() => undefined);
}

/**
 * A model of Shepherd's output budget (token bucket: DEFAULT_PACING), so each request is sent only once the
 * budget can carry its whole answer at once (or a full burst, for answers longer than that). Shepherd's
 * deliberate pacing then never shows in the first-line figures, nor in the whole-answer figures of answers that
 * fit in a burst. The same schedule is used for the baseline.
 */
class OutputBudget {
  private tokens: number = DEFAULT_PACING.burst;
  private at = performance.now();

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(DEFAULT_PACING.burst, this.tokens + ((now - this.at) / 1000) * DEFAULT_PACING.linesPerSecond);
    this.at = now;
  }

  /** Waits until `lines` lines (at most a burst) can go out at once; 50 ms of slack for timer drift. */
  async waitFor(lines: number): Promise<void> {
    this.refill();
    const need = Math.min(lines, DEFAULT_PACING.burst);
    if (this.tokens < need) await sleep(((need - this.tokens) / DEFAULT_PACING.linesPerSecond) * 1000 + 50);
  }

  /** The answer of `lines` lines has been sent: lines beyond the budget went out as it refilled. */
  spend(lines: number): void {
    this.refill();
    this.tokens = Math.max(0, this.tokens - lines);
  }
}

async function roundTrips(person: IrcPerson, bot: string, count: number): Promise<RoundTrips> {
  const replies = {} as Record<Command, string>;
  const notices = {} as Record<Command, string>;
  const lines = {} as Record<Command, number>;
  const cost = {} as Record<Command, number>;
  const budget = new OutputBudget();
  // Warm-up: the first message creates the user; it also tells how many lines (and notices) each answer has.
  for (const command of COMMANDS) {
    await budget.waitFor(DEFAULT_PACING.burst);
    const mark = person.heard.length;
    const reply = await person.ask(CHANNEL, `!${command}`, { from: bot, quietMs: 2_500, timeoutMs: 30_000 });
    // Notices paced at 1 line/s are still coming while the channel is quiet: wait until they stop too.
    let heard = -1;
    while (person.noticesFrom(bot, mark).length !== heard) {
      heard = person.noticesFrom(bot, mark).length;
      await sleep(1_500);
    }
    const noticed = person.noticesFrom(bot, mark);
    budget.spend(reply.length + noticed.length);
    replies[command] = reply.join('\n');
    notices[command] = noticed.join('\n');
    lines[command] = reply.length;
    cost[command] = reply.length + noticed.length;
  }
  const first = { karma: [], status: [] } as Record<Command, number[]>;
  const full = { karma: [], status: [] } as Record<Command, number[]>;
  const fromBot = (h: { from: string }) => h.from.toLowerCase() === bot.toLowerCase();
  for (let i = 0; i < count; i++) {
    const command = COMMANDS[i % COMMANDS.length] as Command;
    const need = cost[command];
    await budget.waitFor(need);
    const mark = person.heard.length;
    const sent = performance.now();
    person.say(CHANNEL, `!${command}`);
    // The whole answer: its channel lines and its notices to the asker, in the order they came.
    const got = await person.waitFor(
      () => {
        const heard = person.heard.slice(mark).filter((h) => fromBot(h) && (h.to === CHANNEL || (h.verb === 'NOTICE' && h.to === person.nick)));
        return heard.length >= need ? heard : undefined;
      },
      60_000,
      `${bot}'s ${need}-line answer to !${command}`,
    );
    budget.spend(need);
    first[command].push((got[0]?.at ?? Number.NaN) - sent);
    full[command].push((got[need - 1]?.at ?? Number.NaN) - sent);
  }
  return { first, full, replies, notices, lines, cost };
}

function baseEnv(): Record<string, string> {
  // Only what a bot needs: nothing from the caller's shell (or a developer's .env) may add Slack or a web port.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), NODE_ENV: 'production' };
  for (const key of ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'GITHUB_TOKEN', 'WEB_AUTH']) env[key] = '';
  return env;
}

/** Node's arguments of `npm start` as package.json says (e.g. `--liftoff-only scripts/start.mjs`): the bench runs exactly that. */
function npmStartArgs(): string[] {
  const start: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const [cmd, ...args] = start.split(/\s+/);
  if (cmd !== 'node') throw new Error(`npm start is "${start}", not node: update the irc bench`);
  return args;
}

function shepherdSpec(server: Ngircd, dbPath: string): BotSpec {
  return {
    label: 'Shepherd',
    nick: 'shepherd',
    args: npmStartArgs(),
    cwd: ROOT,
    env: {
      ...baseEnv(),
      IRC_SERVER: server.host,
      IRC_PORT: String(server.port),
      IRC_CHANNELS: CHANNEL,
      IRC_NICK: 'shepherd',
      DATABASE_URL: `file:${dbPath}`,
      SHEPHERD_CONFIG: resolve(ROOT, 'shepherd.example.yml'),
      WEB_PORT: '0',
      LOG_LEVEL: 'warn',
    },
  };
}

/** Shepherd as shepherdSpec starts it, on a PostgreSQL database (files beside it in SHEPHERD_DATA_DIR). */
function shepherdPostgresSpec(server: Ngircd, db: BenchDatabase): BotSpec {
  const spec = shepherdSpec(server, '');
  return { ...spec, label: 'Shepherd on PostgreSQL', env: { ...spec.env, DATABASE_URL: db.url, SHEPHERD_DATA_DIR: db.dir } };
}

/** (c): Shepherd's round trips and start-to-ready on PostgreSQL; null (with a line) when it cannot be measured. */
async function measurePostgres(server: Ngircd, watcher: IrcPerson, count: number): Promise<{ trips: RoundTrips; ready: number[] } | null> {
  const missing = postgresMissing();
  if (missing) {
    console.log(`  PostgreSQL figures left out: ${missing}`);
    return null;
  }
  const db = await benchDatabase('postgresql');
  try {
    const seeding = performance.now();
    await seedPostgres(db.url, AUDIT_ROWS);
    console.log(`  seeded ${AUDIT_ROWS.toLocaleString('en')} AuditEvent rows on PostgreSQL in ${ms(performance.now() - seeding)} ms`);
    const spec = shepherdPostgresSpec(server, db);
    console.log(`  Shepherd on PostgreSQL: ${count} round trips...`);
    const bot = await startBot(spec, watcher);
    let trips: RoundTrips;
    try {
      trips = await roundTrips(watcher, spec.nick, count);
    } finally {
      await stopBot(bot.child, spec.nick, watcher);
    }
    console.log(`  Shepherd on PostgreSQL: start-to-ready, ${READY_RUNS} runs...`);
    return { trips, ready: await readyTimesPostgres(spec, watcher, db.url) };
  } finally {
    await db.drop();
  }
}

/**
 * readyTimes on PostgreSQL, each start a fresh one as on SQLite: the IRC lease of the stopped run must be free (a
 * start finds a held lease and stands by until it runs out). A SIGTERM soon after the JOIN can come before start-up
 * finished, and such a stop leaves the lease held; those are counted and waited out, not measured.
 */
async function readyTimesPostgres(spec: BotSpec, watcher: IrcPerson, url: string): Promise<number[]> {
  const times: number[] = [];
  let held = 0;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const leaseEnd = async () => {
      const { rows } = await client.query<{ left: number | null }>(
        `SELECT EXTRACT(EPOCH FROM ("expiresAt" - (now() AT TIME ZONE 'UTC'))) * 1000 AS left FROM "ChatLease" WHERE "name" = 'irc'`,
      );
      return Number(rows[0]?.left ?? 0);
    };
    for (let i = 0; i < READY_RUNS; i++) {
      const left = await leaseEnd();
      if (left > 0) {
        held += 1;
        await sleep(left + 200);
      }
      const { child, readyMs } = await startBot(spec, watcher);
      times.push(readyMs);
      await stopBot(child, spec.nick, watcher);
    }
  } finally {
    await client.end();
  }
  if (held)
    console.log(`  note: ${held} of ${READY_RUNS} stops (SIGTERM right after the JOIN) left the IRC lease held; waited until it ran out before the next start`);
  return times;
}

/** (c)'s table and figures: PostgreSQL with SQLite's figures from this run as the baseline. */
function reportPostgres(sqlite: { trips: RoundTrips; ready: number[] }, postgres: { trips: RoundTrips; ready: number[] }): void {
  const firsts = (r: RoundTrips) => [...r.first.karma, ...r.first.status];
  const rows: [string, number, number, number | undefined][] = [
    [`start-to-ready, median of ${READY_RUNS}`, median(postgres.ready), median(sqlite.ready), TARGET_READY_MS],
    ['round trip, first line of the answer, p50', percentile(firsts(postgres.trips), 50), percentile(firsts(sqlite.trips), 50), undefined],
    ['round trip, first line of the answer, p99', percentile(firsts(postgres.trips), 99), percentile(firsts(sqlite.trips), 99), TARGET_P99_MS],
    ['round trip, whole !karma answer, p50', percentile(postgres.trips.full.karma, 50), percentile(sqlite.trips.full.karma, 50), undefined],
  ];
  console.log('');
  console.log(`  -- Shepherd on PostgreSQL next to SQLite (same run, same ${AUDIT_ROWS.toLocaleString('en')} AuditEvent rows)`);
  printTable([
    ['metric (ms)', 'PostgreSQL', 'SQLite', 'PostgreSQL/SQLite', 'target', ''],
    ...rows.map(([name, value, base, max]) => [
      name,
      ms(value),
      ms(base),
      ratio(value, base),
      max === undefined ? '' : `<= ${max}`,
      max === undefined ? '' : verdict(value, max),
    ]),
  ]);
  for (const [name, value, base, max] of rows)
    figure({ name: `${name} (postgresql)`, value, unit: 'ms', baseline: { name: 'SQLite', value: base }, ...(max === undefined ? {} : { goal: { max } }) });
  console.log(`  ready runs on PostgreSQL (ms): ${postgres.ready.map(ms).join(', ')}`);
  for (const c of COMMANDS)
    if (postgres.trips.replies[c] !== sqlite.trips.replies[c]) console.log(`  note: the !${c} answers differ between the two databases`);
}

function hubotSpec(server: Ngircd, replies: Record<string, { channel: string; notice: string }>): BotSpec {
  return {
    label: 'Hubot',
    nick: 'hubot',
    // Run from bench/support/hubot so Hubot loads only scripts/bench.mjs (it loads ./scripts of its cwd).
    args: [resolve(ROOT, 'node_modules/hubot/bin/Hubot.mjs'), '--disable-httpd', '--name', 'hubot', '--file', join(HUBOT_DIR, 'irc-adapter.mjs')],
    cwd: HUBOT_DIR,
    env: {
      ...baseEnv(),
      HUBOT_IRC_SERVER: server.host,
      HUBOT_IRC_PORT: String(server.port),
      HUBOT_IRC_ROOMS: CHANNEL,
      HUBOT_LOG_LEVEL: 'error',
      BENCH_REPLIES: JSON.stringify(replies),
    },
  };
}

async function readyTimes(spec: BotSpec, watcher: IrcPerson): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < READY_RUNS; i++) {
    const { child, readyMs } = await startBot(spec, watcher);
    times.push(readyMs);
    await stopBot(child, spec.nick, watcher);
  }
  return times;
}

/**
 * Start to first answer: spawn, `!karma` said in the channel the moment the bot is seen joining, until the first
 * line of its answer. Shepherd on SQLite joins before the rest of it has loaded and answers what was said meanwhile
 * once it has (src/chat/irc-first.ts), so the join alone would flatter it: this is what a person who types at
 * once waits.
 */
async function answerTimes(spec: BotSpec, watcher: IrcPerson): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < READY_RUNS; i++) {
    const started = performance.now();
    const { child } = await startBot(spec, watcher);
    const mark = watcher.heard.length;
    watcher.say(CHANNEL, '!karma');
    const first = await watcher.waitFor(
      () => watcher.heard.slice(mark).find((h) => h.verb === 'PRIVMSG' && h.from === spec.nick && h.to === CHANNEL),
      60_000,
      `${spec.label}'s first answer`,
    );
    times.push(first.at - started);
    await stopBot(child, spec.nick, watcher);
  }
  return times;
}

function versionOf(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(resolve(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

async function run(): Promise<void> {
  if (!ngircdAvailable()) throw new NgircdMissing();
  const count = Math.max(2, Number(process.env.BENCH_IRC_REQUESTS ?? 30));
  const ngircdVersion = execFileSync(NGIRCD, ['--version'], { encoding: 'utf8' }).split('\n')[0]?.split('-')[0] ?? 'ngircd';
  // Flood penalties off for every client (MaxPenaltyTime = 0): ngircd has no per-class exemption; only an IRC
  // operator can lift it per client (user mode +F), which a bot on a real network would not have.
  const server = await startNgircd({ penalties: false });
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-bench-irc-'));
  const loadBefore = loadavg()[0] ?? 0;
  let watcher: IrcPerson | undefined;
  const running: { child: ChildProcess; nick: string }[] = [];
  try {
    const dbPath = join(dir, 'bench.db');
    // The build `npm start` would make first, made before any measurement (a fresh build is not rebuilt).
    const stale = staleness();
    if (stale) {
      console.log(`  building Shepherd (${stale})...`);
      await build();
    }
    const seeding = performance.now();
    await seedDatabase(dbPath, AUDIT_ROWS);
    console.log(`  seeded ${AUDIT_ROWS.toLocaleString('en')} AuditEvent rows in ${ms(performance.now() - seeding)} ms`);
    watcher = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'carol', channels: [CHANNEL] });

    // (b) first for Shepherd: its replies become the baseline's, so both send the same bytes.
    console.log(`  Shepherd: ${count} round trips...`);
    const shepherd = shepherdSpec(server, dbPath);
    const first = await startBot(shepherd, watcher);
    running.push({ child: first.child, nick: shepherd.nick });
    const ours = await roundTrips(watcher, shepherd.nick, count);
    if (!/\(\d\/5\)/.test(ours.replies.karma)) throw new Error(`unexpected karma reply from Shepherd: ${ours.replies.karma}`);
    await stopBot(first.child, shepherd.nick, watcher);
    running.pop();
    // (c) Shepherd on PostgreSQL, after SQLite and before the baseline.
    const onPostgres = await measurePostgres(server, watcher, count);

    const hubot = hubotSpec(server, Object.fromEntries(COMMANDS.map((c) => [c, { channel: ours.replies[c], notice: ours.notices[c] }])));
    console.log(`  Hubot: ${count} round trips...`);
    const second = await startBot(hubot, watcher);
    running.push({ child: second.child, nick: hubot.nick });
    const theirs = await roundTrips(watcher, hubot.nick, count);
    for (const c of COMMANDS) {
      if (theirs.replies[c] !== ours.replies[c] || theirs.notices[c] !== ours.notices[c])
        throw new Error(`the baseline did not echo Shepherd's reply to !${c}: ${theirs.replies[c]}\n${theirs.notices[c]}`);
    }
    await stopBot(second.child, hubot.nick, watcher);
    running.pop();

    // (a) start-to-ready, alternating is not needed: each run is a fresh process against an idle server.
    console.log(`  start-to-ready, ${READY_RUNS} runs each...`);
    const readyOurs = await readyTimes(shepherd, watcher);
    const readyTheirs = await readyTimes(hubot, watcher);
    console.log(`  start to first answer (!karma said at the join), ${READY_RUNS} runs each...`);
    const answerOurs = await answerTimes(shepherd, watcher);
    const answerTheirs = await answerTimes(hubot, watcher);

    const row = (name: string, a: number, b: number, target?: number) => [
      name,
      ms(a),
      ms(b),
      ratio(a, b),
      target === undefined ? '' : `<= ${target}`,
      target === undefined ? '' : verdict(a, target),
    ];
    const both = (r: RoundTrips, key: 'first' | 'full') => [...r[key].karma, ...r[key].status];
    const burst = DEFAULT_PACING.burst;
    const wholeStatus =
      ours.cost.status > ours.lines.status ? `${ours.lines.status} line + ${ours.cost.status - ours.lines.status} notices` : `${ours.lines.status} lines`;
    const statusPaced = ours.cost.status > burst;
    console.log('');
    printTable([
      ['metric (ms)', 'Shepherd', 'Hubot', 'Shepherd/Hubot', 'target', ''],
      row(`start-to-ready, median of ${READY_RUNS}`, median(readyOurs), median(readyTheirs), TARGET_READY_MS),
      row(`start to first answer (!karma at the join), median of ${READY_RUNS}`, median(answerOurs), median(answerTheirs)),
      row('round trip, first line of the answer, p50', percentile(both(ours, 'first'), 50), percentile(both(theirs, 'first'), 50)),
      row('round trip, first line of the answer, p99', percentile(both(ours, 'first'), 99), percentile(both(theirs, 'first'), 99), TARGET_P99_MS),
      row(`round trip, whole !karma answer (${ours.lines.karma} lines), p50`, percentile(ours.full.karma, 50), percentile(theirs.full.karma, 50)),
      row(`round trip, whole !karma answer (${ours.lines.karma} lines), p99`, percentile(ours.full.karma, 99), percentile(theirs.full.karma, 99)),
      row(
        `round trip, whole !status answer (${wholeStatus}), p50${statusPaced ? ' *' : ''}`,
        percentile(ours.full.status, 50),
        percentile(theirs.full.status, 50),
      ),
      row(
        `round trip, whole !status answer (${wholeStatus}), p99${statusPaced ? ' *' : ''}`,
        percentile(ours.full.status, 99),
        percentile(theirs.full.status, 99),
      ),
    ]);
    if (statusPaced) {
      console.log(
        `  * ${ours.cost.status} lines is more than Shepherd's burst of ${burst}: the rest go out at ${DEFAULT_PACING.linesPerSecond} line/s on purpose (flood limits),`,
      );
      console.log('    so this is pacing, not processing. The baseline sends all lines at once (hubot-irc does not pace by default).');
    }
    if (onPostgres) reportPostgres({ trips: ours, ready: readyOurs }, onPostgres);
    const slowest = (r: RoundTrips) =>
      both(r, 'first')
        .sort((x, y) => y - x)
        .slice(0, 3)
        .map(ms)
        .join(', ');
    console.log(`  slowest first lines (ms): Shepherd ${slowest(ours)}; Hubot ${slowest(theirs)}`);
    // Other work on the machine shows up directly in these figures: say how busy it was.
    console.log(`  machine: ${cpus().length} cores, load average ${loadBefore.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end`);
    console.log(`  ready runs (ms): Shepherd ${readyOurs.map(ms).join(', ')}; Hubot ${readyTheirs.map(ms).join(', ')}`);
    console.log(`  first-answer runs (ms): Shepherd ${answerOurs.map(ms).join(', ')}; Hubot ${answerTheirs.map(ms).join(', ')}`);
    const hubotName = 'Hubot';
    const vsHubot = { ratio: 2 };
    figure({
      name: 'start-to-ready (join seen)',
      value: median(readyOurs),
      unit: 'ms',
      baseline: { name: hubotName, value: median(readyTheirs) },
      goal: vsHubot,
    });
    figure({ name: 'start to first answer', value: median(answerOurs), unit: 'ms', baseline: { name: hubotName, value: median(answerTheirs) }, goal: vsHubot });
    figure({
      name: 'first reply line p50',
      value: percentile(both(ours, 'first'), 50),
      unit: 'ms',
      baseline: { name: hubotName, value: percentile(both(theirs, 'first'), 50) },
      goal: vsHubot,
    });
    figure({
      name: 'first reply line p99',
      value: percentile(both(ours, 'first'), 99),
      unit: 'ms',
      baseline: { name: hubotName, value: percentile(both(theirs, 'first'), 99) },
      goal: { max: TARGET_P99_MS },
    });
    console.log(`  server: ${ngircdVersion} on ${server.host}, MaxPenaltyTime = 0. ngircd has no penalty exemption per client class;`);
    console.log('    only user mode +F (settable by IRC operators) lifts it per client, so it is switched off server-wide for both bots.');
    console.log(
      `  Shepherd: node ${npmStartArgs().join(' ')} (npm start: the compiled build), SQLite with ${AUDIT_ROWS.toLocaleString('en')} AuditEvent rows (each command also writes one).`,
    );
    console.log(`  baseline: Hubot ${versionOf('hubot')} (httpd off) with bench/support/hubot/irc-adapter.mjs, a hubot-irc-like adapter on irc-framework`);
    console.log('    (hubot-irc 0.4.2 cannot be installed offline: it depends on github:matrix-org/node-irc); it answers with the same text, no database.');
    console.log(`  requests: ${count} per bot, !karma and !status alternating, one at a time; each is sent once Shepherd's own output budget`);
    console.log(
      `    (burst ${DEFAULT_PACING.burst}, then ${DEFAULT_PACING.linesPerSecond} line/s) has refilled enough to send its answer (at most a burst) at once, so first lines never wait for pacing.`,
    );
    console.log(
      `    p99 is by nearest rank: with ${count} samples (${Math.ceil(count / 2)} per command) it is the slowest one. BENCH_IRC_REQUESTS sets the count.`,
    );
  } finally {
    for (const { child } of running) child.kill('SIGKILL');
    await watcher?.quit();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const irc: BenchSection = {
  name: 'irc',
  summary: 'Shepherd on a real ngircd vs Hubot: start-to-ready and !karma/!status round trips',
  run,
};
