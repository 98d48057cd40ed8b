/**
 * The IRC adapter, end to end against a real ngircd: the whole bot (startShepherd) in #deploys, a person talking
 * to it with a real IRC client, a server restart in the middle. Plus the pure parts (line splitting, addressing).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { addressedCommand, IrcAdapter, payloadBytes, splitLine, toIrcLines } from '../../src/adapters/irc.js';
import { commands } from '../../commands/index.js';
import { envSchema } from '../../src/config.js';
import { helpList } from '../../src/format.js';
import { type Shepherd, startShepherd } from '../../src/main.js';
import { type Heard, IrcPerson } from '../support/irc-client.js';
import { freePort, type Ngircd, skipWithoutNgircd, startNgircd } from '../support/ngircd.js';
import { waitUntil } from '../support/wait.js';

const skip = skipWithoutNgircd();
const silent = pino({ level: 'silent' });

/** The line exactly as the server relayed it to us, without CRLF. */
function relayed(h: Heard): string {
  return `:${h.from}!${h.ident}@${h.hostname} ${h.verb} ${h.to} :${h.text}`;
}

describe('splitting output into IRC lines', () => {
  it('GIVEN a short line THEN it is sent as is', () => {
    expect(splitLine('deploy #3 started', 400)).toEqual(['deploy #3 started']);
  });

  it('GIVEN a long line THEN it breaks at the last space that fits and loses no word', () => {
    const words = Array.from({ length: 120 }, (_, i) => `word${i}`);
    const parts = splitLine(words.join(' '), 100);
    expect(parts.length).toBeGreaterThan(5);
    for (const p of parts) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(100);
    expect(parts.join(' ')).toBe(words.join(' '));
  });

  it('GIVEN multi-byte characters and no spaces THEN no character is cut', () => {
    const text = 'ü🔒€'.repeat(100) + '👩‍👩‍👧'.repeat(20);
    const parts = splitLine(text, 50);
    for (const p of parts) {
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(50);
      expect(Buffer.from(p, 'utf8').toString('utf8')).toBe(p);
      expect(p).not.toMatch(/\uFFFD/);
    }
    expect(parts.join('')).toBe(text);
    // A family emoji is one grapheme of five code points: every piece holds whole ones only.
    const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    for (const p of parts) for (const { segment } of segmenter.segment(p)) expect(['ü', '🔒', '€', '👩‍👩‍👧']).toContain(segment);
  });

  it('GIVEN CR, LF and empty lines THEN every line is its own message and none can inject a command', () => {
    expect(toIrcLines('a\r\nb\rQUIT :bye\n\n  \nc\0d', 400)).toEqual(['a', 'b', 'QUIT :bye', 'cd']);
  });

  it('GIVEN nick and channel THEN the payload leaves room for the prefix the server adds', () => {
    const budget = payloadBytes('shepherd', '#deploys');
    expect(budget).toBeGreaterThan(350);
    expect(1 + 8 + 1 + 11 + 1 + 64 + ' PRIVMSG #deploys :'.length + budget + 2).toBeLessThanOrEqual(512);
  });
});

describe('which channel messages are for the bot', () => {
  const cases: [string, string | null][] = [
    ['!karma', 'karma'],
    ['!lock staging db migration', 'lock staging db migration'],
    ['shepherd: whoami', 'whoami'],
    ['Shepherd, whoami', 'whoami'],
    ['@SHEPHERD: status', 'status'],
    ['shepherd:', null],
    ['shepherdess: hi', null],
    ['alice: shepherd: karma', null],
    ['morning all, shepherd is slow today', null],
    ['!!!', null],
    ['! ', null],
  ];
  it.each(cases)('GIVEN "%s" THEN %s', (text, expected) => {
    expect(addressedCommand(text, 'shepherd')).toBe(expected);
  });
});

