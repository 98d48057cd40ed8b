/**
 * Slack beyond text, through the real Bolt app against the local Slack (test/support/fake-slack.ts): deploy
 * cards in Block Kit with a progress bar updated by chat.update (merged, Retry-After honoured, text when Slack
 * answers invalid_blocks), buttons that run the same commands as typing them (with the same role checks), the
 * Approve button of a deploy awaiting approval, and ephemeral answers through the response_url.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { Adapter } from '../../src/adapters/adapter.js';
import { maskChat } from '../../src/adapters/masked.js';
import { type DeployCard, progressBar } from '../../src/chat/rich.js';
import { cardBlocks } from '../../src/chat/slack-blocks.js';
import { type Shepherd, startShepherd } from '../../src/main.js';
import { FakeSlack, type Post, validateBlocks } from '../support/fake-slack.js';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';

const ALICE = 'U0ALICE01'; // release manager
const CAROL = 'U0CAROL01'; // release manager
const BOB = 'U0BOB0001'; // developer

const noSshd = skipWithoutSshd();
let sshd: Sshd | undefined;
let slack: FakeSlack;
let shepherd: Shepherd;
let adapter: Required<Adapter>;
let dir: string;
let room = 0;

function config(): string {
  const path = join(dir, 'shepherd.yml');
  writeFileSync(
    path,
    toYaml({
      release_managers: [`slack:${ALICE}`, `slack:${CAROL}`],
      apps: {
        // Three real hosts (sshd on 127.0.0.2-4): progress across hosts; the second one fails in `broken`.
        ...(sshd
          ? {
              web: {
                repo_url: process.cwd(),
                deploy_to: sshd.deployTo,
                default_environment: 'staging',
                ssh: { user: 'root', private_key_path: sshd.clientKey, known_hosts: join(dirname(sshd.clientKey), 'known_hosts') },
                connect_timeout: '5s',
                steps: [
                  'echo "building on $SHEPHERD_HOST"',
                  `case "$SHEPHERD_ENV $SHEPHERD_HOST" in "broken ${sshd.hosts[1]?.host}"*) echo "exploded: disk full"; exit 3;; esac`,
                ],
                environments: {
                  staging: { hosts: sshd.hosts.map((h) => h.entry), concurrency: 1 },
                  broken: { hosts: sshd.hosts.map((h) => h.entry), concurrency: 1, max_failures: 3 },
                },
              },
            }
          : {}),
        demo: {
          repo_url: process.cwd(),
          transport: 'local',
          deploy_to: join(dir, 'demo'),
          default_environment: 'staging',
          steps: ['echo "building on $SHEPHERD_HOST"'],
          environments: {
            staging: { hosts: ['localhost'] },
            production: { hosts: ['localhost'], allowed_roles: ['release_manager'], url: 'https://demo.example.com' },
            gated: { hosts: ['localhost'], allowed_roles: ['release_manager'], approvals: 1 },
          },
        },
      },
    }),
  );
  return path;
}

beforeAll(async () => {
  slack = await FakeSlack.start();
  slack.users.set(ALICE, { name: 'alice', display_name: 'alice' });
  slack.users.set(BOB, { name: 'bob', display_name: 'bob' });
  slack.users.set(CAROL, { name: 'carol', display_name: 'carol' });
  dir = mkdtempSync(join(tmpdir(), 'shepherd-slack-deploys-'));
  if (!noSshd) sshd = await startSshd({ hosts: 3 });
  shepherd = await startShepherd({
    env: {
      SHEPHERD_CONFIG: config(),
      DATABASE_URL: `file:${join(dir, 't.db')}`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      WEB_PORT: '0',
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_API_URL: slack.apiUrl,
      SLACK_APP_TOKEN: slack.appToken,
    },
  });
  adapter = shepherd.adapters[0] as Required<Adapter>;
  await slack.connected();
}, 60_000);

afterAll(async () => {
  await shepherd?.stop();
  await slack?.stop();
  await sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const channel = (name: string) => `C0${name.toUpperCase()}${++room}`;

async function mention(ch: string, user: string, text: string): Promise<void> {
  await slack.sendEvent(slack.appMention({ user, channel: ch, text: `<@${slack.botUserId}> ${text}` }));
}

function blockText(blocks: Record<string, unknown>[] | undefined): string {
  return JSON.stringify(blocks ?? []);
}

function buttons(post: Pick<Post, 'blocks'>): { action_id: string; text: { text: string }; value?: string; url?: string }[] {
  return (post.blocks ?? []).filter((b) => b.type === 'actions').flatMap((b) => b.elements as never[]);
}

async function click(user: string, message: Post, label: string): Promise<void> {
  const button = buttons(message).find((b) => b.text.text === label);
  if (!button) throw new Error(`no ${label} button on ${message.ts}`);
  await slack.sendInteractive(slack.blockActions({ user, message, actionId: button.action_id }));
}

/** Deploys take their time on a busy machine: wait for what they post longer than the fake's own 10 s. */
function eventually<T>(find: () => T | undefined): Promise<T> {
  return vi.waitFor(
    () => {
      const found = find();
      if (found === undefined) throw new Error('not yet');
      return found;
    },
    { timeout: 60_000, interval: 50 },
  );
}

