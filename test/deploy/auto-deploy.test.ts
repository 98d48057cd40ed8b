/**
 * Continuous delivery end to end: GitHub (the local server with GitHub's shapes) sends signed webhooks to the
 * real web server; the auto deployer deploys the green head of main to staging over a real sshd through the
 * scheduler and the gates. Older heads are not deployed; a queued older head is replaced by a newer one; a
 * lock by hand refuses and says so in the channel; bad deliveries deploy nothing and the bot keeps answering.
 */
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AutoDeployer } from '../../src/deploy/auto-deploy.js';
import { createGitHub } from '../../src/github.js';
import { WebhookDeliveries } from '../../src/store/webhook-deliveries.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { type DeployHarness, deployHarness, makeRepo, sshApp, type TestRepo } from './harness.js';

const SECRET = 'whsec-test-0123456789';

describe.skipIf(skipWithoutSshd())('auto_deploy: green main deploys to staging from webhooks', () => {
  let sshd: Sshd;
  let repo: TestRepo;
  let gh: FakeGitHub;
  let h: DeployHarness;
  let web: WebServer;
  let auto: AutoDeployer;
  const holdDir = mkdtempSync(join(tmpdir(), 'shepherd-hold-'));
  const hold = join(holdDir, 'hold');
  const sync = () => gh.repo('acme/web').importGit(repo.work);
  let delivery = 0;

  beforeAll(async () => {
    sshd = await startSshd({ hosts: 1 });
    repo = makeRepo();
    gh = await startFakeGitHub();
    const yaml = JSON.parse(
      sshApp({
        repoUrl: repo.bare,
        deployTo: sshd.deployTo,
        key: sshd.clientKey,
        hosts: [sshd.hosts[0]!.entry],
        // The test holds a deploy running while the hold file exists (a race forced by the test, not a sleep in it).
        steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"', `while [ -e '${hold}' ]; do sleep 0.05; done`],
        env: { channel: '#web-deploys' },
        app: { repo: 'acme/web', auto_deploy: { branch: 'main', to: 'staging', when: 'green' } },
      }),
    );
    h = await deployHarness(JSON.stringify(yaml), {
      github: createGitHub({ token: gh.token, baseUrl: gh.url, writeSpacingMs: 0, retries: 0 }),
      secrets: [gh.token],
    });
    const logger = pino({ level: 'silent' });
    auto = new AutoDeployer({
      config: h.config,
      store: h.store,
      deployer: h.deployer,
      chat: { provider: 'irc', say: async (target, text) => void (await h.chat.send(target, text)) },
      logger,
    });
    web = createWebServer({
      host: '127.0.0.1',
      port: 0,
      store: h.store,
      events: h.events,
      logger,
      webhook: {
        secret: SECRET,
        knowsRepository: (name) => name.toLowerCase() === 'acme/web',
        deliveries: new WebhookDeliveries(h.store.db),
        onEvent: (e) => auto.handle(e),
      },
    });
    await web.start();
  });
  afterAll(async () => {
    rmSync(holdDir, { recursive: true, force: true });
    await auto?.idle();
    await web?.stop();
    await h?.close();
    await gh?.close();
    repo?.close();
    await sshd?.stop();
  });

  /** GitHub's check_suite completed event for `sha` on main, as GitHub signs and sends it. */
  async function send(
    name: string,
    payload: unknown,
    options: { id?: string; signature?: string | null; raw?: string } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const body = options.raw ?? JSON.stringify(payload);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-github-event': name,
      'x-github-delivery': options.id ?? `delivery-${++delivery}`,
    };
    const signature = options.signature === undefined ? `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` : options.signature;
    if (signature) headers['x-hub-signature-256'] = signature;
    const res = await fetch(`${web.url}/github/webhook`, { method: 'POST', headers, body });
    const reply = { status: res.status, body: (await res.json()) as Record<string, unknown> };
    await auto.idle();
    return reply;
  }
  const checkSuite = (sha: string, repoName = 'acme/web') => ({
    action: 'completed',
    check_suite: { id: 1, head_branch: 'main', head_sha: sha, status: 'completed', conclusion: 'success' },
    repository: { full_name: repoName },
  });
  const green = (sha: string) => gh.repo('acme/web').checkRun(sha, { name: 'build', conclusion: 'success' });
  const deploys = async () => (await h.store.deploys.recent({ limit: 50 })).reverse();

  it('GIVEN a signed check_suite completed/success on main THEN exactly one deploy of that head to staging', async () => {
    const sha = repo.commit('first');
    await sync();
    green(sha);
    const r = await send('check_suite', checkSuite(sha), { id: 'aaa-1' });
    expect(r.status).toBe(202);
    // Redelivered, and another green suite for the same head: still one deploy.
    expect((await send('check_suite', checkSuite(sha), { id: 'aaa-1' })).status).toBe(200);
    expect((await send('check_suite', checkSuite(sha))).status).toBe(202);
    await h.deployer.idle();
    const all = await deploys();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ app: 'web', environment: 'staging', sha, ref: 'main', state: 'succeeded' });
    const start = h.texts().find((t) => t.startsWith(`🚀 #${all[0]!.id}`));
    expect(start).toContain('automatic: main is green (check_suite green)');
    expect(h.chat.sent.find((s) => s.text.startsWith(`🚀 #${all[0]!.id}`))?.target.room).toBe('#web-deploys');
  });

  it('GIVEN three pushes in a row THEN only the newest head deploys (late green events of older heads are skipped)', async () => {
    const before = (await deploys()).length;
    const shas = [repo.commit('push 1'), repo.commit('push 2'), repo.commit('push 3')];
    await sync();
    for (const sha of shas) green(sha);
    for (const sha of shas) expect((await send('check_suite', checkSuite(sha))).status).toBe(202);
    await h.deployer.idle();
    const added = (await deploys()).slice(before);
    expect(added.map((d) => d.sha)).toEqual([shas[2]]);
    expect(added[0]?.state).toBe('succeeded');
  });

  it('GIVEN a deploy running and two newer green heads THEN the queued older one is replaced by the newest (coalescing)', async () => {
    const before = (await deploys()).length;
    writeFileSync(hold, 'hold');
    const a = repo.commit('slow one');
    await sync();
    green(a);
    await send('workflow_run', {
      action: 'completed',
      workflow_run: { head_branch: 'main', head_sha: a, conclusion: 'success' },
      repository: { full_name: 'acme/web' },
    });
    await vi.waitFor(async () => expect((await deploys()).at(-1)).toMatchObject({ sha: a, state: 'running' }), { timeout: 10_000 });
    const b = repo.commit('queued one');
    await sync();
    green(b);
    await send('status', { sha: b, state: 'success', branches: [{ name: 'main' }], repository: { full_name: 'acme/web' } });
    expect((await deploys()).at(-1)).toMatchObject({ sha: b, state: 'queued' });
    const c = repo.commit('newest one');
    await sync();
    green(c);
    await send('check_suite', checkSuite(c));
    rmSync(hold);
    await h.deployer.idle();
    const added = (await deploys()).slice(before);
    expect(added.map((d) => [d.sha, d.state])).toEqual([
      [a, 'succeeded'],
      [b, 'cancelled'],
      [c, 'succeeded'],
    ]);
    expect(h.texts().join('\n')).toMatch(new RegExp(`auto deploy #${added[1]!.id} of ${b.slice(0, 7)} replaced by newer main head ${c.slice(0, 7)}`));
    expect(existsSync(hold)).toBe(false);
  });

  it('GIVEN staging locked by hand THEN the green head is refused and the channel is told why', async () => {
    await h.chat.say('alice', 'lock web/staging db migration');
    const before = (await deploys()).length;
    const sha = repo.commit('while locked');
    await sync();
    green(sha);
    expect((await send('check_suite', checkSuite(sha))).status).toBe(202);
    expect(await deploys()).toHaveLength(before);
    const note = h.chat.sent.find((s) => s.text.startsWith(`✋ auto deploy of web/main (${sha.slice(0, 7)}) to staging refused:`));
    expect(note?.target.room).toBe('#web-deploys');
    expect(note?.text).toMatch(/db migration/);
    await h.chat.say('alice', 'unlock web/staging');
  });

  it('GIVEN no webhook (poll fallback) THEN a poll round deploys the green head, and nothing while CI is still running', async () => {
    const before = (await deploys()).length;
    const sha = repo.commit('polled');
    await sync();
    gh.repo('acme/web').checkRun(sha, { name: 'build', status: 'in_progress' });
    await auto.poll('web');
    expect(await deploys()).toHaveLength(before);
    gh.repo('acme/web').checkRun(sha, { name: 'build', conclusion: 'success' });
    await auto.poll('web');
    await h.deployer.idle();
    const added = (await deploys()).slice(before);
    expect(added.map((d) => [d.sha, d.state])).toEqual([[sha, 'succeeded']]);
    expect(h.texts().find((t) => t.startsWith(`🚀 #${added[0]!.id}`))).toContain('automatic: main is green (poll)');
  });

  it('GIVEN bad signature, missing signature, replayed delivery, malformed JSON, unknown repository THEN nothing deployed, 4xx with a reason, the bot still running', async () => {
    const sha = repo.commit('not via bad hooks');
    await sync();
    green(sha);
    const before = (await deploys()).length;
    const bad = await send('check_suite', checkSuite(sha), { signature: `sha256=${'0'.repeat(64)}` });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toMatch(/does not match/);
    const missing = await send('check_suite', checkSuite(sha), { signature: null });
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatch(/missing X-Hub-Signature-256/);
    // The delivery id of the first test, redelivered with this head: acknowledged, not handled again.
    const replay = await send('check_suite', checkSuite(sha), { id: 'aaa-1' });
    expect(replay.status).toBe(200);
    expect(replay.body.note).toMatch(/handled already/);
    const malformed = await send('check_suite', null, { raw: '{"action":"completed",' });
    expect(malformed.status).toBe(400);
    const unknown = await send('check_suite', checkSuite(sha, 'acme/elsewhere'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/acme\/elsewhere/);
    await h.deployer.idle();
    expect(await deploys()).toHaveLength(before);
    expect(await h.chat.say('alice', 'deploys')).toMatch(/web/);
  });
});
