/**
 * ctx.confirm through the real Bot: only a yes/no from the asked user in the asked room answers; any other message
 * runs as a command and the question stays open; `no` and a timeout cancel with a clear line. The deploy is real
 * (local transport, a real git repository).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { answerOf } from '../../src/chat/types.js';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from '../deploy/harness.js';

function config(repo: TestRepo, deployTo: string): string {
  return JSON.stringify({
    release_managers: ['irc:boss', 'irc:carol'],
    apps: {
      web: {
        repo_url: repo.bare,
        transport: 'local',
        deploy_to: deployTo,
        default_environment: 'staging',
        steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"'],
        environments: { staging: { hosts: ['localhost'] }, production: { hosts: ['localhost'], confirm: true } },
      },
    },
  });
}

const QUESTION = 'about to deploy web/main';

describe('answers to a confirmation', () => {
  let repo: TestRepo;
  let deployTo: string;
  let h: DeployHarness;
  let shortWait: DeployHarness;

  beforeAll(async () => {
    repo = makeRepo();
    repo.commit('first');
    deployTo = mkdtempSync(join(tmpdir(), 'shepherd-confirm-'));
    h = await deployHarness(config(repo, join(deployTo, 'a')));
    shortWait = await deployHarness(config(repo, join(deployTo, 'b')), { confirmTimeoutMs: 300 });
  });
  afterAll(async () => {
    await h?.close();
    await shortWait?.close();
    repo?.close();
    rmSync(deployTo, { recursive: true, force: true });
  });

  const asked = (t: DeployHarness, count: number) =>
    vi.waitFor(() => expect(t.texts().filter((x) => x.includes(QUESTION))).toHaveLength(count), { timeout: 20_000 });

  it('GIVEN yes/y/no/n in any case THEN they are answers, and nothing else is', () => {
    for (const yes of ['yes', 'Y', 'YES', ' yes. ', 'y!']) expect(answerOf(yes)).toBe('yes');
    for (const no of ['no', 'N', 'No!']) expect(answerOf(no)).toBe('no');
    for (const other of ['yes please', 'deploy web', 'nope', 'yess', '', 'karma']) expect(answerOf(other)).toBeNull();
  });

  it('GIVEN a question pending THEN another command of the same user runs as a command, others cannot answer, and `yes` still deploys', async () => {
    const asking = h.chat.say('boss', 'deploy web/main to production');
    await asked(h, 1);
    // Another command is a command, not a (swallowed) answer.
    expect(await h.chat.say('boss', 'karma')).toMatch(/★/);
    // Someone else's yes, or the same user's yes in another room, answers nothing.
    expect(await h.chat.say('carol', 'yes')).toContain('there is no question waiting for your `yes` here');
    expect(await h.chat.say('boss', 'yes', { target: { room: '#elsewhere' } })).toContain('there is no question waiting');
    // A plain `yes` not addressed to the bot (IRC channel chatter) answers, as the asked user's.
    await h.chat.say('boss', 'Yes', { addressed: false });
    expect(await asking).not.toContain('cancelled');
    await h.deployer.idle();
    const [d] = await h.store.deploys.recent({ environment: 'production' });
    expect(d?.state).toBe('succeeded');
  });

  it('GIVEN chatter not addressed to the bot and no question THEN the bot stays silent', async () => {
    expect(await h.chat.say('boss', 'lunch?', { addressed: false })).toBe('');
    expect(await h.chat.say('boss', 'yes', { addressed: false })).toBe('');
  });

  it('GIVEN `no` THEN the deploy is cancelled with a line saying nothing was deployed', async () => {
    const before = (await h.store.deploys.recent({})).length;
    const asking = h.chat.say('boss', 'deploy web/main to production');
    await asked(h, 2);
    await h.chat.say('boss', 'n');
    expect(await asking).toMatch(/cancelled: not confirmed — web\/production stays on [0-9a-f]{7}, nothing was deployed/);
    expect(await h.store.deploys.recent({})).toHaveLength(before);
  });

  it('GIVEN no answer in time THEN the bot says the time ran out and the deploy is cancelled', async () => {
    const reply = await shortWait.chat.say('boss', 'deploy web/main to production');
    expect(reply).toContain(QUESTION);
    expect(reply).toContain('⌛ no answer within 300ms — taken as no');
    expect(reply).toContain('cancelled: no answer in time — web/production stays on what it runs now, nothing was deployed');
    expect(await shortWait.store.deploys.recent({})).toEqual([]);
    // The question is gone: a late yes answers nothing.
    expect(await shortWait.chat.say('boss', 'yes')).toContain('there is no question waiting');
  });
});
