/**
 * Chat with several instances on one PostgreSQL (a server of this file's own, a real ngircd, the fake Slack
 * driving real Bolt apps). IRC: one instance holds the connection by a lease; a standby's messages reach the
 * channel through the outbox (woken by NOTIFY: polling is turned off here), in order and once; a new holder
 * goes on after the last message the old one delivered, and a graceful stop hands the connection over at
 * once. Slack: each instance has its own Socket Mode connection, and an event redelivered to the other one is
 * answered once. The SIGKILL of a real holder process is in irc-failover-process.test.ts.
 */
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IrcAdapter } from '../../src/adapters/irc.js';
import { SlackAdapter } from '../../src/adapters/slack.js';
import { ircConnection, type LeasedIrc } from '../../src/chat/irc-lease.js';
import type { IncomingMessage } from '../../src/chat/types.js';
import { ChatEvents } from '../../src/store/chat-events.js';
import { ChatLeases } from '../../src/store/chat-leases.js';
import { ChatOutboxStore } from '../../src/store/chat-outbox.js';
import { type OpenedDatabase, openDatabase } from '../../src/store/db.js';
import { FakeSlack } from '../support/fake-slack.js';
import { IrcPerson } from '../support/irc-client.js';
import { type Ngircd, ngircdAvailable, skipWithoutNgircd, startNgircd } from '../support/ngircd.js';
import { type Postgres, PostgresMissing, postgresAvailable, startPostgres } from '../support/postgres.js';
import { waitUntil } from '../support/wait.js';

const missingPostgres = !postgresAvailable() && !process.env.CI;
if (missingPostgres) console.warn(`skipping: ${new PostgresMissing().message}`);
const skip = missingPostgres || (!ngircdAvailable() && skipWithoutNgircd());

