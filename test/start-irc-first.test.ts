/**
 * The start with IRC on SQLite joins before the rest of Shepherd loads (src/main.ts, src/chat/irc-first.ts), on a
 * real ngircd: people see the bot join while the start is still going; what they say then is answered once it is
 * done; a start that fails after the join takes the bot out of the channel again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Shepherd, startShepherd } from '../src/main.js';
import { IrcPerson } from './support/irc-client.js';
import { type Ngircd, skipWithoutNgircd, startNgircd } from './support/ngircd.js';
import { waitUntil } from './support/wait.js';

const skip = skipWithoutNgircd();

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
