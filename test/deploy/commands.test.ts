import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from './harness.js';
import { waitUntil } from '../support/wait.js';

describe.skipIf(skipWithoutSshd())('deploy, rollback, deploys, status <id> from chat', () => {
  let sshd: Sshd;
  let repo: TestRepo;
  let h: DeployHarness;
  const shas: string[] = [];

  beforeAll(async () => {
    sshd = await startSshd({ hosts: 2 });
    repo = makeRepo();
    shas.push(repo.commit('first'));
    const env = (extra: object) => ({ hosts: sshd.hosts.map((x) => x.entry), ...extra });
    h = await deployHarness(
      JSON.stringify({
        release_managers: ['irc:boss'],
        apps: {
          web: {
            repo_url: repo.bare,
            deploy_to: sshd.deployTo,
            keep_releases: 3,
            default_environment: 'staging',
            ssh: { user: 'root', private_key_path: sshd.clientKey },
            steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"', 'echo built'],
            environments: {
              staging: env({ canary: 1 }),
              production: env({ allowed_roles: ['release_manager'], confirm: true }),
            },
          },
        },
      }),
    );
  });
  afterAll(async () => {
    await h?.close();
    repo?.close();
    await sshd?.stop();
  });

  it('GIVEN --dry-run THEN the plan (hosts by stage, steps, commits) is shown and nothing runs', async () => {
    const reply = await h.chat.say('alice', 'deploy web/main --dry-run');
    expect(reply).toContain(`dry run: web/main (${shas[0]!.slice(0, 7)}) → staging — nothing will run`);
    expect(reply).toContain(`canary: ${sshd.hosts[0]!.entry}`);
    expect(reply).toContain(`then: ${sshd.hosts[1]!.entry}`);
    expect(reply).toContain('  2. echo built');
    expect(reply).toContain('first deploy of this environment');
    expect(await h.store.deploys.recent({})).toEqual([]);
    expect(readdirSync(sshd.hosts[0]!.root)).toEqual([]);
  });

  it('GIVEN an unknown ref, app or environment THEN the refusal says what to do', async () => {
    expect(await h.chat.say('alice', 'deploy web/no-such-branch')).toMatch(/✋ web has no branch, tag or commit "no-such-branch"/);
    expect(await h.chat.say('alice', 'deploy api')).toMatch(/✋ unknown app "api" — known apps: web/);
    expect(await h.chat.say('alice', 'deploy web to qa')).toMatch(/✋ web has no environment "qa" — it has: staging, production/);
    expect(await h.chat.say('alice', 'deploy')).toMatch(/usage: deploy <app>/);
  });

  it('GIVEN production allows release managers only and asks for confirmation THEN a developer is refused and "no" cancels', async () => {
    expect(await h.chat.say('alice', 'deploy web/main to production')).toMatch(
      /✋ only a release manager can deploy to web\/production — ask one of: irc:boss/,
    );
    const asking = h.chat.say('boss', 'deploy web/main to production');
    await waitUntil('the question', () => h.texts().some((t) => t.includes('answer `yes` within 60s')));
    await h.chat.say('boss', 'no');
    expect(await asking).toMatch(/cancelled: not confirmed/);
    expect(await h.store.deploys.recent({})).toEqual([]);
  });

  it('GIVEN the release manager answers yes THEN production deploys', async () => {
    const asking = h.chat.say('boss', 'deploy web/main to production');
    await waitUntil('the question', () => h.texts().filter((t) => t.includes('answer `yes`')).length === 2);
    await h.chat.say('boss', 'yes');
    await asking;
    await h.deployer.idle();
    const [d] = await h.store.deploys.recent({ environment: 'production' });
    expect(d?.state).toBe('succeeded');
  });

  it('GIVEN two deploys to staging THEN `rollback web` switches every host back without rebuilding, and a second rollback has nowhere to go', async () => {
    await h.chat.say('alice', 'deploy web/main');
    await h.deployer.idle();
    shas.push(repo.commit('second'));
    await h.chat.say('alice', 'deploy web/main');
    await h.deployer.idle();
    const [second, first] = await h.store.deploys.recent({ environment: 'staging' });
    expect([first?.state, second?.state]).toEqual(['succeeded', 'succeeded']);
    expect(second?.sha).toBe(shas[1]);

    await h.chat.say('bob', 'rollback web');
    await h.deployer.idle();
    const [rollback] = await h.store.deploys.recent({ environment: 'staging' });
    expect(rollback?.kind).toBe('rollback');
    expect(rollback?.state).toBe('succeeded');
    expect(rollback?.releaseId).toBe(first?.releaseId);
    for (const host of sshd.hosts) {
      expect(readlinkSync(join(host.root, 'current'))).toBe(`releases/${first!.releaseId}`);
      expect(readFileSync(join(host.root, 'current', 'VERSION'), 'utf8')).toMatch(/^first/);
    }
    // No steps ran: only Shepherd's own lines.
    const lines = await h.store.deploys.lines(rollback!.id);
    expect(lines.filter((l) => l.stream !== 'system')).toEqual([]);
    expect(h.texts().some((t) => t.startsWith(`🚀 #${rollback!.id} rolling back web back to ${first!.sha.slice(0, 7)}`))).toBe(true);

    expect(await h.chat.say('bob', 'rollback web')).toMatch(/✋ nothing to roll back to in web\/staging/);
  });

  it('GIVEN deploys happened THEN `deploys` lists them and `status <id>` shows the hosts', async () => {
    const list = await h.chat.say('carol', 'deploys web in staging');
    const rows = list.split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^#\d+ ✅ web back to [0-9a-f]{7} \(main\) in staging succeeded .* by bob — http:\/\/viewer\.test\/deploys\/\d+$/);
    expect(rows[1]).toMatch(/^#\d+ ✅ web\/main \([0-9a-f]{7}\) → staging succeeded .* by alice/);
    const id = /^#(\d+)/.exec(rows[1]!)![1];
    const status = await h.chat.say('carol', `status ${id}`);
    expect(status).toContain(`${sshd.hosts[0]!.entry}: succeeded`);
    expect(status).toContain(`${sshd.hosts[1]!.entry}: succeeded`);
    expect(await h.chat.say('carol', 'status')).toMatch(/Deploys:\n {2}none/);
  });
});