describe.skipIf(skip)('chat with several instances on one PostgreSQL', () => {
  let server: Postgres;
  let ircd: Ngircd;
  const opened: OpenedDatabase[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    [server, ircd] = await Promise.all([startPostgres(), startNgircd({ penalties: false })]);
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    for (const d of opened) await d.prisma.$disconnect();
    await ircd?.stop();
    await server?.stop();
  });

  /** A fresh, migrated database on the server, as each instance would open it. */
  async function database(name: string): Promise<{ url: string; open: () => Promise<OpenedDatabase> }> {
    const admin = new pg.Client({ connectionString: server.url('postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const url = server.url(name);
    return {
      url,
      open: async () => {
        const d = await openDatabase(url);
        opened.push(d);
        return d;
      },
    };
  }

  it('GIVEN a dead holder that said 3 of 8 messages THEN a standby takes the lease when it runs out, joins alone and says 4..8 once; a standby’s messages follow in order through the outbox; a graceful stop hands over at once', async () => {
    const db = await database('irc_lease');
    const logger = pino({ level: 'silent' });
    const env = {
      IRC_SERVER: ircd.host,
      IRC_PORT: ircd.port,
      IRC_TLS: false,
      IRC_NICK: 'shepherd',
      IRC_CHANNELS: ['#deploys'],
      IRC_PASSWORD: undefined,
    };
    const alice = await IrcPerson.connect({ host: ircd.host, port: ircd.port, nick: 'alice', channels: ['#deploys'] });
    cleanups.push(() => alice.quit());
    const fromBot = () => alice.heard.filter((h) => h.from.startsWith('shepherd') && h.to === '#deploys').map((h) => h.text);
    const botJoins = () => alice.seen.filter((s) => s.type === 'join' && s.nick.startsWith('shepherd')).length;

    // An instance died holding the lease (it never renews again) after saying the first 3 messages.
    const setup = await db.open();
    const outboxRows = new ChatOutboxStore(setup.prisma);
    expect(await new ChatLeases(setup.prisma).acquire('irc', 'dead', 600_000)).toBe('taken');
    for (let i = 1; i <= 8; i++) await outboxRows.add({ network: 'irc', room: '#deploys', text: `backlog ${i}` });
    for (let i = 1; i <= 3; i++) expect((await outboxRows.take('irc', 'dead'))?.text).toBe(`backlog ${i}`);

    // Two instances: each its own database connections, lease timing from a 2 s heartbeat (looks every second), no polling.
    const instance = async (id: string) => {
      const d = await db.open();
      const irc = ircConnection({
        database: { kind: d.kind, prisma: d.prisma, url: db.url },
        create: () => new IrcAdapter(env, logger, { burst: 50, linesPerSecond: 50 }),
        instanceId: id,
        heartbeatMs: 2_000,
        pollMs: 600_000,
        logger,
      }) as LeasedIrc;
      const heard: IncomingMessage[] = [];
      await irc.start(async (m) => void heard.push(m));
      cleanups.push(() => irc.stop());
      return { id, irc, heard };
    };
    const b = await instance('B');
    const c = await instance('C');
    // The dead holder's lease still runs: both stand by, neither connects, and both count as ready.
    expect(b.irc.standingBy && c.irc.standingBy).toBe(true);
    expect(b.irc.ready && c.irc.ready).toBe(true);
    expect(botJoins()).toBe(0);
    // Its lease runs out (the test moves its end into the past rather than waiting 10 minutes).
    await setup.prisma.chatLease.update({ where: { name: 'irc' }, data: { expiresAt: new Date(Date.now() - 1) } });

    await alice.waitFor(() => (fromBot().includes('backlog 8') ? true : undefined), 20_000, 'the backlog from the new holder');
    expect(fromBot()).toEqual(['backlog 4', 'backlog 5', 'backlog 6', 'backlog 7', 'backlog 8']);
    expect(botJoins()).toBe(1);
    const [holder, standby] = b.irc.holding ? [b, c] : [c, b];
    expect(holder.irc.holding).toBe(true);
    expect(standby.irc.standingBy).toBe(true);

    // Commands arrive only at the holder.
    alice.say('#deploys', '!karma');
    await waitUntil('the command at the holder', () => holder.heard.length === 1);
    expect(standby.heard).toEqual([]);

    // What the standby says goes through the outbox to the holder, in order; the holder's own goes directly.
    await Promise.all(Array.from({ length: 10 }, (_, i) => standby.irc.send({ room: '#deploys' }, `from the standby ${i + 1}`)));
    await holder.irc.send({ room: '#deploys' }, 'from the holder');
    const expected = Array.from({ length: 10 }, (_, i) => `from the standby ${i + 1}`);
    await alice.waitFor(() => (expected.every((e) => fromBot().includes(e)) ? true : undefined), 20_000, 'the standby’s messages');
    expect(fromBot().filter((t) => t.startsWith('from the standby'))).toEqual(expected);
    const rows = await setup.prisma.chatOutbox.findMany({ orderBy: { id: 'asc' } });
    expect(rows.map((r) => r.deliveredBy)).toEqual([...Array(3).fill('dead'), ...Array(15).fill(holder.id)]);
    expect(botJoins()).toBe(1);

    // A graceful stop gives the lease up: the standby takes over without waiting for it to run out.
    await holder.irc.stop();
    await alice.waitFor(() => (botJoins() === 2 ? true : undefined), 15_000, 'the standby joining');
    expect(standby.irc.holding).toBe(true);
    await standby.irc.send({ room: '#deploys' }, 'after the handover');
    await alice.waitFor(() => (fromBot().includes('after the handover') ? true : undefined), 15_000, 'a message from the new holder');
    expect(fromBot().filter((t) => t === 'after the handover')).toHaveLength(1);
    expect(await setup.prisma.chatOutbox.count({ where: { deliveredAt: null } })).toBe(0);

    // A holder that finds the lease in someone else's hands (it stalled past its lease) quits IRC and stands by.
    const botQuits = () => alice.seen.filter((s) => s.type === 'quit' && s.nick.startsWith('shepherd')).length;
    expect(botQuits()).toBe(1);
    await setup.prisma.chatLease.update({ where: { name: 'irc' }, data: { holder: 'another', expiresAt: new Date(Date.now() + 600_000) } });
    await alice.waitFor(() => (botQuits() === 2 ? true : undefined), 15_000, 'the holder quitting');
    expect(standby.irc.standingBy).toBe(true);
    await standby.irc.send({ room: '#deploys' }, 'for the outbox');
    expect(await setup.prisma.chatOutbox.count({ where: { deliveredAt: null } })).toBe(1);
  }, 120_000);

  it('GIVEN two instances with a Socket Mode connection each THEN events spread over both, redelivered to the other connection and retried, are each answered once', async () => {
    const db = await database('slack_dedup');
    const slack = await FakeSlack.start();
    cleanups.push(() => slack.stop());
    const dropped: string[] = [];
    const logger = pino(
      { level: 'debug' },
      {
        write: (line: string) => {
          const entry = JSON.parse(line) as { msg?: string; event?: string };
          if (entry.msg?.includes('already taken') && entry.event) dropped.push(entry.event);
        },
      },
    );
    const env = {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_APP_TOKEN: slack.appToken,
      SLACK_API_URL: slack.apiUrl,
      SLACK_SIGNING_SECRET: undefined,
      SLACK_PORT: 3000,
    };
    const handled: { instance: string; text: string }[] = [];
    const instances = await Promise.all(
      ['A', 'B'].map(async (name) => {
        const d = await db.open();
        const events = new ChatEvents(d.prisma);
        const adapter = new SlackAdapter(env, logger, { firstDelivery: (id) => events.claim('slack', id) });
        await adapter.start(async (m) => {
          handled.push({ instance: name, text: m.text });
          await adapter.send(m.target, `answer to ${m.text}`);
        });
        cleanups.push(() => adapter.stop());
        return adapter;
      }),
    );
    expect(instances).toHaveLength(2);
    expect(slack.openConnections).toBe(2);

    const callbacks = Array.from({ length: 6 }, (_, i) => slack.appMention({ user: 'U1', channel: 'C1', text: `<@${slack.botUserId}> status ${i}` }));
    for (const [i, cb] of callbacks.entries()) {
      // Slack sends it to one connection, alternating; once answered, it comes again (its ack was lost): to the
      // other connection, as after a failover, and to the same one, both at once.
      await slack.sendEvent(cb, 0, i % 2);
      await slack.waitForPost((p) => p.text === `answer to status ${i}`);
      await Promise.all([slack.redeliver(cb, (i + 1) % 2, 1), slack.redeliver(cb, i % 2, 2)]);
    }
    await waitUntil('every redelivery dropped', () => dropped.length === 12);
    expect(handled.map((h) => h.text)).toEqual(callbacks.map((_, i) => `status ${i}`));
    expect(slack.posts().filter((p) => p.text.startsWith('answer to'))).toHaveLength(6);
    // The events were spread over both instances: the even ones went to one, the odd ones to the other.
    const even = new Set(handled.filter((_, i) => i % 2 === 0).map((h) => h.instance));
    const odd = new Set(handled.filter((_, i) => i % 2 === 1).map((h) => h.instance));
    expect(even.size === 1 && odd.size === 1 && [...even][0] !== [...odd][0]).toBe(true);
    expect(await opened.at(-1)?.prisma.chatEvent.count()).toBe(6);
  }, 120_000);
});