async function deployCard(ch: string, user: string, what: string): Promise<Post> {
  await mention(ch, user, `deploy ${what}`);
  return eventually(() => slack.posts(ch).find((p) => (p.blocks ?? []).some((b) => b.type === 'header')));
}

const finalUpdate = (ch: string, ts: string, state: string) =>
  eventually(() => slack.updates().find((u) => u.channel === ch && u.ts === ts && u.text.includes(` ${state} in `)));

describe.skipIf(noSshd)('deploy cards over three real hosts', () => {
  it('GIVEN a deploy to 3 hosts THEN one Block Kit card (header, fields, progress bar, View log/Cancel/Rollback) is updated in place, no thread reply per host', async () => {
    const ch = channel('card');
    const card = await deployCard(ch, ALICE, 'web to staging');
    const header = card.blocks?.[0] as { type: string; text: { text: string } };
    expect(header.type).toBe('header');
    expect(header.text.text).toMatch(/^🚀 #(\d+) deploying web\/HEAD \([0-9a-f]{7}\) → staging$/);
    const id = /#(\d+)/.exec(header.text.text)?.[1];
    const fields = (card.blocks?.[1]?.fields as { text: string }[]).map((f) => f.text);
    expect(fields).toEqual([
      '*App*\nweb',
      expect.stringMatching(/^\*Ref\*\nHEAD \([0-9a-f]{7}\)$/),
      '*Environment*\nstaging',
      '*Hosts*\n3',
      `*Requested by*\n<@${ALICE}>`,
    ]);
    expect(blockText(card.blocks)).toContain('░░░ 0/3 hosts');
    expect(buttons(card).map((b) => [b.text.text, b.value ?? b.url])).toEqual([
      ['View log', `${shepherd.web.baseUrl}/deploys/${id}`],
      ['Cancel', `cancel ${id}`],
      ['Rollback', 'rollback web in staging'],
    ]);
    // Viewer links do not unfurl.
    const call = slack.callsOf('chat.postMessage').find((c) => c.response.ts === card.ts);
    expect(String(call?.args.unfurl_links)).toBe('false');
    expect(String(call?.args.unfurl_media)).toBe('false');

    const done = await finalUpdate(ch, card.ts, 'succeeded');
    expect(blockText(done.blocks)).toContain('▓▓▓ 3/3 hosts');
    // Ended: no Cancel any more; View log and Rollback stay.
    expect(buttons(done).map((b) => b.text.text)).toEqual(['View log', 'Rollback']);
    // Progress went into the card, not into the thread; the final line still tells the requester in the room.
    expect(slack.posts(ch).filter((p) => p.thread_ts === card.ts && /hosts done|\d\/3/.test(p.text))).toEqual([]);
    await slack.waitForPost(
      (p) => p.channel === ch && !p.thread_ts && p.text.includes(`#${id}`) && p.text.includes('succeeded') && p.text.includes(`<@${ALICE}>`),
    );
    // Every card update stayed inside Slack's limits (the fake refuses anything else).
    expect(slack.callsOf('chat.update').filter((c) => c.args.channel === ch && c.response.ok !== true)).toEqual([]);
  }, 120_000);

  it("GIVEN a host fails THEN the failure and that host's last log lines go to the thread, the card shows the failure", async () => {
    const ch = channel('fail');
    const card = await deployCard(ch, ALICE, 'web to broken');
    const failure = await eventually(() => slack.posts(ch).find((p) => p.thread_ts === card.ts && p.text.includes('✗')));
    expect(failure.text).toContain(`✗ ${sshd?.hosts[1]?.entry}: `);
    expect(failure.text).toContain('exploded: disk full');
    // max_failures: 3 lets the other hosts finish: it succeeds, with the failed host counted on the bar.
    const done = await finalUpdate(ch, card.ts, 'succeeded');
    expect(blockText(done.blocks)).toContain('▓▓▓ 3/3 hosts, 1 failed');
  }, 120_000);
});

describe('deploy cards', () => {
  it('GIVEN the environment has a url THEN the card has it as a field', async () => {
    const ch = channel('url');
    const card = await deployCard(ch, ALICE, 'demo to production');
    expect(blockText(card.blocks)).toContain('*URL*\\nhttps://demo.example.com');
    await finalUpdate(ch, card.ts, 'succeeded');
  }, 120_000);
});

describe('buttons run the same commands as typing them', () => {
  it('GIVEN a developer clicks Rollback on a production card THEN the role refusal reaches only them (ephemeral), nothing runs', async () => {
    const ch = channel('rbrefuse');
    const card = await deployCard(ch, ALICE, 'demo to production');
    await finalUpdate(ch, card.ts, 'succeeded');
    const before = slack.posts(ch).length;
    await click(BOB, card, 'Rollback');
    const refusal = await slack.waitForResponse((r) => String(r.body.text).includes('release manager'));
    expect(refusal.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(refusal.body.text)).toMatch(/^✋ /);
    expect(slack.posts(ch)).toHaveLength(before);
  }, 120_000);

  it('GIVEN a release manager clicks Rollback THEN it rolls back as `rollback demo in production` would (a new card)', async () => {
    const ch = channel('rbok');
    const first = await deployCard(ch, ALICE, 'demo to production');
    await finalUpdate(ch, first.ts, 'succeeded');
    const second = await deployCard(ch, ALICE, 'demo to production');
    await finalUpdate(ch, second.ts, 'succeeded');
    await click(CAROL, second, 'Rollback');
    const rollback = await eventually(() => slack.posts(ch).find((p) => blockText(p.blocks).includes('rolling back demo')));
    await finalUpdate(ch, rollback.ts, 'succeeded');
  }, 120_000);

  it('GIVEN a View log click THEN it is acknowledged and nothing is posted', async () => {
    const ch = channel('view');
    const card = await deployCard(ch, ALICE, 'demo to staging');
    await finalUpdate(ch, card.ts, 'succeeded');
    const before = slack.posts(ch).length;
    const ack = await slack.sendInteractive(slack.blockActions({ user: BOB, message: card, actionId: buttons(card)[0]?.action_id ?? '' }));
    expect(ack.envelope_id).toEqual(expect.any(String));
    expect(slack.posts(ch)).toHaveLength(before);
  }, 120_000);
});

describe('approval by button', () => {
  it('GIVEN a deploy awaiting approval THEN Approve: refused for the requester and a developer (ephemeral), done by another release manager', async () => {
    const ch = channel('approve');
    await mention(ch, ALICE, 'deploy demo to gated');
    const waiting = await eventually(() => slack.posts(ch).find((p) => p.text.includes('waits for 1 approval')));
    const id = /#(\d+)/.exec(waiting.text)?.[1];
    expect(buttons(waiting).map((b) => [b.text.text, b.value])).toEqual([['Approve', `approve deploy ${id}`]]);

    await click(ALICE, waiting, 'Approve');
    const own = await slack.waitForResponse((r) => String(r.body.text).includes('yourself'));
    expect(own.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    await click(BOB, waiting, 'Approve');
    const developer = await slack.waitForResponse((r) => String(r.body.text).includes('only a release manager'));
    expect(developer.body.response_type).toBe('ephemeral');
    expect(slack.posts(ch).filter((p) => p.text.includes('approved'))).toEqual([]);

    await click(CAROL, waiting, 'Approve');
    const approved = await eventually(() => slack.posts(ch).find((p) => p.text.includes(`approved deploy #${id}`)));
    expect(approved.text).toContain(`(<@${CAROL}> clicked Approve)`);
    const card = await eventually(() => slack.posts(ch).find((p) => blockText(p.blocks).includes(`#${id} deploying demo`)));
    await finalUpdate(ch, card.ts, 'succeeded');
  }, 120_000);
});

describe('slash command answers', () => {
  it('GIVEN `/shepherd whoami`, `help` or your own `karma` THEN the answer is ephemeral through the response_url', async () => {
    const ch = channel('slash');
    for (const text of ['whoami', 'help', 'karma']) {
      const command = slack.slashCommand({ user: BOB, channel: ch, text });
      await slack.sendCommand(command);
      const id = command.response_url?.split('/').pop();
      const answer = await slack.waitForResponse((r) => r.id === id);
      expect(answer.body.response_type).toBe('ephemeral');
    }
    expect(slack.posts(ch)).toEqual([]);
  });

  it('GIVEN `/shepherd lock staging` THEN the answer is public and says who asked', async () => {
    const ch = channel('lock');
    await slack.sendCommand(slack.slashCommand({ user: BOB, channel: ch, text: 'lock staging' }));
    const post = await slack.waitForPost((p) => p.channel === ch);
    expect(post.text).toMatch(/^🔒 staging held by bob since just now — `unlock staging` when done\n\(<@U0BOB0001> asked: \/shepherd lock staging\)$/);
    await slack.sendCommand(slack.slashCommand({ user: BOB, channel: ch, text: 'unlock staging' }));
    await eventually(() => slack.posts(ch).find((p) => p.text.startsWith('🔓 staging is free')));
  });

  it('GIVEN a refused slash command THEN the refusal is ephemeral', async () => {
    const ch = channel('refuse');
    const command = slack.slashCommand({ user: BOB, channel: ch, text: 'karma reset alice' });
    await slack.sendCommand(command);
    const answer = await slack.waitForResponse((r) => r.id === command.response_url?.split('/').pop());
    expect(answer.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(answer.body.text)).toMatch(/^✋ only a release manager/);
    expect(slack.posts(ch)).toEqual([]);
  });
});

function card(id: number, done: number, total = 20): DeployCard {
  return {
    deployId: id,
    title: `🚀 #${id} deploying web/main (abc1234) → production`,
    fields: [{ label: 'App', value: 'web' }],
    details: [],
    progress: { done, total, failed: 0 },
    outcome: null,
    actions: [{ kind: 'link', label: 'View log', url: `http://127.0.0.1/deploys/${id}` }],
    text: `🚀 #${id} deploying web/main → production\n${progressBar({ done, total, failed: 0 })}`,
  };
}

describe('chat.update limits', () => {
  it('GIVEN 20 progress updates at once THEN they are merged into a few chat.update calls ending on the latest', async () => {
    const ch = channel('burst');
    const ref = await adapter.postCard({ room: ch }, card(901, 0));
    await Promise.all(Array.from({ length: 20 }, (_, i) => adapter.updateCard(ref, card(901, i + 1))));
    const updates = slack.updates().filter((u) => u.ts === ref.id);
    expect(updates.length).toBeLessThanOrEqual(3);
    expect(updates.at(-1)?.text).toContain('20/20 hosts');
  });

  it('GIVEN chat.update answers ratelimited THEN the adapter waits out Retry-After (no second 429) and shows the latest card', async () => {
    const ch = channel('limited');
    const ref = await adapter.postCard({ room: ch }, card(902, 0, 3));
    // Retry-After 2 s: longer than the adapter's own pacing, so only honouring it avoids a second 429.
    slack.failNext('chat.update', { status: 429, retryAfter: 2 });
    const first = adapter.updateCard(ref, card(902, 1, 3));
    await slack.waitForCall('chat.update', (c) => c.args.channel === ch && c.status === 429);
    const last = [adapter.updateCard(ref, card(902, 2, 3)), adapter.updateCard(ref, card(902, 3, 3))];
    await Promise.all([first, ...last]);
    const calls = slack.callsOf('chat.update').filter((c) => c.args.channel === ch);
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect(String(calls[1]?.args.text)).toContain('3/3 hosts');
  });

  it('GIVEN Slack answers invalid_blocks THEN the card is posted, and updated, as text', async () => {
    const ch = channel('invalid');
    slack.failNext('chat.postMessage', { error: 'invalid_blocks' });
    const ref = await adapter.postCard({ room: ch }, card(903, 0, 2));
    const [post] = slack.posts(ch);
    expect(post?.ts).toBe(ref.id);
    expect(post?.blocks).toBeUndefined();
    expect(post?.text).toContain('0/2 hosts');

    const ch2 = channel('invalidupd');
    const ref2 = await adapter.postCard({ room: ch2 }, card(904, 0, 2));
    slack.failNext('chat.update', { error: 'invalid_blocks' });
    await adapter.updateCard(ref2, card(904, 1, 2));
    const calls = slack.callsOf('chat.update').filter((c) => c.args.channel === ch2);
    expect(calls.map((c) => c.response.error ?? 'ok')).toEqual(['invalid_blocks', 'ok']);
    expect(slack.updates().find((u) => u.ts === ref2.id)).toMatchObject({ blocks: [] });
    expect(String(calls[1]?.args.text)).toContain('1/2 hosts');
  });
});

describe("the local Slack checks Block Kit against Slack's limits", () => {
  it('refuses what Slack refuses, with invalid_blocks and the pointer to the bad field', async () => {
    const client = new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    await expect(client.chat.postMessage({ channel: 'C0LIMITS', text: 'x', blocks: tooMany })).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    expect(validateBlocks([{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }])).toEqual([
      'must be less than 151 characters [json-pointer:/blocks/0/text/text]',
    ]);
    expect(validateBlocks([{ type: 'section', text: { type: 'mrkdwn', text: 's'.repeat(3001) } }])).toEqual([
      'must be less than 3001 characters [json-pointer:/blocks/0/text/text]',
    ]);
    const button = (action_id: string, label = 'ok') => ({ type: 'button', action_id, text: { type: 'plain_text', text: label }, value: 'v' });
    expect(validateBlocks([{ type: 'actions', elements: [button('a'.repeat(256)), button('b', 'l'.repeat(76)), button('b')] }])).toEqual([
      'must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]',
      'must be less than 76 characters [json-pointer:/blocks/0/elements/1/text/text]',
      'duplicate action_id [json-pointer:/blocks/0/elements/2/action_id]',
    ]);
  });

  it('GIVEN a card far over every limit THEN our blocks are cut to fit and Slack takes them', async () => {
    const huge: DeployCard = {
      ...card(905, 1, 2),
      title: `🚀 ${'very long title '.repeat(20)}`,
      fields: Array.from({ length: 14 }, (_, i) => ({ label: `F${i}`, value: 'v'.repeat(2500) })),
      details: Array.from({ length: 400 }, (_, i) => `  abc123${i} a commit subject that goes on & on <b>`),
      outcome: 'x'.repeat(5000),
      actions: [{ kind: 'command', label: 'L'.repeat(100), command: 'cancel 905' }],
    };
    expect(validateBlocks(cardBlocks(huge))).toEqual([]);
    const ch = channel('huge');
    await adapter.postCard({ room: ch }, huge);
    expect(slack.posts(ch)[0]?.blocks?.[0]?.type).toBe('header');
  });
});

describe('cards leave through the masking door like every chat text', () => {
  it('masks every word of a card (title, fields, details, outcome, links) but leaves button commands to run', async () => {
    const posted: DeployCard[] = [];
    const inner = {
      name: 'slack' as const,
      start: async () => {},
      stop: async () => {},
      mention: () => '',
      send: async (target: { room: string }) => target,
      postCard: async (target: { room: string }, c: DeployCard) => {
        posted.push(c);
        return target;
      },
      updateCard: async (_ref: unknown, c: DeployCard) => {
        posted.push(c);
      },
    };
    const chat = maskChat(inner, (t) => t.replaceAll('hunter2', '***'));
    const secret: DeployCard = {
      ...card(906, 0, 1),
      title: 'deploying hunter2',
      fields: [{ label: 'Ref', value: 'hunter2' }],
      details: ['ship hunter2'],
      outcome: 'failed: hunter2',
      actions: [
        { kind: 'link', label: 'View log', url: 'http://x/hunter2' },
        { kind: 'command', label: 'Cancel hunter2', command: 'cancel 906' },
      ],
      text: 'hunter2',
    };
    await chat.postCard({ room: 'C1' }, secret);
    await chat.updateCard({ room: 'C1', id: '1' }, secret);
    expect(posted).toHaveLength(2);
    for (const c of posted) {
      expect(JSON.stringify(c)).not.toContain('hunter2');
      expect(c.actions[1]).toMatchObject({ command: 'cancel 906', label: 'Cancel ***' });
    }
  });
});

describe('slack-manifest.yml', () => {
  it('turns on interactivity (buttons) and has the scopes for posting, updating and ephemeral answers', () => {
    const manifest = parseYaml(readFileSync('slack-manifest.yml', 'utf8'));
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.oauth_config.scopes.bot).toEqual(expect.arrayContaining(['chat:write', 'commands', 'app_mentions:read', 'users:read']));
    expect(manifest.features.slash_commands[0].command).toBe('/shepherd');
  });
});
