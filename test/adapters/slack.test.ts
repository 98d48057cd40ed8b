/**
 * The whole bot on Slack: startShepherd() with SLACK_* pointing at a local Slack (test/support/fake-slack.ts),
 * driven through the real Bolt app over Socket Mode and over HTTP with signed requests.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { Adapter } from '../../src/adapters/adapter.js';
import { escapeText, splitMessage } from '../../src/adapters/slack.js';
import { type Shepherd, startShepherd } from '../../src/main.js';
import { FakeSlack, type Post, signedPost } from '../support/fake-slack.js';

const CONFIG = resolve('shepherd.example.yml');
const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0001';
const CHANNEL = 'C0DEPLOYS';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'shepherd-slack-'));
}

function baseEnv(dir: string, slack: FakeSlack): Record<string, string> {
  return {
    SHEPHERD_CONFIG: CONFIG,
    DATABASE_URL: `file:${join(dir, 't.db')}`,
    LOG_LEVEL: 'silent',
    WEB_PORT: '0',
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_API_URL: slack.apiUrl,
  };
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

describe('Slack over Socket Mode', () => {
  let slack: FakeSlack;
  let shepherd: Shepherd;
  let adapter: Adapter;
  let dir: string;

  beforeAll(async () => {
    slack = await FakeSlack.start();
    slack.users.set(ALICE, { name: 'alice.smith', real_name: 'Alice Smith', display_name: 'alice' });
    slack.users.set(BOB, { name: 'bob', real_name: 'Bob Jones' });
    dir = tempDir();
    shepherd = await startShepherd({ env: { ...baseEnv(dir, slack), SLACK_APP_TOKEN: slack.appToken } });
    adapter = shepherd.adapters[0] as Adapter;
    await slack.connected();
  });

  afterAll(async () => {
    await shepherd?.stop();
    await slack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connects with the app token and knows its bot user from auth.test', () => {
    expect(adapter.name).toBe('slack');
    expect(slack.callsOf('auth.test')[0]?.token).toBe(slack.botToken);
    expect(slack.callsOf('apps.connections.open')[0]?.token).toBe(slack.appToken);
    expect(adapter.mention({ externalId: ALICE, handle: 'alice' })).toBe(`<@${ALICE}>`);
  });

  it('answers `@shepherd karma` in the channel, after acknowledging the envelope', async () => {
    const callback = slack.appMention({ user: ALICE, channel: CHANNEL, text: `<@${slack.botUserId}> karma` });
    const ack = await slack.sendEvent(callback);
    expect(ack.envelope_id).toEqual(expect.any(String));
    const post = await slack.waitForPost((p) => p.channel === CHANNEL && p.text.includes('(4/5)'));
    expect(post.text).toMatch(/^you: ★★★★☆ \(4\/5\)/);
    expect(post.thread_ts).toBeUndefined();
    // The display name came from users.info.
    expect(slack.callsOf('users.info').some((c) => c.args.user === ALICE)).toBe(true);
  });

  it('answers a mention inside a thread in that thread', async () => {
    const threadTs = '1700000000.000100';
    await slack.sendEvent(slack.appMention({ user: ALICE, channel: CHANNEL, text: `<@${slack.botUserId}> whoami`, threadTs }));
    const post = await slack.waitForPost((p) => p.thread_ts === threadTs);
    expect(post.channel).toBe(CHANNEL);
    expect(post.text).toContain(`slack:${ALICE} (alice)`);
  });

  it('answers a direct message in the DM, naming the user by display name', async () => {
    await slack.sendEvent(slack.directMessage({ user: ALICE, channel: 'D0ALICE01', text: 'whoami' }));
    const post = await slack.waitForPost((p) => p.channel === 'D0ALICE01');
    expect(post.text).toMatch(new RegExp(`^you are slack:${ALICE} \\(alice\\);`));
    expect(post.thread_ts).toBeUndefined();
  });

  it('falls back to the real name, and to the user id when users.info fails', async () => {
    await slack.sendEvent(slack.directMessage({ user: BOB, channel: 'D0BOB0001', text: 'whoami' }));
    expect((await slack.waitForPost((p) => p.channel === 'D0BOB0001')).text).toContain(`slack:${BOB} (Bob Jones)`);
    await slack.sendEvent(slack.directMessage({ user: 'U0NOBODY1', channel: 'D0NOBODY1', text: 'whoami' }));
    const post = await slack.waitForPost((p) => p.channel === 'D0NOBODY1');
    expect(post.text).toMatch(/^you are slack:U0NOBODY1;/);
  });

  it('acks `/shepherd lock staging` and posts the answer in the channel for everyone, saying who asked', async () => {
    const ack = await slack.sendCommand(slack.slashCommand({ user: ALICE, channel: CHANNEL, text: 'lock staging' }));
    expect(ack.envelope_id).toEqual(expect.any(String));
    const post = await slack.waitForPost((p) => p.channel === CHANNEL && p.text.startsWith('🔒 staging'));
    expect(post.text).toMatch(/^🔒 staging held by alice since just now — `unlock staging` when done\n\(<@U0ALICE01> asked: \/shepherd lock staging\)$/);
    // Tidy up so other tests see no lock.
    await slack.sendCommand(slack.slashCommand({ user: ALICE, channel: CHANNEL, text: 'unlock staging' }));
    await slack.waitForPost((p) => p.channel === CHANNEL && p.text.startsWith('🔓 staging is free'));
  });

  it('answers through the response_url where the bot cannot post', async () => {
    slack.nonMembers.add('G0PRIVATE');
    await slack.sendCommand(slack.slashCommand({ user: ALICE, channel: 'G0PRIVATE', channelName: 'privategroup', text: 'karma alice' }));
    const response = await slack.waitForResponse((r) => String(r.body.text).includes('(4/5)'));
    expect(response.body.response_type).toBe('in_channel');
    expect(slack.posts('G0PRIVATE')).toEqual([]);
  });

  it('answers an unknown command with the short usage line', async () => {
    await slack.sendEvent(slack.appMention({ user: ALICE, channel: 'C0UNKNOWN', text: `<@${slack.botUserId}> frobnicate now` }));
    const post = await slack.waitForPost((p) => p.channel === 'C0UNKNOWN');
    expect(post.text).toBe('unknown command `frobnicate` — try `help`');
  });

  it("ignores the bot's own messages, other bots and edits", async () => {
    const dm = 'D0IGNORE1';
    await slack.sendEvent(slack.directMessage({ user: slack.botUserId, channel: dm, text: 'karma', extra: { bot_id: slack.botId, app_id: slack.appId } }));
    await slack.sendEvent(slack.directMessage({ user: 'U0OTHERBT', channel: dm, text: 'karma', extra: { subtype: 'bot_message', bot_id: 'B0OTHER01' } }));
    await slack.sendEvent(slack.directMessage({ user: ALICE, channel: dm, text: 'karma', extra: { subtype: 'message_changed' } }));
    await slack.sendEvent(slack.directMessage({ user: ALICE, channel: dm, text: 'whoami' }));
    await slack.waitForPost((p) => p.channel === dm && p.text.startsWith('you are'));
    expect(slack.posts(dm).map((p) => p.text.slice(0, 7))).toEqual(['you are']);
  });

  it('answers an event Slack retries only once', async () => {
    const callback = slack.appMention({ user: ALICE, channel: 'C0RETRIED', text: `<@${slack.botUserId}> whoami` });
    await slack.sendEvent(callback);
    await slack.sendEvent(callback, 1);
    await slack.sendEvent(slack.appMention({ user: ALICE, channel: 'C0RETRIED', text: `<@${slack.botUserId}> karma` }));
    await slack.waitForPosts((p) => p.channel === 'C0RETRIED', 2);
    expect(slack.posts('C0RETRIED').filter((p) => p.text.startsWith('you are'))).toHaveLength(1);
  });

  it('reconnects when Slack recycles the connection, even after a failed attempt, and keeps answering', async () => {
    const before = slack.connectionCount;
    const refused = () => slack.callsOf('apps.connections.open').filter((c) => c.response.ok === false).length;
    const refusedBefore = refused();
    slack.appTokenRevoked = true;
    slack.requestReconnect();
    await slack.waitForCall('apps.connections.open', () => refused() > refusedBefore);
    slack.appTokenRevoked = false;
    await slack.connected(before + 1);
    await slack.sendEvent(slack.appMention({ user: ALICE, channel: 'C0RECONNE', text: `<@${slack.botUserId}> whoami` }));
    expect((await slack.waitForPost((p) => p.channel === 'C0RECONNE')).text).toMatch(/^you are/);
  });

  it('posts replies to one channel in order, each under the limit, and returns refs for threads', async () => {
    const refs = await Promise.all([1, 2, 3, 4, 5].map((n) => adapter.send({ room: 'C0ORDERED' }, `line ${n} <b> & co`)));
    expect(slack.posts('C0ORDERED').map((p) => p.text)).toEqual([1, 2, 3, 4, 5].map((n) => `line ${n} &lt;b&gt; &amp; co`));
    expect(refs.map((r) => r.id)).toEqual(slack.posts('C0ORDERED').map((p) => p.ts));
    const reply = await adapter.send({ room: 'C0ORDERED', thread: refs[0]?.id }, 'in the thread');
    expect(slack.posts('C0ORDERED').at(-1)).toMatchObject({ text: 'in the thread', thread_ts: refs[0]?.id });
    expect(reply).toMatchObject({ room: 'C0ORDERED', thread: refs[0]?.id });
  });

  it('waits out a 429 with Retry-After and keeps the order', async () => {
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    await Promise.all(['a', 'b', 'c'].map((t) => adapter.send({ room: 'C0LIMITED' }, t)));
    expect(slack.posts('C0LIMITED').map((p) => p.text)).toEqual(['a', 'b', 'c']);
    expect(slack.callsOf('chat.postMessage').filter((c) => c.args.channel === 'C0LIMITED' && c.status === 429)).toHaveLength(1);
  });

  it('rejects send() with Slack’s reason when a post fails, and keeps going', async () => {
    slack.failNext('chat.postMessage', { error: 'channel_not_found' });
    await expect(adapter.send({ room: 'C0MISSING' }, 'hello')).rejects.toThrow(/could not post to Slack conversation C0MISSING: channel_not_found/);
    await adapter.send({ room: 'C0MISSING' }, 'again');
    expect(slack.posts('C0MISSING').map((p) => p.text)).toEqual(['again']);
    // A handler whose reply fails does not take the bot down either.
    slack.failNext('chat.postMessage', { error: 'msg_too_long' }, { error: 'msg_too_long' });
    await slack.sendEvent(slack.appMention({ user: ALICE, channel: 'C0FAILING', text: `<@${slack.botUserId}> karma` }));
    await slack.sendEvent(slack.appMention({ user: ALICE, channel: 'C0FAILING', text: `<@${slack.botUserId}> whoami` }));
    await slack.waitForPost((p) => p.channel === 'C0FAILING');
  });
});

describe('Slack over HTTP (Events API with signed requests)', () => {
  const SECRET = 'fake-signing-secret-8f2d';
  let slack: FakeSlack;
  let shepherd: Shepherd;
  let dir: string;
  let url: string;

  function sign(body: string, timestamp = Math.floor(Date.now() / 1000), secret = SECRET): Record<string, string> {
    const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    return { 'X-Slack-Request-Timestamp': String(timestamp), 'X-Slack-Signature': signature };
  }

  async function post(body: string, headers: Record<string, string>, contentType = 'application/json'): Promise<Response> {
    return fetch(url, { method: 'POST', headers: { 'Content-Type': contentType, ...headers }, body });
  }

  beforeAll(async () => {
    slack = await FakeSlack.start();
    slack.users.set(ALICE, { name: 'alice.smith', display_name: 'alice' });
    dir = tempDir();
    const port = await freePort();
    shepherd = await startShepherd({ env: { ...baseEnv(dir, slack), SLACK_SIGNING_SECRET: SECRET, SLACK_PORT: String(port) } });
    url = `http://127.0.0.1:${port}/slack/events`;
  });

  afterAll(async () => {
    await shepherd?.stop();
    await slack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rejects a forged signature with 401 and posts nothing', async () => {
    const body = JSON.stringify(slack.appMention({ user: ALICE, channel: 'C0FORGED', text: `<@${slack.botUserId}> karma` }));
    const forged = await post(body, sign(body, undefined, 'not-the-secret'));
    expect(forged.status).toBe(401);
    const stale = await post(body, sign(body, Math.floor(Date.now() / 1000) - 600));
    expect(stale.status).toBe(401);
    const unsigned = await post(body, {});
    expect(unsigned.status).toBe(401);
    // A signed message in the same channel is answered; the forged one never was.
    const good = JSON.stringify(slack.appMention({ user: ALICE, channel: 'C0FORGED', text: `<@${slack.botUserId}> whoami` }));
    expect((await post(good, sign(good))).status).toBe(200);
    await slack.waitForPost((p) => p.channel === 'C0FORGED');
    expect(slack.posts('C0FORGED').map((p) => p.text.slice(0, 7))).toEqual(['you are']);
  });

  it('answers a correctly signed app_mention', async () => {
    const body = JSON.stringify(slack.appMention({ user: ALICE, channel: 'C0SIGNED', text: `<@${slack.botUserId}> karma` }));
    const res = await post(body, sign(body));
    expect(res.status).toBe(200);
    const reply = await slack.waitForPost((p) => p.channel === 'C0SIGNED');
    expect(reply.text).toMatch(/^you: ★★★★☆ \(4\/5\)/);
  });

  it('answers a signed slash command sent as a form (whoami: only to the asker, through the response_url)', async () => {
    const body = new URLSearchParams(slack.slashCommand({ user: ALICE, channel: 'C0FORM001', text: 'whoami' })).toString();
    const res = await post(body, sign(body), 'application/x-www-form-urlencoded');
    expect(res.status).toBe(200);
    const answer = await slack.waitForResponse((r) => String(r.body.text).includes(`slack:${ALICE} (alice)`));
    expect(answer.body.response_type).toBe('ephemeral');
    expect(slack.posts('C0FORM001')).toEqual([]);
  });

  it('answers the url_verification challenge', async () => {
    const body = JSON.stringify({
      token: 'fake-verification-token',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });
    const res = await post(body, sign(body));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });
});

/** The example config, with alice as release manager (production asks for confirmation) and the demo deployed here. */
function confirmConfig(dir: string): string {
  const config = parseYaml(readFileSync(CONFIG, 'utf8'));
  config.release_managers.push(`slack:${ALICE}`);
  config.apps.demo.repo_url = process.cwd();
  config.apps.demo.deploy_to = join(dir, 'demo-deploy');
  const path = join(dir, 'shepherd.yml');
  writeFileSync(path, toYaml(config));
  return path;
}

