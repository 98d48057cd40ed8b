/**
 * The start with IRC on SQLite joins before the rest of Shepherd loads (src/main.ts, src/chat/irc-first.ts), on a
 * real ngircd: people see the bot join while the start is still going; what they say then is answered once it is
 * done; a start that fails after the join takes the bot out of the channel again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Shepherd, startShepherd } from '../src/main.js';
import { IrcPerson } from './support/irc-client.js';
import { type Ngircd, skipWithoutNgircd, startNgircd } from './support/ngircd.js';
import { waitUntil } from './support/wait.js';

const skip = skipWithoutNgircd();

/** The commands of the audit rows in a SQLite file, read on a connection of its own. */
function auditCommands(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT "command" FROM "AuditEvent" ORDER BY "id"').all() as { command: string }[]).map((r) => r.command);
  } finally {
    db.close();
  }
}

describe.skipIf(skip)('IRC joins first at start', () => {
  let server: Ngircd;
  let alice: IrcPerson;
  let dir: string;

  beforeAll(async () => {
    server = await startNgircd();
    dir = mkdtempSync(join(tmpdir(), 'shepherd-irc-first-'));
    alice = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'alice', channels: ['#deploys'] });
  });

  afterAll(async () => {
    await alice?.quit();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const env = (nick: string, extra: Record<string, string> = {}) => ({
    IRC_SERVER: server.host,
    IRC_PORT: String(server.port),
    IRC_CHANNELS: '#deploys',
    IRC_NICK: nick,
    DATABASE_URL: `file:${join(dir, `${nick}.db`)}`,
    SHEPHERD_CONFIG: resolve('shepherd.example.yml'),
    LOG_LEVEL: 'silent',
    WEB_PORT: '0',
    ...extra,
  });

  it('GIVEN the start held right after the join THEN the bot is in the channel before the start ends, and `!whoami` said then is answered after it', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let waiting: (() => number) | undefined;
    const mark = alice.seen.length;
    let settled = false;
    const starting = startShepherd({
      env: env('firstbot'),
      afterChatJoined: (joined) => {
        waiting = joined.waiting;
        return held;
      },
    }).finally(() => {
      settled = true;
    });
    let shepherd: Shepherd | undefined;
    try {
      await alice.waitFor(() => alice.seen.slice(mark).find((s) => s.type === 'join' && s.nick === 'firstbot'), 30_000, 'the bot to join');
      expect(waiting).toBeDefined();
      expect(settled).toBe(false);
      const heard = alice.heard.length;
      alice.say('#deploys', '!whoami');
      // The bot has the message and holds it (the rest of the start has not run yet).
      await waitUntil('the bot to hold the message', () => waiting?.() === 1);
      expect(alice.heard.slice(heard).some((h) => h.from === 'firstbot')).toBe(false);
      release();
      shepherd = await starting;
      const answer = await alice.waitFor(
        () => alice.heard.slice(heard).find((h) => h.from === 'firstbot' && h.to === '#deploys'),
        30_000,
        'the answer to !whoami',
      );
      expect(answer.text).toMatch(/alice/);
      expect(answer.text).toMatch(/developer/);
      expect(waiting?.()).toBe(0);
      expect(shepherd.adapters.map((a) => a.name)).toEqual(['irc']);
    } finally {
      release();
      await (shepherd ?? (await starting.catch(() => undefined)))?.stop();
    }
  });

  it('GIVEN the start held before Prisma, the web server and the deployer load THEN `!karma` is answered and audited without them, and `!lock` waits for the start with what is said after it, both answered once it is done', async () => {
    // alice has talked to this bot before (somebody new is created through Prisma, which waits for the start).
    const before = await startShepherd({ env: env('earlybot') });
    try {
      const heard = alice.heard.length;
      alice.say('#deploys', '!whoami');
      await alice.waitFor(() => alice.heard.slice(heard).find((h) => h.from === 'earlybot'), 30_000, 'the first answer');
    } finally {
      await before.stop();
    }

    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let loading: { held(): number; prismaLoaded(): boolean } | undefined;
    const mark = alice.seen.length;
    const starting = startShepherd({
      env: env('earlybot'),
      beforeLoadingRest: (l) => {
        loading = l;
        return held;
      },
    });
    let shepherd: Shepherd | undefined;
    try {
      await alice.waitFor(() => alice.seen.slice(mark).find((s) => s.type === 'join' && s.nick === 'earlybot'), 30_000, 'the bot to join');
      await waitUntil('the start to hold before loading the rest', () => loading !== undefined);
      const heard = alice.heard.length;
      alice.say('#deploys', '!karma');
      const karma = await alice.waitFor(() => alice.heard.slice(heard).find((h) => h.from === 'earlybot'), 30_000, 'the answer to !karma');
      expect(karma.text).toMatch(/you: .*\(4\/5\)/);
      // The whole answer (its history line too), before the next commands are said.
      await alice.waitFor(() => alice.heard.slice(heard).find((h) => h.from === 'earlybot' && /no changes yet/.test(h.text)), 30_000, 'the rest of it');
      const db = join(dir, 'earlybot.db');
      await waitUntil('the audit row of !karma', () => auditCommands(db).includes('karma'));
      expect(loading?.prismaLoaded()).toBe(false);

      // A lock needs the state recovery leaves: it waits, and so does the `!karma` said after it.
      const afterKarma = alice.heard.length;
      alice.say('#deploys', '!lock staging');
      await waitUntil('the bot to hold !lock', () => loading?.held() === 1);
      alice.say('#deploys', '!karma');
      await waitUntil('the bot to hold !karma behind it', () => loading?.held() === 2);
      expect(alice.heard.slice(afterKarma).some((h) => h.from === 'earlybot')).toBe(false);

      release();
      shepherd = await starting;
      // Both answered now (let go in the order said; they run side by side, as commands always do).
      const answer = (what: RegExp, name: string) =>
        alice.waitFor(() => alice.heard.slice(afterKarma).find((h) => h.from === 'earlybot' && what.test(h.text)), 30_000, name);
      expect((await answer(/staging/, 'the answer to !lock')).text).toMatch(/alice/);
      await answer(/you: /, 'the answer to the second !karma');
      expect(loading?.held()).toBe(0);
    } finally {
      release();
      await (shepherd ?? (await starting.catch(() => undefined)))?.stop();
    }
  });

  it('GIVEN the viewer port is taken THEN the start fails with the reason and the bot that had joined quits the channel', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    const mark = alice.seen.length;
    try {
      const failed = startShepherd({ env: env('portbot', { WEB_PORT: String(port) }) });
      await alice.waitFor(() => alice.seen.slice(mark).find((s) => s.type === 'join' && s.nick === 'portbot'), 30_000, 'the bot to join');
      await expect(failed).rejects.toThrow(/EADDRINUSE|in use/i);
      await alice.waitFor(
        () => alice.seen.slice(mark).find((s) => (s.type === 'quit' || s.type === 'part') && s.nick === 'portbot'),
        15_000,
        'the bot to leave',
      );
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
