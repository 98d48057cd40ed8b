/**
 * "Each gate works from Slack, IRC and the terminal": the whole bot (startShepherd, or `npm start` for the
 * terminal) on the example config with production frozen from chat and `approvals: 1`. On each adapter:
 * GIVEN a freeze THEN a deploy is refused with the reason and the --force way; `--force` by a release manager
 * goes through the freeze, is asked to confirm, then waits for an approval; `audit production` shows the
 * refusal, the override and the wait. Slack: the fake Slack server driving the real Bolt app; IRC: a real
 * ngircd; the terminal: the shell adapter with piped input.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { type Shepherd, startShepherd } from '../../src/main.js';
import { FakeSlack } from '../support/fake-slack.js';
import { IrcPerson } from '../support/irc-client.js';
import { type Ngircd, skipWithoutNgircd, startNgircd } from '../support/ngircd.js';

const root = resolve('.');

/** The example config with production needing one approval, these release managers, and the demo deploying this checkout into `dir`. */
function gatedConfig(dir: string, releaseManagers: string[]): string {
  const config = parseYaml(readFileSync(join(root, 'shepherd.example.yml'), 'utf8'));
  config.release_managers.push(...releaseManagers);
  config.apps.demo.repo_url = root;
  config.apps.demo.deploy_to = join(dir, 'demo-deploy');
  config.apps.demo.environments.production.approvals = 1;
  const path = join(dir, 'shepherd.yml');
  writeFileSync(path, toYaml(config));
  return path;
}

const FROZEN =
  /✋ production is frozen: change freeze \(set by \w+\) — a release manager can `deploy demo\/HEAD to production --force`, or wait for `unfreeze production`/;
const WAITS = /⏳ #1 demo\/HEAD \([0-9a-f]{7}\) → production waits for 1 approval by a release manager other than \S+: `approve deploy 1`/;

