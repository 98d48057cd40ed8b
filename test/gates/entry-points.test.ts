/**
 * Every entry point × every gate, through the real commands: a real Bot on a temp SQLite file, the real
 * deployer on the local transport, a real git repository, GitHub's CI from the fake GitHub server.
 * GIVEN an environment with one rule (allowed_roles, a freeze, a lock, requires, require_green_ci, going back, confirm)
 * WHEN `deploy`, `rollback` or `push ship` goes there THEN the gate refuses, asks or lets it through.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AutoDeployer } from '../../src/deploy/auto-deploy.js';
import { createGitHub } from '../../src/github.js';
import { createWebServer } from '../../src/web/server.js';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from '../deploy/harness.js';
import { pickIdOf, type PushBot, pushBot } from '../push/helpers.js';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import type { FakeAdapter } from '../support/fake-adapter.js';

/** Sends `command`, waits for the bot's question, answers it; returns the question and the command's replies. */
async function answering(chat: FakeAdapter, user: string, command: string, answer: 'yes' | 'no'): Promise<{ question: string; out: string }> {
  const before = chat.sent.length;
  const running = chat.say(user, command);
  const question = await vi.waitFor(
    () => {
      const q = chat.sent.slice(before).find((s) => s.text.includes('answer `yes`'));
      if (!q) throw new Error(`no question yet for ${command}`);
      return q.text;
    },
    { timeout: 60_000, interval: 20 },
  );
  await chat.say(user, answer);
  return { question, out: await running };
}

