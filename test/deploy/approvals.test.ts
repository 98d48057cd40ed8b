/**
 * `approvals: N` on an environment: GIVEN a deploy there THEN it waits (awaiting_approval, no lock) until N
 * release managers other than the requester run `approve deploy <id>`, then runs as usual; or its
 * `approval_window` passes on the (injected) clock and the scheduler's tick cancels it: "approval expired".
 * Real bot, real deployer on the local transport, a real git repository.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWebServer } from '../../src/web/server.js';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from './harness.js';

describe('approvals', () => {
  let repo: TestRepo;
  let h: DeployHarness;
  let dir: string;
  const sha: string[] = [];
  const say = async (user: string, command: string) => {
    const out = await h.chat.say(user, command);
    await h.deployer.idle();
    return out;
  };

  beforeAll(async () => {
    repo = makeRepo();
    sha.push(repo.commit('first'), repo.commit('second'));
    dir = mkdtempSync(join(tmpdir(), 'shepherd-approvals-'));
    h = await deployHarness(
      JSON.stringify({
        release_managers: ['irc:boss', 'irc:rm2', 'irc:rm3'],
        apps: {
          web: {
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: dir,
            default_environment: 'production',
            steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"'],
            environments: { production: { hosts: ['localhost'], approvals: 2, approval_window: '10m' } },
          },
        },
      }),
    );
  });
  afterAll(async () => {
    await h?.close();
    repo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a deploy to an environment with approvals: 2 THEN neither the requester nor a developer can approve; two other release managers let it run', async () => {
    const asked = await say('boss', `deploy web/${sha[0]} to production`);
    expect(asked).toMatch(
      new RegExp(
        `⏳ #1 web/${sha[0]} \\(${sha[0]!.slice(0, 7)}\\) → production waits for 2 approvals by a release manager other than boss: \`approve deploy 1\` before `,
      ),
    );
    expect(await h.store.deploys.get(1)).toMatchObject({ state: 'awaiting_approval', approvalsNeeded: 2 });
    expect(await h.store.locks.get('web', 'production')).toBeNull();

    expect(await say('boss', 'approve deploy 1')).toMatch(/✋ you asked for #1 yourself: another release manager has to approve it/);
    expect(await say('alice', 'approve deploy 1')).toMatch(/✋ .*release manager/);
    expect(await h.store.db.approval.count()).toBe(0);

    expect(await say('rm2', 'approve deploy 1')).toMatch(/👍 rm2 approved deploy #1 \(1\/2\) — waiting for 1 more/);
    expect(await say('rm2', 'approve deploy 1')).toMatch(/✋ you already approved #1 \(1\/2\)/);
    expect((await h.store.deploys.get(1))?.state).toBe('awaiting_approval');
    expect(await say('carol', 'deploys web in production')).toMatch(/approved by rm2 \(1\/2: `approve deploy 1`\)/);

    expect(await say('rm3', 'approve deploy 1')).toMatch(/👍 rm3 approved deploy #1 \(2\/2\) — it goes ahead now/);
    await vi.waitFor(async () => expect((await h.store.deploys.get(1))?.state).toBe('succeeded'), { timeout: 60_000, interval: 50 });
    expect(h.texts().some((t) => t.startsWith('🚀 #1'))).toBe(true);
    expect(await say('carol', 'deploys web in production')).toMatch(/#1 .*succeeded.*\n {3}approved by rm2, rm3$/);
    expect(await say('rm2', 'approve deploy 1')).toMatch(/✋ #1 is not waiting for approval \(it is succeeded\)/);

    // The viewer's deploy page shows who approved.
    const web = createWebServer({ host: '127.0.0.1', port: 0, store: h.store, events: h.events, logger: pino({ level: 'silent' }) });
    await web.start();
    try {
      const page = await (await fetch(`${web.url}/deploys/1`)).text();
      expect(page).toMatch(/<dt>approved by<\/dt><dd id="approved-by">rm2, rm3 <span class="muted">\(2\/2\)<\/span><\/dd>/);
    } finally {
      await web.stop();
    }
  }, 180_000);

  it('GIVEN nobody approves within approval_window THEN the tick cancels it ("approval expired"), the room is told, and a late approval is refused', async () => {
    await say('boss', `deploy web/${sha[1]} to production`);
    const [waiting] = await h.store.deploys.recent({ environment: 'production' });
    expect(waiting).toMatchObject({ state: 'awaiting_approval', sha: sha[1] });
    const id = waiting!.id;
    await h.deployer.tick();
    expect((await h.store.deploys.get(id))?.state).toBe('awaiting_approval');

    h.clock.advance(10 * 60_000 + 1);
    // The harness's own heartbeat tick (every 200 ms) may be the one that expires it, while this tick finds it
    // already done: wait for the outcome rather than assume this tick wrote it.
    await h.deployer.tick();
    const waitFor = { timeout: 30_000, interval: 50 };
    await vi.waitFor(async () => expect(await h.store.deploys.get(id)).toMatchObject({ state: 'cancelled', error: 'approval expired' }), waitFor);
    // The expiry is the approvals gate's decision in the audit trail of production.
    await vi.waitFor(
      async () =>
        expect(await h.store.db.auditEvent.findFirst({ where: { kind: 'gate', deployId: id, outcome: 'expired' } })).toMatchObject({
          gate: 'approvals',
          environment: 'production',
          detail: 'approval expired (0/2 approvals): cancelled',
        }),
      waitFor,
    );
    await vi.waitFor(async () => {
      await h.events.flushed();
      expect(h.texts().some((t) => t.startsWith(`⌛ #${id} web/${sha[1]}`) && t.includes('cancelled: approval expired (needed 2) — @boss'))).toBe(true);
    }, waitFor);
    expect(await say('rm2', `approve deploy ${id}`)).toMatch(new RegExp(`✋ #${id} is not waiting for approval \\(it is cancelled\\)`));
    expect(await h.store.locks.get('web', 'production')).toBeNull();
  }, 120_000);
});