/** Confirmation questions on Slack, over whichever transport `send` uses for the button click. */
function confirmations(mode: 'socket' | 'http') {
  const SECRET = 'fake-signing-secret-confirm';
  let slack: FakeSlack;
  let shepherd: Shepherd;
  let dir: string;
  let url = '';
  let room = 0;

  beforeAll(async () => {
    slack = await FakeSlack.start();
    slack.users.set(ALICE, { name: 'alice.smith', display_name: 'alice' });
    slack.users.set(BOB, { name: 'bob', real_name: 'Bob Jones' });
    dir = tempDir();
    const env = { ...baseEnv(dir, slack), SHEPHERD_CONFIG: confirmConfig(dir) };
    if (mode === 'socket') {
      shepherd = await startShepherd({ env: { ...env, SLACK_APP_TOKEN: slack.appToken } });
      await slack.connected();
    } else {
      const port = await freePort();
      shepherd = await startShepherd({ env: { ...env, SLACK_SIGNING_SECRET: SECRET, SLACK_PORT: String(port) } });
      url = `http://127.0.0.1:${port}/slack/events`;
    }
  });

  afterAll(async () => {
    await shepherd?.stop();
    await slack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Delivers an app_mention the way this transport does. */
  async function mention(channel: string, user: string, text: string): Promise<void> {
    const callback = slack.appMention({ user, channel, text: `<@${slack.botUserId}> ${text}` });
    if (mode === 'socket') await slack.sendEvent(callback);
    else {
      const res = await signedPost(url, SECRET, JSON.stringify(callback), 'application/json');
      expect(res.status).toBe(200);
    }
  }

  /** Clicks a button under the question the way this transport delivers interactivity. */
  async function click(user: string, question: Post, actionId: 'shepherd_confirm_yes' | 'shepherd_confirm_no'): Promise<void> {
    const payload = slack.blockActions({ user, message: question, actionId });
    if (mode === 'socket') await slack.sendInteractive(payload);
    else expect((await slack.postInteractive(url, SECRET, payload)).status).toBe(200);
  }

  async function ask(channel: string): Promise<Post> {
    await mention(channel, ALICE, 'deploy demo to production');
    return slack.waitForPost((p) => p.channel === channel && p.text.includes('about to deploy demo'));
  }

  const succeeded = (channel: string) =>
    vi.waitFor(() => expect(slack.posts(channel).some((p) => /✅ #\d+ demo\/HEAD .* → production succeeded/.test(p.text))).toBe(true), {
      timeout: 60_000,
      interval: 100,
    });

  it('GIVEN a deploy that needs confirmation THEN the question has Yes/No buttons and names `@shepherd yes` with the real mention', async () => {
    const channel = `C0ASK${mode}${++room}`;
    const question = await ask(channel);
    expect(question.text).toContain(`<@${slack.botUserId}> yes`);
    expect(question.text).toContain(`<@${ALICE}>`);
    const buttons = question.blocks?.filter((b) => b.type === 'actions').flatMap((b) => b.elements as { action_id: string; value: string }[]);
    expect(buttons?.map((b) => [b.action_id, b.value])).toEqual([
      ['shepherd_confirm_yes', ALICE],
      ['shepherd_confirm_no', ALICE],
    ]);
    // Bob's click is refused privately and answers nothing; alice's Yes deploys.
    await click(BOB, question, 'shepherd_confirm_yes');
    const ephemeral = await slack.waitForCall('chat.postEphemeral');
    expect(ephemeral.args).toMatchObject({ channel, user: BOB, text: `only <@${ALICE}> can answer this question` });
    expect(slack.updates()).toEqual([]);
    await click(ALICE, question, 'shepherd_confirm_yes');
    const update = await slack.waitForUpdate((u) => u.ts === question.ts);
    expect(update.text).toContain(`✅ <@${ALICE}> answered yes`);
    // The buttons are gone from the answered question.
    expect(update.blocks?.some((b) => b.type === 'actions')).toBe(false);
    await succeeded(channel);
  }, 90_000);

  it('GIVEN a pending question THEN another command runs as a command, and `@shepherd yes` answers', async () => {
    const channel = `C0TYPE${mode}${++room}`;
    const question = await ask(channel);
    await mention(channel, ALICE, 'karma');
    await slack.waitForPost((p) => p.channel === channel && p.text.startsWith('you: ★'));
    await mention(channel, ALICE, 'yes');
    const update = await slack.waitForUpdate((u) => u.ts === question.ts);
    expect(update.text).toContain(`✅ <@${ALICE}> answered yes`);
    await succeeded(channel);
  }, 90_000);

  it('GIVEN No is clicked THEN the question shows the answer and nothing deploys', async () => {
    const channel = `C0NO${mode}${++room}`;
    const question = await ask(channel);
    await click(ALICE, question, 'shepherd_confirm_no');
    expect((await slack.waitForUpdate((u) => u.ts === question.ts)).text).toContain(`❌ <@${ALICE}> answered no`);
    await slack.waitForPost(
      (p) => p.channel === channel && /cancelled: not confirmed — demo\/production stays on (what it runs now|[0-9a-f]{7}), nothing was deployed/.test(p.text),
    );
    expect(slack.posts(channel).some((p) => p.text.includes('🚀'))).toBe(false);
  }, 60_000);
}

describe('Slack confirmations over Socket Mode', () => confirmations('socket'));
describe('Slack confirmations over HTTP (interactivity signed and form-encoded)', () => confirmations('http'));

describe('Slack start-up', () => {
  it('refuses to start with a token Slack rejects, saying why', async () => {
    const slack = await FakeSlack.start();
    const dir = tempDir();
    try {
      await expect(startShepherd({ env: { ...baseEnv(dir, slack), SLACK_BOT_TOKEN: 'xoxb-wrong', SLACK_APP_TOKEN: slack.appToken } })).rejects.toThrow(
        'Slack did not accept SLACK_BOT_TOKEN: invalid_auth',
      );
    } finally {
      await slack.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Slack text', () => {
  it('escapes &, < and > but keeps user mentions live', () => {
    expect(escapeText('<@U123ABC> locked <!channel> & a<b>')).toBe('<@U123ABC> locked &lt;!channel&gt; &amp; a&lt;b&gt;');
  });

  it('splits long text at line breaks', () => {
    const text = ['a'.repeat(6), 'b'.repeat(6), 'c'.repeat(25)].join('\n');
    expect(splitMessage(text, 14)).toEqual(['aaaaaa\nbbbbbb', 'c'.repeat(14), 'c'.repeat(11)]);
    expect(splitMessage('short', 14)).toEqual(['short']);
  });
});
