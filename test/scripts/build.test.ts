/**
 * `npm start` runs the compiled build (scripts/build.mjs, scripts/start.mjs) and never old code: a build older
 * than any of its sources is rebuilt before it runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type BuildRecord, build, currentBuild, DIST, staleness, stalenessAsync } from '../../scripts/build.mjs';
import { IrcPerson } from '../support/irc-client.js';
import { skipWithoutNgircd, startNgircd } from '../support/ngircd.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('staleness of a build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-build-'));
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'scripts'));
  for (const f of ['src/a.ts', 'scripts/build.mjs', 'package.json']) writeFileSync(join(dir, f), '');
  const at = (path: string, seconds: number) => utimesSync(join(dir, path), seconds, seconds);
  for (const f of ['src/a.ts', 'scripts/build.mjs', 'package.json']) at(f, 1_000);
  const record: BuildRecord = { entry: 'x/main.js', builtAt: 2_000_000, inputs: ['src/a.ts'] };

  it('GIVEN no build THEN it is stale', () => {
    expect(staleness(null, dir)).toBe('no build yet');
  });

  it('GIVEN every source older than the build THEN it is fresh; a source, the build script or package.json modified after it THEN stale', () => {
    expect(staleness(record, dir)).toBeNull();
    at('src/a.ts', 3_000);
    expect(staleness(record, dir)).toBe('src/a.ts changed');
    at('src/a.ts', 1_000);
    at('package.json', 3_000);
    expect(staleness(record, dir)).toBe('package.json changed');
    at('package.json', 1_000);
    at('scripts/build.mjs', 3_000);
    expect(staleness(record, dir)).toBe('scripts/build.mjs changed');
  });

  it('GIVEN a source of the build deleted THEN stale', () => {
    expect(staleness({ ...record, inputs: ['src/gone.ts'] }, dir)).toBe('src/gone.ts is gone');
  });

  it('GIVEN the same cases THEN the check npm start runs (stat calls at once) gives the same answers, in the same order', async () => {
    for (const f of ['src/a.ts', 'scripts/build.mjs', 'package.json']) at(f, 1_000);
    expect(await stalenessAsync(null, dir)).toBe('no build yet');
    expect(await stalenessAsync(record, dir)).toBeNull();
    at('src/a.ts', 3_000);
    at('package.json', 3_000);
    // Both changed: the first source in order is named, as the synchronous check does.
    expect(await stalenessAsync(record, dir)).toBe('src/a.ts changed');
    expect(staleness(record, dir)).toBe('src/a.ts changed');
    at('src/a.ts', 1_000);
    expect(await stalenessAsync(record, dir)).toBe('package.json changed');
    at('package.json', 1_000);
    expect(await stalenessAsync({ ...record, inputs: ['src/a.ts', 'src/gone.ts'] }, dir)).toBe('src/gone.ts is gone');
  });
});

describe('npm start on a stale build', () => {
  it('GIVEN a build older than its sources THEN `npm start` builds again before it runs, and the new build answers', () => {
    const before = currentBuild();
    // Pretend the build predates every source (as after a `git pull`), without touching the sources.
    if (before) {
      const tmp = join(DIST, `current.json.test-${process.pid}`);
      writeFileSync(tmp, JSON.stringify({ ...before, builtAt: 0 }));
      renameSync(tmp, join(DIST, 'current.json'));
    }
    const db = join(mkdtempSync(join(tmpdir(), 'shepherd-build-db-')), 'x.db');
    const result = spawnSync('npm', ['start', '--silent'], {
      cwd: root,
      input: 'karma\n',
      encoding: 'utf8',
      timeout: 120_000,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, WEB_PORT: '0', DATABASE_URL: `file:${db}` },
    });
    expect(result.stderr).toMatch(/shepherd: building \((no build yet|[^)]+ changed)\)/);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('(4/5)');
    const after = currentBuild();
    expect(after?.builtAt).toBeGreaterThan(0);
    expect(after && existsSync(join(DIST, after.entry))).toBe(true);
    expect(after?.inputs).toEqual(expect.arrayContaining(['src/main.ts', 'src/bot.ts', 'commands/karma.ts']));
    expect(staleness(after)).toBeNull();
    rmSync(db, { force: true });
    expect(readFileSync(join(DIST, 'current.json'), 'utf8')).toContain(after?.entry);
  });
});

/** `node scripts/start.mjs` (what npm start runs) on IRC with a fresh SQLite file; alice is in the channel. */
async function startBuiltBot(nick: string) {
  if (staleness()) await build();
  const server = await startNgircd();
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-build-irc-'));
  const alice = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'alice', channels: ['#deploys'] });
  const mark = alice.seen.length;
  let stderr = '';
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      IRC_SERVER: server.host,
      IRC_PORT: String(server.port),
      IRC_CHANNELS: '#deploys',
      IRC_NICK: nick,
      DATABASE_URL: `file:${join(dir, 'x.db')}`,
      WEB_PORT: '0',
      LOG_LEVEL: 'info',
    },
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    alice,
    exited,
    stderr: () => stderr,
    /** Waits until alice sees the bot do `type` (join/quit) after the spawn. */
    sees: (type: 'join' | 'quit', timeoutMs = 60_000) =>
      alice.waitFor(() => alice.seen.slice(mark).find((s) => s.type === type && s.nick === nick), timeoutMs, `the bot to ${type} (${stderr})`),
    async close() {
      child.kill('SIGKILL');
      await alice.quit();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe.skipIf(skipWithoutNgircd())('npm start on IRC', () => {
  it('GIVEN the build (IRC client, logger, config parsers compiled in) THEN `node scripts/start.mjs` joins the channel and answers `!karma`', async () => {
    const bot = await startBuiltBot('builtbot');
    try {
      await bot.sees('join');
      const reply = await bot.alice.ask('#deploys', '!karma', { from: 'builtbot', timeoutMs: 60_000 });
      expect(reply.join('\n')).toContain('(4/5)');
      bot.child.kill('SIGTERM');
      expect((await bot.exited).code).toBe(0);
      expect(bot.stderr()).not.toMatch(/"level":5\d/);
    } finally {
      await bot.close();
    }
  }, 120_000);

  it('GIVEN a SIGTERM while the start is still loading (IRC joined first) THEN the bot finishes starting, quits the channel and exits 0', async () => {
    const bot = await startBuiltBot('termbot');
    try {
      // IRC joins before the web server, Prisma and the commands load: a signal at the join lands inside the start
      // (the 'ready' line comes later). Before the fix the default handler killed the process there (signal, no QUIT).
      await bot.sees('join');
      const readyBefore = /"msg":"ready"/.test(bot.stderr());
      bot.child.kill('SIGTERM');
      expect(await bot.exited).toEqual({ code: 0, signal: null });
      await bot.sees('quit', 10_000);
      // Says whether this run exercised the window at all (it nearly always does: the rest loads for ~1 s).
      if (readyBefore) console.warn('the start had already finished when the signal came: the plain stop path was tested');
    } finally {
      await bot.close();
    }
  }, 120_000);
});