describe('deploy and rollback × every gate', () => {
  let repo: TestRepo;
  let gh: FakeGitHub;
  let h: DeployHarness;
  let hosts: string;
  const sha: string[] = [];
  const short = (n: number) => sha[n]!.slice(0, 7);
  const deploys = async (environment: string) => h.store.db.deploy.count({ where: { environment } });
  const deploy = async (user: string, command: string) => {
    const out = await h.chat.say(user, command);
    await h.deployer.idle();
    return out;
  };

  beforeAll(async () => {
    repo = makeRepo();
    sha.push(repo.commit('first'), repo.commit('second'), repo.commit('third'));
    gh = await startFakeGitHub();
    const web = await gh.repo('acme/web').importGit(repo.work);
    web.status(sha[0]!, { context: 'ci', state: 'success' });
    web.status(sha[1]!, { context: 'ci', state: 'success' });
    web.status(sha[2]!, { context: 'ci', state: 'failure' });
    hosts = mkdtempSync(join(tmpdir(), 'shepherd-gates-'));
    const env = (rules: object) => ({ hosts: ['localhost'], ...rules });
    h = await deployHarness(
      JSON.stringify({
        release_managers: ['irc:boss'],
        apps: {
          web: {
            repo: 'acme/web',
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: hosts,
            keep_releases: 20,
            default_environment: 'open',
            steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"'],
            environments: {
              open: env({}),
              guarded: env({ allowed_roles: ['release_manager'] }),
              held: env({}),
              green: env({ require_green_ci: true }),
              confirmed: env({ confirm: true }),
              cold: env({}),
              stg: env({}),
              prod: env({ requires: 'stg' }),
            },
          },
        },
      }),
      { github: createGitHub({ token: gh.token, baseUrl: gh.url, writeSpacingMs: 0, retries: 0 }) },
    );
  });
  afterAll(async () => {
    await h?.close();
    await gh?.close();
    repo?.close();
    if (hosts) rmSync(hosts, { recursive: true, force: true });
  });

  it('roles: a developer is refused by allowed_roles on deploy and on rollback; a release manager passes', async () => {
    expect(await deploy('alice', `deploy web/${sha[0]} to guarded`)).toMatch(/✋ only a release manager can deploy to web\/guarded — ask one of: irc:boss/);
    expect(await deploy('alice', 'rollback web in guarded')).toMatch(/✋ only a release manager can roll back web\/guarded/);
    expect(await deploys('guarded')).toBe(0);
    await deploy('boss', `deploy web/${sha[0]} to guarded`);
    await deploy('boss', `deploy web/${sha[1]} to guarded`);
    expect(await deploy('alice', 'rollback web in guarded')).toMatch(/✋ only a release manager can roll back/);
    await deploy('boss', 'rollback web in guarded');
    expect((await h.store.deploys.recent({ environment: 'guarded' })).map((d) => [d.kind, d.state])).toEqual([
      ['rollback', 'succeeded'],
      ['deploy', 'succeeded'],
      ['deploy', 'succeeded'],
    ]);
  });

  it('freeze: refuses deploy and rollback with the reason; a developer cannot --force; a release manager can, recorded as an override', async () => {
    await deploy('alice', `deploy web/${sha[0]} to cold`);
    await deploy('alice', `deploy web/${sha[1]} to cold`);
    expect(await h.chat.say('boss', 'freeze cold incident 4711')).toMatch(/❄️ cold is frozen: incident 4711/);
    expect(await deploy('alice', `deploy web/${sha[0]} to cold`)).toMatch(
      new RegExp(
        `✋ cold is frozen: incident 4711 \\(set by boss\\) — a release manager can \`deploy web/${sha[0]} to cold --force\`, or wait for \`unfreeze cold\``,
      ),
    );
    expect(await deploy('alice', 'rollback web in cold')).toMatch(/✋ cold is frozen: incident 4711 .* a release manager can `rollback web in cold --force`/);
    expect(await deploy('alice', `deploy web/${sha[0]} to cold --force`)).toMatch(
      /✋ cold is frozen: .* only a release manager can deploy through a freeze with --force/,
    );
    expect(await deploys('cold')).toBe(2);

    await deploy('boss', 'rollback web in cold --force');
    const [rollback] = await h.store.deploys.recent({ environment: 'cold' });
    expect(rollback).toMatchObject({ kind: 'rollback', sha: sha[0], state: 'succeeded', force: true });
    // lock_after_rollback (default true): the rollback left the environment locked by boss.
    expect(await h.chat.say('boss', 'unlock web/cold')).toMatch(/🔓/);
    await deploy('boss', `deploy web/${sha[1]} to cold --force`);
    const [forced] = await h.store.deploys.recent({ environment: 'cold' });
    expect(forced).toMatchObject({ kind: 'deploy', sha: sha[1], state: 'succeeded', force: true });
    expect(h.texts().some((t) => t.startsWith(`🚀 #${forced!.id}`) && t.includes('forced through by a release manager (boss, --force)'))).toBe(true);
    // Each override is the freeze gate's decision in the audit trail, with the actor, linked to its deploy.
    const overrides = await h.store.db.auditEvent.findMany({ where: { kind: 'gate', environment: 'cold', outcome: 'override' }, orderBy: { id: 'asc' } });
    const forcedThrough = 'cold is frozen: incident 4711 (set by boss); forced through by a release manager (boss, --force)';
    expect(overrides.map((o) => [o.command, o.gate, o.identity, o.detail, o.deployId])).toEqual([
      ['rollback', 'freeze', 'irc:boss', `${short(0)}: ${forcedThrough}`, rollback!.id],
      ['deploy', 'freeze', 'irc:boss', `${short(1)}: ${forcedThrough}`, forced!.id],
    ]);
    const refusals = await h.store.db.auditEvent.count({ where: { kind: 'gate', environment: 'cold', gate: 'freeze', outcome: 'refused' } });
    expect(refusals).toBe(3);

    await h.chat.say('boss', 'unfreeze cold');
    await deploy('alice', `deploy web/${sha[2]} to cold`);
    expect((await h.store.deploys.recent({ environment: 'cold' }))[0]).toMatchObject({ sha: sha[2], state: 'succeeded', force: false });
  }, 180_000);

  it('requires: a SHA that did not succeed in the required environment is refused, naming the last that did; rollback passes', async () => {
    expect(await deploy('alice', `deploy web/${sha[1]} to prod`)).toMatch(
      new RegExp(`✋ prod requires stg: ${short(1)} has not succeeded there; nothing has yet — deploy web/${short(1)} to stg first`),
    );
    await deploy('alice', `deploy web/${sha[0]} to stg`);
    expect(await deploy('alice', `deploy web/${sha[1]} to prod --force`)).toMatch(
      new RegExp(
        `✋ prod requires stg: ${short(1)} has not succeeded there; the last that did is ${short(0)} \\(#\\d+\\) — deploy web/${short(1)} to stg first, or deploy web/${short(0)} to prod`,
      ),
    );
    expect(await deploys('prod')).toBe(0);
    await deploy('alice', `deploy web/${sha[0]} to prod`);
    await deploy('alice', `deploy web/${sha[1]} to stg`);
    await deploy('alice', `deploy web/${sha[1]} to prod`);
    // Going back to a release that already ran here is not asked for staging again.
    await deploy('alice', 'rollback web in prod');
    expect((await h.store.deploys.recent({ environment: 'prod' })).map((d) => [d.kind, d.sha, d.state])).toEqual([
      ['rollback', sha[0], 'succeeded'],
      ['deploy', sha[1], 'succeeded'],
      ['deploy', sha[0], 'succeeded'],
    ]);
  }, 180_000);

  it('lock: a lock taken by hand refuses deploy and rollback, saying who holds it and how to free it', async () => {
    await deploy('alice', `deploy web/${sha[0]} to held`);
    await deploy('alice', `deploy web/${sha[1]} to held`);
    expect(await h.chat.say('carol', 'lock web/held db work')).toMatch(/🔒/);
    expect(await deploy('alice', `deploy web/${sha[2]} to held`)).toMatch(
      /✋ 🔒 web\/held held by carol since .* — "db work" — deploys wait until it is unlocked \(`unlock web\/held`\)/,
    );
    expect(await deploy('alice', 'rollback web in held')).toMatch(/✋ 🔒 web\/held held by carol/);
    expect(await deploys('held')).toBe(2);
    await h.chat.say('carol', 'unlock web/held');
    await deploy('alice', 'rollback web in held');
    expect(await deploys('held')).toBe(3);
  });

  it('CI: red CI refuses deploy unless --force (recorded as an override); rollback is not asked for CI', async () => {
    await deploy('alice', `deploy web/${sha[0]} to green`);
    await deploy('alice', `deploy web/${sha[1]} to green`);
    expect(await deploy('alice', `deploy web/${sha[2]} to green`)).toMatch(
      new RegExp(`✋ CI for ${short(2)} is red and web/green requires green CI — wait for it, or \`deploy web/${sha[2]} to green --force\` to skip the check`),
    );
    expect(await deploys('green')).toBe(2);
    await deploy('alice', `deploy web/${sha[2]} to green --force`);
    const [forced] = await h.store.deploys.recent({ environment: 'green' });
    expect(forced).toMatchObject({ sha: sha[2], state: 'succeeded', force: true });
    expect(h.texts().some((t) => t.includes(`#${forced!.id}`) && t.includes('(CI is red: check skipped with --force by alice)'))).toBe(true);
    const override = await h.store.db.auditEvent.findFirst({ where: { kind: 'gate', environment: 'green' }, orderBy: { id: 'desc' } });
    expect(override).toMatchObject({
      gate: 'ci',
      outcome: 'override',
      identity: 'irc:alice',
      deployId: forced!.id,
      detail: `${short(2)}: CI is red: check skipped with --force by alice`,
    });
    // The release it goes back to turned red later: a rollback still passes.
    gh.repo('acme/web').status(sha[1]!, { context: 'ci', state: 'failure' });
    await deploy('alice', 'rollback web in green');
    const [rollback] = await h.store.deploys.recent({ environment: 'green' });
    expect(rollback).toMatchObject({ kind: 'rollback', sha: sha[1], state: 'succeeded' });
  });

  it('direction: going back is named and asked; no keeps what runs; --force passes; rollback goes back without asking', async () => {
    await deploy('alice', `deploy web/${sha[2]} to open`);
    const asked = await answering(h.chat, 'alice', `deploy web/${sha[0]} to open`, 'no');
    expect(asked.question).toMatch(new RegExp(`it goes back 2 commits: "third", "second" \\(open runs ${short(2)}\\) — answer \`yes\``));
    expect(asked.out).toMatch(new RegExp(`✋ cancelled: not confirmed — web/open stays on ${short(2)}, nothing was deployed`));
    expect(await deploys('open')).toBe(1);

    const yes = await answering(h.chat, 'alice', `deploy web/${sha[1]} to open`, 'yes');
    expect(yes.question).toMatch(/goes back 1 commit: "third"/);
    await h.deployer.idle();
    expect(h.texts().some((t) => t.startsWith('🚀') && t.includes(`goes back 1 commit: "third" (from ${short(2)})`))).toBe(true);

    await deploy('alice', `deploy web/${sha[0]} to open --force`);
    const [forced] = await h.store.deploys.recent({ environment: 'open' });
    expect(forced).toMatchObject({ sha: sha[0], state: 'succeeded' });
    expect(
      h.texts().some((t) => t.startsWith(`🚀 #${forced!.id}`) && t.includes('goes back 1 commit: "second"') && t.includes('allowed with --force by alice')),
    ).toBe(true);

    const before = h.chat.sent.length;
    await deploy('alice', 'rollback web in open');
    expect(h.chat.sent.slice(before).some((s) => s.text.includes('answer `yes`'))).toBe(false);
    const [rollback] = await h.store.deploys.recent({ environment: 'open' });
    expect(rollback).toMatchObject({ kind: 'rollback', state: 'succeeded' });
  });

  it('confirm: deploy and rollback ask; no refuses, yes goes on', async () => {
    const no = await answering(h.chat, 'alice', `deploy web/${sha[0]} to confirmed`, 'no');
    expect(no.question).toMatch(new RegExp(`about to deploy web/${sha[0]} \\(${short(0)}\\) to confirmed on 1 host\\(s\\) — answer \`yes\` within 60s`));
    expect(no.out).toMatch(/✋ cancelled: not confirmed — web\/confirmed stays on what it runs now/);
    expect(await deploys('confirmed')).toBe(0);
    await answering(h.chat, 'alice', `deploy web/${sha[0]} to confirmed`, 'yes');
    await h.deployer.idle();
    await answering(h.chat, 'alice', `deploy web/${sha[1]} to confirmed`, 'yes');
    await h.deployer.idle();
    const rollbackNo = await answering(h.chat, 'alice', 'rollback web in confirmed', 'no');
    expect(rollbackNo.question).toMatch(new RegExp(`about to roll web/confirmed back from ${short(1)} to ${short(0)}`));
    expect(rollbackNo.out).toMatch(/✋ cancelled: not confirmed/);
    await answering(h.chat, 'alice', 'rollback web in confirmed', 'yes');
    await h.deployer.idle();
    expect((await h.store.deploys.recent({ environment: 'confirmed' })).map((d) => [d.kind, d.state])).toEqual([
      ['rollback', 'succeeded'],
      ['deploy', 'succeeded'],
      ['deploy', 'succeeded'],
    ]);
  });
});