// Slack and IRC each start their own bot and server and mostly wait on them (and on ngircd's pacing): side by side.
// The terminal test after them blocks the thread while `npm start` runs, so it runs alone.
describe.concurrent('Slack: freeze refusal, --force override, confirmation and approval through the real Bolt app', () => {
  const ALICE = 'U0ALICE01';
  const BOB = 'U0BOB0001';
  const CHANNEL = 'C0GATES01';
  let slack: FakeSlack;
  let shepherd: Shepherd;
  let dir: string;

  beforeAll(async () => {
    slack = await FakeSlack.start();
    slack.users.set(ALICE, { name: 'alice', display_name: 'alice' });
    slack.users.set(BOB, { name: 'bob', display_name: 'bob' });
    dir = mkdtempSync(join(tmpdir(), 'shepherd-gates-slack-'));
    shepherd = await startShepherd({
      env: {
        SHEPHERD_CONFIG: gatedConfig(dir, [`slack:${ALICE}`, `slack:${BOB}`]),
        DATABASE_URL: `file:${join(dir, 't.db')}`,
        LOG_LEVEL: 'silent',
        WEB_PORT: '0',
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_API_URL: slack.apiUrl,
        SLACK_APP_TOKEN: slack.appToken,
      },
    });
    await slack.connected();
  });
  afterAll(async () => {
    await shepherd?.stop();
    await slack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const say = async (user: string, text: string, expected: RegExp) => {
    await slack.sendEvent(slack.appMention({ user, channel: CHANNEL, text: `<@${slack.botUserId}> ${text}` }));
    return slack.waitForPost((p) => p.channel === CHANNEL && expected.test(p.text));
  };

  it('GIVEN production frozen THEN the refusal, the forced deploy, its question and the approval wait reach Slack; another release manager approves', async () => {
    await say(ALICE, 'freeze production change freeze', /❄️ production is frozen: change freeze/);
    await say(ALICE, 'deploy demo to production', FROZEN);
    await say(ALICE, 'deploy demo to production --force', /about to deploy demo\/HEAD/);
    await say(ALICE, 'yes', WAITS);
    await say(ALICE, 'approve deploy 1', /✋ you asked for #1 yourself: another release manager has to approve it/);
    await say(BOB, 'approve deploy 1', /👍 <@U0BOB0001> approved deploy #1 \(1\/1\) — it goes ahead now|👍 bob approved deploy #1/);
    await vi.waitFor(() => expect(slack.posts(CHANNEL).some((p) => /✅ #1 demo\/HEAD .* → production succeeded/.test(p.text))).toBe(true), {
      timeout: 60_000,
      interval: 100,
    });
    const audit = await say(BOB, 'audit production', /last \d+ about production/);
    expect(audit.text).toMatch(/deploy demo\/production — freeze gate refused: [0-9a-f]{7}: production is frozen: change freeze/);
    expect(audit.text).toMatch(
      /deploy demo\/production #1 — freeze gate override: [0-9a-f]{7}: production is frozen: change freeze .* forced through by a release manager/,
    );
    expect(audit.text).toMatch(/approve deploy demo\/production #1 — approvals gate approved: approved by/);
  }, 120_000);
});

describe.skipIf(skipWithoutNgircd()).concurrent('IRC: the same gates on a real ngircd', () => {
  let server: Ngircd;
  let shepherd: Shepherd;
  let alice: IrcPerson;
  let bob: IrcPerson;
  let dir: string;

  beforeAll(async () => {
    server = await startNgircd();
    dir = mkdtempSync(join(tmpdir(), 'shepherd-gates-irc-'));
    shepherd = await startShepherd({
      env: {
        IRC_SERVER: server.host,
        IRC_PORT: String(server.port),
        IRC_CHANNELS: '#deploys',
        IRC_NICK: 'shepherd',
        DATABASE_URL: `file:${join(dir, 't.db')}`,
        SHEPHERD_CONFIG: gatedConfig(dir, ['irc:alice', 'irc:bob']),
        LOG_LEVEL: 'silent',
        WEB_PORT: '0',
      },
    });
    alice = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'alice', channels: ['#deploys'] });
    bob = await IrcPerson.connect({ host: server.host, port: server.port, nick: 'bob', channels: ['#deploys'] });
  });
  afterAll(async () => {
    await alice?.quit();
    await bob?.quit();
    await shepherd?.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ask = async (person: IrcPerson, text: string, expected: RegExp) => {
    const lines = await person.ask('#deploys', text, { from: 'shepherd', until: (l) => l.some((x) => expected.test(x)), timeoutMs: 60_000 });
    expect(lines.join('\n')).toMatch(expected);
    return lines.join('\n');
  };

  it('GIVEN production frozen THEN the refusal, the forced deploy, its question and the approval wait reach IRC; bob approves', async () => {
    await ask(alice, '!freeze production change freeze', /❄️ production is frozen: change freeze/);
    await ask(alice, '!deploy demo to production', FROZEN);
    await ask(alice, '!deploy demo to production --force', /about to deploy demo\/HEAD/);
    await ask(alice, 'yes', WAITS);
    await ask(alice, '!approve deploy 1', /✋ you asked for #1 yourself/);
    await ask(bob, '!approve deploy 1', /👍 bob approved deploy #1 \(1\/1\) — it goes ahead now/);
    await bob.waitFor(() => bob.heard.find((h) => /✅ #1 demo\/HEAD .* → production succeeded/.test(h.text)), 60_000, 'the deploy');
    // More than 5 lines: the answer goes to bob by notice, with a pointer in the channel.
    const start = bob.heard.length;
    bob.say('#deploys', '!audit production');
    const audit = await bob.waitFor(
      () => {
        const text = bob.heard
          .slice(start)
          .filter((h) => h.from === 'shepherd')
          .map((h) => h.text)
          .join('\n');
        return /approvals gate approved/.test(text) ? text : undefined;
      },
      30_000,
      'the audit',
    );
    expect(audit).toMatch(/freeze gate refused: [0-9a-f]{7}: production is frozen: change freeze/);
    expect(audit).toMatch(/freeze gate override: .*forced through by a release manager/);
  }, 150_000);
});

describe('terminal: the same gates in the shell adapter (piped `npm start`)', () => {
  it('GIVEN production frozen THEN the refusal, the forced deploy, its question, the approval wait and the audit are printed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shepherd-gates-shell-'));
    try {
      const input = [
        'freeze production change freeze',
        'deploy demo to production',
        'deploy demo to production --force',
        'yes',
        'approve deploy 1',
        'audit production',
        '',
      ].join('\n');
      const result = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['start', '--silent'], {
        cwd: root,
        input,
        encoding: 'utf8',
        timeout: 90_000,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          WEB_PORT: '0',
          DATABASE_URL: `file:${join(dir, 'shell.db')}`,
          SHEPHERD_CONFIG: gatedConfig(dir, []),
        },
      });
      expect(result.status, result.stderr).toBe(0);
      const out = result.stdout;
      expect(out).toMatch(/❄️ production is frozen: change freeze/);
      expect(out).toMatch(FROZEN);
      expect(out).toMatch(/about to deploy demo\/HEAD .*— answer `yes`/);
      expect(out).toMatch(WAITS);
      // The shell user is the requester: only another release manager (on a chat network) can approve.
      expect(out).toMatch(/✋ you asked for #1 yourself: another release manager has to approve it/);
      expect(out).toMatch(/freeze gate refused: [0-9a-f]{7}: production is frozen: change freeze/);
      expect(out).toMatch(/freeze gate override: [0-9a-f]{7}: .*forced through by a release manager/);
      expect(out).toMatch(/approvals gate waits: [0-9a-f]{7}: waits for 1 approval by a release manager other than/);
      expect(out).toMatch(/approvals gate refused: .* cannot approve it/);
      expect(out).not.toMatch(/✅ #1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
