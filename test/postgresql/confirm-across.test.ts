/**
 * ctx.confirm with two instances on one PostgreSQL (a server of this file's own, the fake Slack driving two real
 * Bolt apps, two real Bots with their own connections and LISTEN/NOTIFY). Slack delivers each event to one of the
 * app's Socket Mode connections, so the answer to a question A asked may reach B: it is recorded in the
 * database and wakes A, which goes on exactly once. Polling is turned off here, so NOTIFY is what delivers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackAdapter } from '../../src/adapters/slack.js';
import { Bot } from '../../src/bot.js';
import { defineCommand, systemClock } from '../../src/command.js';
import { loadConfig } from '../../src/config.js';
import { ChatEvents } from '../../src/store/chat-events.js';
import { type OpenedDatabase, openDatabase } from '../../src/store/db.js';
import { createStore } from '../../src/store/index.js';
import { openNotifier } from '../../src/store/notify.js';
import { TEST_CONFIG } from '../support/bot.js';
import { FakeSlack, type Post } from '../support/fake-slack.js';
import { type Postgres, PostgresMissing, postgresAvailable, startPostgres } from '../support/postgres.js';

const missingPostgres = !postgresAvailable() && !process.env.CI;
if (missingPostgres) console.warn(`skipping: ${new PostgresMissing().message}`);

const QUESTION = 'ship web to production?';

/** A command that asks before it acts and says what it was told, naming the instance that asked. */
const release = (instance: string) =>
  defineCommand({
    name: 'release',
    summary: 'asks, then says the answer',
    usage: ['release [<timeout ms>]'],
    examples: ['release'],
    roles: 'anyone',
    run: async (ctx) => {
      const answer = await ctx.confirm(QUESTION, ctx.args[0] ? Number(ctx.args[0]) : undefined);
      await ctx.reply(`answer ${answer} (asked on ${instance})`);
    },
  });