describe('push ship × the gates of its environment', () => {
  let t: PushBot;

  beforeAll(async () => {
    t = await pushBot({ deployer: true, production: '{ hosts: [localhost], allowed_roles: [release_manager], confirm: true }' });
    t.git.branch('release', t.git.sha('main'));
    const fix = t.git.commit({ 'fix.txt': 'fix\n' }, 'alice: fix', 'alice');
    await t.chat.say('alice', `cp ${fix}`).then(pickIdOf);
    await t.chat.say('rm', 'approve all');
    await t.chat.say('rm', 'push start from release');
    await t.chat.say('alice', 'here');
  });
  afterAll(async () => t?.close());

  const pushState = async () => (await t.store.db.push.findUniqueOrThrow({ where: { id: 1 } })).state;

  it('roles: allowed_roles of the target environment apply (a developer cannot ship at all)', async () => {
    expect(await t.chat.say('alice', 'push ship to production')).toMatch(/✋ only a release manager can ship the push/);
    expect(await pushState()).toBe('confirming');
  });

  it('lock: a lock taken by hand refuses before anything changes', async () => {
    await t.chat.say('bob', 'lock web/production hands off');
    expect(await t.chat.say('rm', 'push ship to production')).toMatch(
      /✋ 🔒 web\/production held by bob since .* — "hands off" — deploys wait until it is unlocked/,
    );
    expect(await pushState()).toBe('confirming');
    expect((await t.store.db.cherryPick.findFirstOrThrow()).state).toBe('approved');
    await t.chat.say('bob', 'unlock web/production');
  });

  it('freeze: a frozen environment refuses push ship before anything changes', async () => {
    expect(await t.chat.say('rm', 'freeze production release week')).toMatch(/❄️ production is frozen/);
    expect(await t.chat.say('rm', 'push ship to production')).toMatch(
      /✋ production is frozen: release week \(set by rm\) — a release manager can `push ship to production --force`, or wait for `unfreeze production`/,
    );
    expect(await pushState()).toBe('confirming');
    expect(await t.store.db.deploy.count()).toBe(0);
    await t.chat.say('rm', 'unfreeze production');
  });

  it('confirm: asks before anything changes; no keeps the push as it was', async () => {
    const no = await answering(t.chat, 'rm', 'push ship to production', 'no');
    expect(no.question).toMatch(/about to ship the push to web\/production on 1 host\(s\) — answer `yes` within 60s/);
    expect(no.out).toMatch(/✋ cancelled: not confirmed/);
    expect(await pushState()).toBe('confirming');
    expect(await t.store.db.deploy.count()).toBe(0);
  });

  it('yes ships, passes CI (noted: no GitHub) and direction for the pushed head, returns at once, and tells the author from the deploy event', async () => {
    const yes = await answering(t.chat, 'rm', 'push ship to production', 'yes');
    expect(yes.out).toMatch(/🚀 deploying push\/[\d-]+ to production: deploy #1/);
    // Asked once (the question is in the replies once): the head's round keeps the first round's answer.
    expect(yes.out.split('answer `yes`')).toHaveLength(2);
    expect(yes.out).not.toMatch(/your picks are live/);
    await t.deployer!.idle();
    await vi.waitFor(() => expect(t.chat.sent.map((s) => s.text).join('\n')).toMatch(/🎉 @alice: your picks are live in production \(deploy #1 of push 1/), {
      timeout: 30_000,
    });
    expect(t.chat.sent.some((s) => s.text.startsWith('🚀 #1') && s.text.includes('GitHub not configured for web: CI not checked'))).toBe(true);
    expect(await pushState()).toBe('shipped');
  });
});

describe('approvals × every entry point (the approvals gate decides, the deploy waits)', () => {
  let repo: TestRepo;
  let gh: FakeGitHub;
  let h: DeployHarness;
  let hosts: string;
  let auto: AutoDeployer;
  const sha: string[] = [];
  const say = async (user: string, command: string) => {
    const out = await h.chat.say(user, command);
    await h.deployer.idle();
    return out;
  };
  const latest = async () => (await h.store.deploys.recent({ environment: 'production' }))[0]!;
  const approveAndRun = async (id: number, by = 'rm2') => {
    expect(await say(by, `approve deploy ${id}`)).toMatch(new RegExp(`👍 ${by} approved deploy #${id} \\(1/1\\) — it goes ahead now`));
    await vi.waitFor(async () => expect((await h.store.deploys.get(id))?.state).toBe('succeeded'), { timeout: 60_000, interval: 50 });
  };

  beforeAll(async () => {
    repo = makeRepo();
    sha.push(repo.commit('first'), repo.commit('second'));
    gh = await startFakeGitHub();
    const web = await gh.repo('acme/web').importGit(repo.work);
    for (const s of sha) web.status(s, { context: 'ci', state: 'success' });
    web.pull({ number: 5, title: 'Second', author: 'alice', head: sha[1]!, headRef: 'second', baseRef: 'main' });
    hosts = mkdtempSync(join(tmpdir(), 'shepherd-approval-gate-'));
    h = await deployHarness(
      JSON.stringify({
        release_managers: ['irc:boss', 'irc:rm2'],
        apps: {
          web: {
            repo: 'acme/web',
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: hosts,
            keep_releases: 20,
            default_environment: 'production',
            auto_deploy: { branch: 'main', to: 'production', when: 'green' },
            steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"'],
            environments: { production: { hosts: ['localhost'], channel: '#deploys', approvals: 1, approval_window: '10m' } },
          },
        },
      }),
      { github: createGitHub({ token: gh.token, baseUrl: gh.url, writeSpacingMs: 0, retries: 0 }) },
    );
    auto = new AutoDeployer({
      config: h.config,
      store: h.store,
      deployer: h.deployer,
      chat: { provider: 'irc', say: async (target, text) => void (await h.chat.send(target, text)) },
      logger: pino({ level: 'silent' }),
      now: () => h.clock.now(),
    });
  });
  afterAll(async () => {
    await auto?.idle();
    await h?.close();
    await gh?.close();
    repo?.close();
    if (hosts) rmSync(hosts, { recursive: true, force: true });
  });

  it('deploy: waits for a release manager other than the requester; the wait and the approval are gate decisions of the deploy', async () => {
    expect(await say('boss', `deploy web/${sha[0]} to production`)).toMatch(
      /⏳ #1 web\/\w+ \(\w{7}\) → production waits for 1 approval by a release manager other than boss: `approve deploy 1` before /,
    );
    expect(await h.store.deploys.get(1)).toMatchObject({ state: 'awaiting_approval', approvalsNeeded: 1 });
    expect(await say('boss', 'approve deploy 1')).toMatch(/✋ you asked for #1 yourself/);
    expect(await say('alice', 'approve deploy 1')).toMatch(/✋ .*release manager/);
    await approveAndRun(1);
    const rows = await h.store.db.auditEvent.findMany({ where: { kind: 'gate', deployId: 1 }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => [r.gate, r.outcome, r.identity])).toEqual([
      ['approvals', 'waiting', 'irc:boss'],
      ['approvals', 'refused', 'irc:boss'],
      ['approvals', 'approved', 'irc:rm2'],
    ]);
  }, 120_000);

  it('a PR deploy waits too', async () => {
    expect(await say('alice', 'deploy web/#5 to production')).toMatch(/⏳ #2 web\/#5 .* waits for 1 approval by a release manager other than alice/);
    expect((await latest()).state).toBe('awaiting_approval');
    await approveAndRun(2, 'boss');
    expect(await say('carol', 'deploys web in production')).toMatch(/#2 .*\n {3}approved by boss/);
  }, 120_000);

  it('rollback passes the approvals gate without waiting: the release it goes back to was approved when it went out', async () => {
    await say('alice', 'rollback web in production');
    const rollback = await latest();
    expect(rollback).toMatchObject({ kind: 'rollback', sha: sha[0], state: 'succeeded', approvalsNeeded: 0 });
    // lock_after_rollback (default true) holds the environment until someone unlocks it.
    expect(await say('alice', 'unlock web/production')).toMatch(/🔓/);
  }, 120_000);

  it('an automatic deploy waits, and its channel is told how to approve', async () => {
    await auto.poll('web');
    await auto.idle();
    const waiting = await latest();
    expect(waiting).toMatchObject({ state: 'awaiting_approval', sha: sha[1], approvalsNeeded: 1 });
    await vi.waitFor(() => expect(h.texts().some((t) => t.startsWith(`⏳ #${waiting.id} web/main`) && t.includes(`approve deploy ${waiting.id}`))).toBe(true), {
      timeout: 10_000,
    });
    await approveAndRun(waiting.id, 'boss');
  }, 120_000);

  it('a refused deploy, an overridden freeze and an approval each appear in `audit production` and on /audit?env=production', async () => {
    expect(await say('boss', 'freeze production release party')).toMatch(/❄️ production is frozen: release party/);
    expect(await say('alice', `deploy web/${sha[0]} to production`)).toMatch(/✋ production is frozen: release party/);
    expect(await say('boss', `deploy web/${sha[0]} to production --force`)).toMatch(/⏳ #\d+ .* waits for 1 approval/);
    const forced = await latest();
    await approveAndRun(forced.id);
    const trail = await say('carol', 'audit production');
    expect(trail).toMatch(/alice: deploy web\/production — freeze gate refused: \w{7}: production is frozen: release party/);
    expect(trail).toMatch(
      new RegExp(`boss: deploy web/production #${forced.id} — freeze gate override: \\w{7}: production is frozen: release party .*forced through`),
    );
    expect(trail).toMatch(new RegExp(`boss: deploy web/production #${forced.id} — direction gate override: .*allowed with --force by boss`));
    expect(trail).toMatch(new RegExp(`rm2: approve deploy web/production #${forced.id} — approvals gate approved: approved by rm2 \\(1/1\\): goes ahead`));
    const byDeploy = await say('carol', `audit ${forced.id}`);
    expect(byDeploy).toMatch(/freeze gate override[\s\S]*approvals gate waits[\s\S]*approvals gate approved/);

    const web = createWebServer({ host: '127.0.0.1', port: 0, store: h.store, events: h.events, logger: pino({ level: 'silent' }) });
    await web.start();
    try {
      const page = await (await fetch(`${web.url}/audit?env=production`)).text();
      expect(page).toContain('name="environment" value="production"');
      for (const outcome of ['refused', 'override', 'approved']) expect(page).toMatch(new RegExp(`class="audit-row[^"]*"[^>]*data-outcome="${outcome}"`));
      expect(page).toContain('release party');
      const api = (await (await fetch(`${web.url}/api/audit?env=production&outcome=approved`)).json()) as { events: { gate: string; deployId: number }[] };
      expect(api.events[0]).toMatchObject({ gate: 'approvals', deployId: forced.id });
      // Who approved, on the deploy page and in the API.
      expect(await (await fetch(`${web.url}/deploys/${forced.id}`)).text()).toMatch(/<dd id="approved-by">rm2 /);
      expect(await (await fetch(`${web.url}/api/deploys/${forced.id}`)).json()).toMatchObject({ approvedBy: ['rm2'], approvalsNeeded: 1 });
    } finally {
      await web.stop();
    }
    await say('boss', 'unfreeze production');
  }, 120_000);
});

describe('freeze × a weekly window from shepherd.yml, across a weekend on the test clock', () => {
  let repo: TestRepo;
  let h: DeployHarness;
  let hosts: string;
  const sha: string[] = [];

  beforeAll(async () => {
    repo = makeRepo();
    sha.push(repo.commit('first'), repo.commit('second'), repo.commit('third'));
    hosts = mkdtempSync(join(tmpdir(), 'shepherd-weekend-'));
    h = await deployHarness(
      JSON.stringify({
        timezone: 'Europe/Berlin',
        freezes: [{ environments: ['production'], weekly: 'fri 16:00 - mon 08:00', reason: 'weekend' }],
        release_managers: ['irc:boss'],
        apps: {
          web: {
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: hosts,
            keep_releases: 20,
            default_environment: 'production',
            steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"'],
            environments: { production: { hosts: ['localhost'] }, staging: { hosts: ['localhost'] } },
          },
        },
      }),
    );
  });
  afterAll(async () => {
    await h?.close();
    repo?.close();
    if (hosts) rmSync(hosts, { recursive: true, force: true });
  });

  const deploy = async (user: string, command: string) => {
    const out = await h.chat.say(user, command);
    await h.deployer.idle();
    return out;
  };
  const at = (iso: string) => {
    h.clock.current = new Date(iso);
  };

  it('Friday 15:59 Berlin deploys; 16:00 Friday, Sunday and Monday 07:59 are refused until mon 08:00 (staging is not); Monday 08:00 deploys', async () => {
    at('2026-12-04T14:59:00Z'); // Friday 15:59 in Berlin (CET = UTC+1)
    await deploy('alice', `deploy web/${sha[0]} to production`);
    at('2026-12-04T15:00:00Z'); // Friday 16:00
    const refusal = /✋ production is frozen until mon 08:00: weekend — a release manager can `deploy web\/\w+ to production --force`, or wait until mon 08:00/;
    expect(await deploy('alice', `deploy web/${sha[1]} to production`)).toMatch(refusal);
    at('2026-12-06T12:00:00Z'); // Sunday
    expect(await deploy('alice', `deploy web/${sha[1]} to production`)).toMatch(refusal);
    expect(await h.chat.say('alice', 'status')).toMatch(/❄️ production is frozen until mon 08:00: weekend \(shepherd.yml\)/);
    await deploy('alice', `deploy web/${sha[1]} to staging`);
    at('2026-12-07T06:59:00Z'); // Monday 07:59: the end is said as today's clock time
    expect(await deploy('alice', `deploy web/${sha[1]} to production`)).toMatch(
      /✋ production is frozen until today 08:00: weekend .* or wait until today 08:00/,
    );
    at('2026-12-07T07:00:00Z'); // Monday 08:00
    await deploy('alice', `deploy web/${sha[1]} to production`);
    expect((await h.store.deploys.recent({ environment: 'production' })).map((d) => [d.sha, d.state])).toEqual([
      [sha[1], 'succeeded'],
      [sha[0], 'succeeded'],
    ]);
    expect(await h.store.db.auditEvent.count({ where: { kind: 'gate', gate: 'freeze', outcome: 'refused', environment: 'production' } })).toBe(3);
  }, 120_000);
});

describe('push ship × approvals', () => {
  let t: PushBot;
  afterAll(async () => t?.close());

  it('the shipped push waits for approval like any deploy', async () => {
    t = await pushBot({ deployer: true, production: '{ hosts: [localhost], allowed_roles: [release_manager], approvals: 1 }' });
    t.git.branch('release', t.git.sha('main'));
    const fix = t.git.commit({ 'fix.txt': 'fix\n' }, 'alice: fix', 'alice');
    await t.chat.say('alice', `cp ${fix}`).then(pickIdOf);
    await t.chat.say('rm', 'approve all');
    await t.chat.say('rm', 'push start from release');
    await t.chat.say('alice', 'here');
    expect(await t.chat.say('rm', 'push ship to production')).toMatch(
      /deploy #1 \(waiting for approval: `approve deploy 1`\)|waiting for approval: `approve deploy 1`/,
    );
    expect(await t.store.db.deploy.findUniqueOrThrow({ where: { id: 1 } })).toMatchObject({ state: 'awaiting_approval', approvalsNeeded: 1 });
    expect(await t.chat.say('rm', 'approve deploy 1')).toMatch(/✋ you asked for #1 yourself/);
    expect(await t.store.db.auditEvent.count({ where: { kind: 'gate', command: 'push ship', gate: 'approvals', outcome: 'waiting', deployId: 1 } })).toBe(1);
  }, 120_000);
});