describe('starting without a server', () => {
  it('GIVEN nothing listens on the port THEN start() rejects with a clear reason', async () => {
    const port = await freePort();
    const env = envSchema.parse({ IRC_SERVER: '127.0.0.1', IRC_PORT: String(port), IRC_CHANNELS: '#deploys' });
    const adapter = new IrcAdapter(env, silent, { connectTimeoutMs: 1_500, reconnectMinMs: 200 });
    await expect(adapter.start(async () => {})).rejects.toThrow(new RegExp(`could not connect to IRC server 127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
  });
});

/** One bot on its own server: ngircd, and Shepherd (startShepherd) in #deploys on a SQLite file beside its config. */
interface BotOnIrc {
  server: Ngircd;
  shepherd: Shepherd;
  /** The bot's database, read-only. */
  db: Database.Database;
  close(): Promise<void>;
}

// Enough environments that one refusal listing them all is longer than an IRC line.
const reviewEnvs = Array.from({ length: 40 }, (_, i) => `review-app-${String(i + 1).padStart(2, '0')}`);
const bot = 'shepherd';

async function botOnIrc(): Promise<BotOnIrc> {
  const server = await startNgircd();
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-irc-'));
  // The example config, plus the review environments of a team that has many.
  const config = parseYaml(readFileSync('shepherd.example.yml', 'utf8'));
  for (const env of reviewEnvs) config.apps.demo.environments[env] = { hosts: ['localhost'] };
  // bob may deploy the demo to production (which asks for confirmation); the demo deploys this checkout.
  config.release_managers.push('irc:bob');
  config.apps.demo.repo_url = process.cwd();
  config.apps.demo.deploy_to = join(dir, 'demo-deploy');
  writeFileSync(join(dir, 'shepherd.yml'), toYaml(config));
  let shepherd: Shepherd | undefined;
  try {
    shepherd = await startShepherd({
      env: {
        IRC_SERVER: server.host,
        IRC_PORT: String(server.port),
        IRC_CHANNELS: '#deploys',
        IRC_NICK: bot,
        DATABASE_URL: `file:${join(dir, 't.db')}`,
        SHEPHERD_CONFIG: join(dir, 'shepherd.yml'),
        LOG_LEVEL: 'silent',
        WEB_PORT: '0',
      },
    });
  } catch (err) {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const db = new Database(join(dir, 't.db'), { readonly: true });
  const started = shepherd;
  return {
    server,
    shepherd: started,
    db,
    async close() {
      await started.stop();
      db.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The groups below run side by side (each on its own server and bot): most of their time is waiting for ngircd's
// flood pacing (about a line a second after a burst), which one bot's output cannot go faster than.
describe.skipIf(skip).concurrent('Shepherd on a real ngircd', () => {
  describe.sequential('one conversation, in order', () => {
    let t: BotOnIrc;
    let server: Ngircd;
    let shepherd: Shepherd;
    let alice: IrcPerson;
    let db: Database.Database;

    beforeAll(async () => {
      t = await botOnIrc();
      ({ server, shepherd, db } = t);
      alice = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'alice', channels: ['#deploys'] });
    });

    afterAll(async () => {
      await alice?.quit();
      await t?.close();
    });

    it('GIVEN `!karma` in the channel THEN the bot answers there with 4 of 5 stars', async () => {
      // Stars, then the history ('no changes yet' for a newcomer): wait for both so nothing spills into the next test.
      const lines = await alice.ask('#deploys', '!karma', { from: bot, until: (l) => l.length >= 2 });
      expect(lines).toEqual(['you: ★★★★☆ (4/5)', '  no changes yet']);
    });

    it('GIVEN `!lock staging` THEN the lock is held by the nick and stored for the IRC identity', async () => {
      const lines = await alice.ask('#deploys', '!lock staging', { from: bot, until: (l) => l.length > 0 });
      expect(lines[0]).toMatch(/staging held by alice/);
      const row = db
        .prepare(
          'SELECT l.app, l.environment, i.provider, i.externalId, i.handle FROM "Lock" l JOIN "Identity" i ON i.userId = l.holderId WHERE l.environment = ?',
        )
        .get('staging');
      expect(row).toEqual({ app: '*', environment: 'staging', provider: 'irc', externalId: 'alice', handle: 'alice' });
    });

    it('GIVEN a command quoting a token THEN the reply over IRC and the audit row show it masked', async () => {
      const token = `ghp_${'k7'.repeat(18)}`;
      const lines = await alice.ask('#deploys', `!${token}`, { from: bot, until: (l) => l.length > 0 });
      expect(lines.join('\n')).toContain('********');
      expect(lines.join('\n')).not.toContain(token.slice(0, 12));
      const audit = db.prepare('SELECT text FROM "AuditEvent" ORDER BY id DESC LIMIT 1').get() as { text: string };
      expect(audit.text).toBe('********');
    });

    it('GIVEN `shepherd: whoami` (addressed by nick) THEN it answers with the IRC identity and the developer role', async () => {
      const lines = await alice.ask('#deploys', 'shepherd: whoami', { from: bot, until: (l) => l.length > 0 });
      expect(lines[0]).toMatch(/you are irc:alice; .*roles: developer; karma ★★★★☆/);
    });

    it('GIVEN `!help` in the channel THEN it answers there in at most 3 lines naming every command', async () => {
      const lines = await alice.ask('#deploys', '!help', { from: bot, until: (l) => l.some((x) => x.includes('help all')) });
      expect(lines.length).toBeLessThanOrEqual(3);
      for (const c of commands) expect(lines.join(' ')).toContain(` ${c.name}`);
    });

    it('GIVEN a reply longer than an IRC line THEN it arrives split at words, each line within 512 bytes, nothing lost', async () => {
      const start = alice.heard.length;
      const lines = await alice.ask('#deploys', '!lock nowhere', { from: bot, until: (l) => reviewEnvs.every((e) => l.join(' ').includes(e)) });
      const known = ['production', ...reviewEnvs, 'staging'].sort();
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.join(' ')).toBe(`✋ unknown environment "nowhere" — known: ${known.join(', ')}`);
      for (const h of alice.heard.slice(start).filter((x) => x.from === bot)) expect(Buffer.byteLength(`${relayed(h)}\r\n`)).toBeLessThanOrEqual(512);
    });

    it('GIVEN chatter, a notice and a message for someone else THEN the bot stays silent and records nothing', async () => {
      // Audit rows are written just after each reply (src/store/audit-queue.ts): wait for the earlier tests' rows.
      const earlier = (db.prepare('SELECT count(*) AS n FROM "AuditEvent"').get() as { n: number }).n;
      await alice.ask('#deploys', '!whoami', { from: bot, until: (l) => l.length > 0 });
      await waitUntil('the earlier rows and this whoami', () => {
        const total = (db.prepare('SELECT count(*) AS n FROM "AuditEvent"').get() as { n: number }).n;
        const last = db.prepare('SELECT command FROM "AuditEvent" ORDER BY id DESC LIMIT 1').get() as { command: string } | undefined;
        return total > earlier && last?.command === 'whoami' ? true : undefined;
      });
      const lastId = (db.prepare('SELECT coalesce(max(id), 0) AS id FROM "AuditEvent"').get() as { id: number }).id;
      const start = alice.heard.length;
      alice.say('#deploys', 'morning all, karma and status look fine today');
      alice.say('#deploys', 'bob: !karma is what you want');
      alice.client.notice('#deploys', '!karma');
      // The next thing the bot says must be the answer to this, not to anything above.
      const lines = await alice.ask('#deploys', '!whoami', { from: bot, until: (l) => l.length > 0 });
      expect(lines[0]).toMatch(/^you are irc:alice/);
      expect(
        alice.heard
          .slice(start)
          .filter((h) => h.from === bot)
          .map((h) => h.text),
      ).toEqual(lines);
      // The audit row is written just after the reply went out.
      const rows = await waitUntil('the audit row', () => {
        const found = db.prepare('SELECT command, text FROM "AuditEvent" WHERE id > ? ORDER BY id').all(lastId) as { command: string; text: string }[];
        return found.length > 0 ? found : undefined;
      });
      expect(rows).toEqual([{ command: 'whoami', text: 'whoami' }]);
    });

    it("GIVEN a deploy to production asks bob THEN alice's `yes` answers nothing and bob's plain `yes` deploys", async () => {
      const bob = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'bob', channels: ['#deploys'] });
      try {
        const asked = await bob.ask('#deploys', '!deploy demo to production', { from: bot, until: (l) => l.some((x) => x.includes('about to deploy demo')) });
        expect(asked.join('\n')).toContain('answer `yes`');
        const start = bob.heard.length;
        // Not bob: no answer, and no reply to a plain `yes` not addressed to the bot.
        alice.say('#deploys', 'yes');
        // Another command of bob runs as a command while the question waits.
        const karma = await bob.ask('#deploys', '!karma', { from: bot, until: (l) => l.length >= 2 });
        expect(karma[0]).toMatch(/you: ★/);
        bob.say('#deploys', 'yes');
        await bob.waitFor(
          () => bob.heard.slice(start).find((h) => h.from === bot && /✅ #\d+ demo\/HEAD .* → production succeeded/.test(h.text)),
          60_000,
          'the deploy',
        );
        const said = bob.heard
          .slice(start)
          .filter((h) => h.from === bot)
          .map((h) => h.text);
        expect(said.join('\n')).not.toMatch(/cancelled|no question waiting/);
      } finally {
        await bob.quit();
      }
    }, 120_000);

    it('GIVEN the question again THEN `!yes` in the channel and `no` in private answer it', async () => {
      const bob = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'bob', channels: ['#deploys'] });
      try {
        await bob.ask('#deploys', 'shepherd: deploy demo to production', { from: bot, until: (l) => l.some((x) => x.includes('about to deploy demo')) });
        let start = bob.heard.length;
        bob.say('#deploys', '!yes');
        await bob.waitFor(() => bob.heard.slice(start).find((h) => h.from === bot && /🚀 #\d+ deploying demo\/HEAD/.test(h.text)), 30_000, 'the deploy start');
        await bob.waitFor(() => bob.heard.slice(start).find((h) => h.from === bot && /✅ #\d+ demo/.test(h.text)), 60_000, 'the deploy end');
        // In a private conversation the question and the answer are private too.
        await bob.ask(bot, 'deploy demo to production', { from: bot, until: (l) => l.some((x) => x.includes('about to deploy demo')) });
        start = bob.heard.length;
        bob.say(bot, 'no');
        const lines = await bob.waitFor(
          () => bob.heard.slice(start).find((h) => h.from === bot && h.text.includes('cancelled: not confirmed')),
          30_000,
          'the cancel',
        );
        expect(lines.to).toBe('bob');
      } finally {
        await bob.quit();
      }
    }, 120_000);

    it('GIVEN the server restarts (down long enough to refuse the first reconnect) THEN the bot comes back and answers', async () => {
      const adapter = shepherd.adapters[0] as IrcAdapter;
      expect(adapter.ready).toBe(true);
      await alice.quit();
      await server.restart(2_500);
      alice = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'alice', channels: ['#deploys'] });
      // The bot is back once it has rejoined. Polled on a timer: its JOIN may land before alice is in the channel,
      // in which case she hears nothing that would prompt a re-check.
      await waitUntil('the adapter to be ready again', () => adapter.ready, 40_000);
      // Stars, then the history ('no changes yet' for a newcomer): wait for both so nothing spills into the next test.
      const lines = await alice.ask('#deploys', '!karma', { from: bot, until: (l) => l.length >= 2 });
      expect(lines[0]).toMatch(/★★★★☆ \(4\/5\)/);
      expect(server.log()).toMatch(/Server going down/);
    }, 60_000);
  });
});

// Each paced answer on its own bot: one bot's output queue cannot go faster than the pacing, three bots can wait side by side.
describe.skipIf(skip).concurrent('Shepherd on a real ngircd: long answers, each with its own bot', () => {
  /** Runs `body` with a fresh bot on its own server and alice in #deploys; stops them after. */
  async function withBot(body: (server: Ngircd, alice: IrcPerson) => Promise<void>): Promise<void> {
    const t = await botOnIrc();
    try {
      const alice = await IrcPerson.connect({ host: t.server.host, port: t.server.port, nick: 'alice', channels: ['#deploys'] });
      try {
        await body(t.server, alice);
      } finally {
        await alice.quit();
      }
    } finally {
      await t.close();
    }
  }

  it('GIVEN two long `!help all` in the channel THEN each goes whole to the asker by notice and another user is answered at once', async ({ expect }) => {
    await withBot(async (server, alice) => {
      const bob = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'bob', channels: ['#deploys'] });
      try {
        const start = alice.heard.length;
        const expected = toIrcLines(helpList(commands), payloadBytes(bot, 'alice'));
        alice.say('#deploys', '!help all');
        alice.say('#deploys', '!help all');
        // The first answer is on its way (its pointer in the channel comes first); the second waits behind it.
        await alice.waitFor(() => (alice.heard.slice(start).some((h) => h.to === '#deploys' && /went to you by notice/.test(h.text)) ? true : undefined));
        // Paced at 1 line/s after the burst, the two lists hold about 50 lines; bob's answer must not wait for them.
        const asked = bob.heard.length;
        bob.say('#deploys', '!karma');
        const karma = await bob.waitFor(
          () => {
            const got = bob.heard.slice(asked).filter((h) => h.from === bot && h.to === '#deploys' && !h.text.startsWith('alice:'));
            return got.length >= 2 ? got.map((h) => h.text) : undefined;
          },
          3_000,
          "bob's karma",
        );
        expect(karma).toEqual(['you: ★★★★☆ (4/5)', '  no changes yet']);
        expect(alice.noticesFrom(bot, start).length).toBeLessThan(expected.length * 2);
        // Nothing is lost: alice gets both lists whole, by notice, in order.
        const notices = await alice.waitFor(
          () => {
            const got = alice.noticesFrom(bot, start);
            return got.length >= expected.length * 2 ? got : undefined;
          },
          expected.length * 2 * 1_500 + 30_000,
        );
        expect(notices).toEqual([...expected, ...expected]);
        // In the channel: one line per answer, naming the asker (the second's comes after the first list).
        expect(
          alice.heard
            .slice(start)
            .filter((h) => h.to === '#deploys' && h.from === bot && h.text.startsWith('alice:'))
            .map((h) => h.text),
        ).toEqual([`alice: the answer (${expected.length} lines) went to you by notice`, `alice: the answer (${expected.length} lines) went to you by notice`]);
      } finally {
        await bob.quit();
      }
    });
  }, 120_000);

  it('GIVEN a private `help all` THEN the whole list comes back privately, not in the channel', async ({ expect }) => {
    await withBot(async (_server, alice) => {
      const before = alice.heard.length;
      // Exactly what the bot means to say, cut into IRC lines: one line per command after the heading.
      const expected = toIrcLines(helpList(commands), payloadBytes(bot, 'alice'));
      const lines = await alice.ask(bot, 'help all', { from: bot, until: (l) => l.length >= expected.length, timeoutMs: expected.length * 1_500 + 30_000 });
      expect(lines).toEqual(expected);
      expect(lines[0]).toMatch(/^Commands/);
      expect(alice.heard.slice(before).filter((h) => h.from === bot && h.to === '#deploys')).toEqual([]);
    });
  }, 120_000);

  it('GIVEN several locks with long reasons THEN `status` (over 2 kB) reaches the asker complete by notice, line by line', async ({ expect }) => {
    await withBot(async (_server, alice) => {
      expect((await alice.ask('#deploys', '!lock staging', { from: bot, until: (l) => l.length > 0 }))[0]).toMatch(/staging held by alice/);
      const reasons = reviewEnvs
        .slice(0, 8)
        .map((env, i) => `${env}: ${'verifying the schema migration and the backfill of customer invoices '.repeat(3).trim()} (${i})`);
      for (const [i, reason] of reasons.entries()) {
        const env = reviewEnvs[i] as string;
        const reply = await alice.ask('#deploys', `!lock ${env} ${reason}`, { from: bot, until: (l) => l.length > 0 });
        expect(reply[0]).toMatch(new RegExp(`${env} held by alice`));
      }
      const start = alice.heard.length;
      const pointer = await alice.ask('#deploys', '!status', { from: bot, until: (l) => l.length > 0 });
      expect(pointer).toEqual([expect.stringMatching(/^alice: the answer \(\d+ lines\) went to you by notice$/)]);
      const lines = await alice.waitFor(
        () => {
          const got = alice.noticesFrom(bot, start);
          return got.some((x) => x.startsWith('On call:')) && got.some((x) => x.includes('web:')) ? got : undefined;
        },
        60_000,
        'the status notices',
      );
      const text = lines.join('\n');
      expect(Buffer.byteLength(text)).toBeGreaterThan(2048);
      for (const reason of reasons) expect(text).toContain(reason.slice(0, 200));
      expect(text).toMatch(/staging held by alice/);
      for (const h of alice.heard.slice(start).filter((x) => x.from === bot)) expect(Buffer.byteLength(`${relayed(h)}\r\n`)).toBeLessThanOrEqual(512);
    });
  }, 120_000);
});

describe.skipIf(skip).concurrent('IrcAdapter output while the server is away', () => {
  describe.sequential('held output, then stop', () => {
    let server: Ngircd;
    let adapter: IrcAdapter;
    let bob: IrcPerson | undefined;

    beforeAll(async () => {
      server = await startNgircd();
    });

    afterAll(async () => {
      await bob?.quit();
      await adapter?.stop();
      await server?.stop();
    });

    it('GIVEN lines sent while disconnected THEN they wait and arrive in order after the reconnect', async () => {
      const env = envSchema.parse({ IRC_SERVER: server.host, IRC_PORT: String(server.port), IRC_CHANNELS: '#ops', IRC_NICK: 'keeper' });
      // The bot's first reconnect comes after 6.4 s or more (8 s less 20% jitter): bob must be back in #ops first,
      // and ngircd alone holds a new client's first JOIN for about a second, so leave a wide margin under load.
      adapter = new IrcAdapter(env, silent, { reconnectMinMs: 8_000, burst: 3, linesPerSecond: 10 });
      await adapter.start(async () => {});
      const down = server.restart(500);
      await waitUntil('the adapter to notice the server went away', () => !adapter.ready, 5_000);
      const sent = Array.from({ length: 6 }, (_, i) => adapter.send({ room: '#ops' }, `held line ${i + 1}`));
      await down;
      bob = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'bob', channels: ['#ops'] });
      expect(adapter.ready).toBe(false);
      expect(adapter.queued).toBe(6);
      await Promise.all(sent);
      const got = await bob.waitFor(() => {
        const lines = bob?.heard.filter((h) => h.from === 'keeper').map((h) => h.text) ?? [];
        return lines.length === 6 ? lines : undefined;
      }, 20_000);
      expect(got).toEqual(Array.from({ length: 6 }, (_, i) => `held line ${i + 1}`));
    }, 60_000);

    it('GIVEN stop() THEN it quits and send() refuses', async () => {
      await adapter.stop();
      expect(adapter.ready).toBe(false);
      await expect(adapter.send({ room: '#ops' }, 'too late')).rejects.toThrow(/closed/);
    });
  });
});