describe.skipIf(missingPostgres)('confirmations with two instances on one PostgreSQL', () => {
  let server: Postgres;
  let slack: FakeSlack;
  let url: string;
  const opened: OpenedDatabase[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const handled: { instance: string; text: string }[] = [];
  let room = 0;
  let config: ReturnType<typeof loadConfig>;

  /** One instance as main.ts wires it: its own database connections, notifier, Slack connection and Bot. */
  async function startInstance(name: string, questionPollMs: number) {
    const logger = pino({ level: 'silent' });
    const env = {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_APP_TOKEN: slack.appToken,
      SLACK_API_URL: slack.apiUrl,
      SLACK_SIGNING_SECRET: undefined,
      SLACK_PORT: 3000,
    };
    const connections = slack.connectionCount;
    const d = await openDatabase(url);
    opened.push(d);
    const notifier = await openNotifier(url, logger, name);
    const events = new ChatEvents(d.prisma);
    const adapter = new SlackAdapter(env, logger, { firstDelivery: (id) => events.claim('slack', id) });
    const bot = new Bot({
      commands: [release(name)],
      config,
      store: createStore(d.prisma, { karmaInitial: 4 }),
      clock: systemClock,
      logger,
      notifier,
      instanceId: name,
      questionPollMs,
    });
    await adapter.start(async (m) => {
      handled.push({ instance: name, text: m.text });
      await bot.handle(adapter, m);
    });
    await slack.connected(connections + 1);
    cleanups.push(
      () => notifier.close(),
      () => bot.stop(100),
      () => adapter.stop(),
    );
    return { notifier };
  }

  beforeAll(async () => {
    [server, slack] = await Promise.all([startPostgres(), FakeSlack.start()]);
    const admin = new pg.Client({ connectionString: server.url('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE "confirm_across"');
    await admin.end();
    url = server.url('confirm_across');
    const path = join(mkdtempSync(join(tmpdir(), 'shepherd-cfg-')), 'shepherd.yml');
    writeFileSync(path, TEST_CONFIG);
    config = loadConfig({ SHEPHERD_CONFIG: path, DATABASE_URL: url });
    // A first, then B: A's Socket Mode connection is #0, B's #1. Polling off: NOTIFY is what wakes the asker.
    await startInstance('A', 600_000);
    await startInstance('B', 600_000);
  }, 120_000);
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    for (const d of opened) await d.prisma.$disconnect();
    await slack?.stop();
    await server?.stop();
  });

  const A = 0;
  const B = 1;
  /** `@shepherd <text>` from U1 in a channel of its own, delivered to connection `via`. */
  const mention = (channel: string, text: string, via: number) =>
    slack.sendEvent(slack.appMention({ user: 'U1', channel, text: `<@${slack.botUserId}> ${text}` }), 0, via);
  /** A asks in a fresh channel; resolves with the question's message. */
  async function askedOnA(args = '', via = A): Promise<Post> {
    const channel = `C${++room}`;
    await mention(channel, `release ${args}`.trim(), via);
    return slack.waitForPost((p) => p.channel === channel && p.text.includes(QUESTION));
  }
  const click = (question: Post, answer: 'yes' | 'no', via: number) =>
    slack.sendInteractive(slack.blockActions({ user: 'U1', message: question, actionId: `shepherd_confirm_${answer}` }), via);
  const answers = (channel: string) => slack.posts(channel).filter((p) => p.text.startsWith('answer '));
  const row = (channel: string) => opened[0]!.prisma.chatQuestion.findFirstOrThrow({ where: { room: channel } });

  it('GIVEN A asked THEN a Yes click delivered to B resolves A’s question once: A goes on, the buttons show the answer, a second click finds nothing open', async () => {
    const question = await askedOnA();
    await click(question, 'yes', B);
    await slack.waitForPost((p) => p.channel === question.channel && p.text === 'answer yes (asked on A)');
    await slack.waitForUpdate((u) => u.ts === question.ts && u.text.includes('answered yes'));
    expect(handled.filter((h) => h.text !== 'release').map((h) => h.instance)).toEqual(['B']);
    expect(await row(question.channel)).toMatchObject({ instance: 'A', answer: 'yes', answeredBy: 'B' });
    // The same click again (on either connection) answers nothing: the question is closed.
    await click(question, 'yes', A);
    await slack.waitForPost((p) => p.channel === question.channel && p.text.includes('there is no question waiting for your `yes` here'));
    expect(answers(question.channel).map((p) => p.text)).toEqual(['answer yes (asked on A)']);
  });

  it('GIVEN A asked THEN `@shepherd no` typed and delivered to B answers no on A', async () => {
    const question = await askedOnA();
    await mention(question.channel, 'no', B);
    await slack.waitForPost((p) => p.channel === question.channel && p.text === 'answer no (asked on A)');
    expect(await row(question.channel)).toMatchObject({ answer: 'no', answeredBy: 'B' });
  });

  it('GIVEN a Yes click on B and a typed no on A at once THEN A goes on once, with the answer the database recorded first', async () => {
    const question = await askedOnA();
    await Promise.all([click(question, 'yes', B), mention(question.channel, 'no', A)]);
    const [said] = await slack.waitForPosts((p) => p.channel === question.channel && p.text.startsWith('answer '));
    const stored = await row(question.channel);
    expect(said?.text).toBe(`answer ${stored.answer} (asked on A)`);
    // The loser is told there is nothing to answer any more; the command answered once.
    await slack.waitForPost((p) => p.channel === question.channel && p.text.includes('there is no question waiting'));
    expect(answers(question.channel)).toHaveLength(1);
  });

  it('GIVEN A’s question timed out THEN a late Yes on B gets one line saying it expired, and nothing goes on', async () => {
    const question = await askedOnA('1500');
    await slack.waitForPost((p) => p.channel === question.channel && p.text.startsWith('⌛ no answer within'));
    await slack.waitForPost((p) => p.channel === question.channel && p.text === 'answer timeout (asked on A)');
    await click(question, 'yes', B);
    const late = await slack.waitForPost((p) => p.channel === question.channel && p.text.includes('expired'));
    expect(late.text).toMatch(
      /there is no question waiting for your `yes` here: it expired after .+ without an answer and was taken as no — run the command again/,
    );
    expect(late.text.split('\n')).toHaveLength(1);
    expect(await row(question.channel)).toMatchObject({ answer: 'timeout', answeredBy: 'A' });
    expect(answers(question.channel).map((p) => p.text)).toEqual(['answer timeout (asked on A)']);
  });

  it('GIVEN C lost its LISTEN connection THEN a Yes on B still reaches C’s question, by the poll', async () => {
    const c = await startInstance('C', 300);
    // C hears no notification any more (its listening connection is closed): only its poll can find the answer.
    await c.notifier.close();
    const question = await askedOnA('', 2);
    expect(handled.at(-1)).toEqual({ instance: 'C', text: 'release' });
    await click(question, 'yes', B);
    await slack.waitForPost((p) => p.channel === question.channel && p.text === 'answer yes (asked on C)');
    expect(await row(question.channel)).toMatchObject({ instance: 'C', answer: 'yes', answeredBy: 'B' });
  });
});
