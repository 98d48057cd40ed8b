/**
 * lock_after_rollback (default true): GIVEN a successful rollback THEN the environment stays locked by the one
 * who rolled back ("rolled back by alice: unlock when fixed"), deploys are refused until `unlock`; with
 * `lock_after_rollback: false` nothing stays locked. Real git repository, real deployer on the local transport.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from './harness.js';

describe('lock after rollback', () => {
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
    dir = mkdtempSync(join(tmpdir(), 'shepherd-lock-after-'));
    h = await deployHarness(
      JSON.stringify({
        release_managers: ['irc:boss'],
        apps: {
          web: {
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: dir,
            default_environment: 'staging',
            steps: ['git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"'],
            environments: {
              staging: { hosts: ['localhost'] },
              qa: { hosts: ['localhost'], lock_after_rollback: false },
              // Fresh for the failing rollback: nothing live there, so its first deploy is not "going back" (asked).
              uat: { hosts: ['localhost'] },
            },
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

  it('GIVEN a successful rollback THEN the environment is locked by its requester until `unlock`, and deploys are refused meanwhile', async () => {
    await say('bob', `deploy web/${sha[0]} to staging`);
    await say('bob', `deploy web/${sha[1]} to staging`);
    await say('alice', 'rollback web in staging');
    const [rollback] = await h.store.deploys.recent({ environment: 'staging' });
    expect(rollback).toMatchObject({ kind: 'rollback', state: 'succeeded', sha: sha[0] });

    const lock = await h.store.locks.get('web', 'staging');
    expect(lock).toMatchObject({ deployId: null, reason: 'rolled back by alice: unlock when fixed', holder: { name: 'alice' } });
    expect(h.texts().some((t) => t.includes('🔒 web/staging stays locked: rolled back by alice: unlock when fixed (`unlock web/staging`)'))).toBe(true);
    expect(await say('carol', 'locks')).toMatch(/web\/staging held by alice .*rolled back by alice: unlock when fixed/);

    expect(await say('bob', `deploy web/${sha[1]} to staging`)).toMatch(
      /✋ 🔒 web\/staging held by alice since .* — "rolled back by alice: unlock when fixed" — deploys wait until it is unlocked \(`unlock web\/staging`\)/,
    );
    expect(await h.store.db.deploy.count({ where: { environment: 'staging' } })).toBe(3);

    expect(await say('alice', 'unlock web/staging')).toMatch(/🔓 web\/staging is free/);
    await say('bob', `deploy web/${sha[1]} to staging`);
    const [again] = await h.store.deploys.recent({ environment: 'staging' });
    expect(again).toMatchObject({ kind: 'deploy', state: 'succeeded', sha: sha[1] });
    expect(await h.store.locks.get('web', 'staging')).toBeNull();
  }, 180_000);

  it('GIVEN lock_after_rollback: false THEN a rollback frees the environment as any deploy does', async () => {
    await say('bob', `deploy web/${sha[0]} to qa`);
    await say('bob', `deploy web/${sha[1]} to qa`);
    await say('alice', 'rollback web in qa');
    expect((await h.store.deploys.recent({ environment: 'qa' }))[0]).toMatchObject({ kind: 'rollback', state: 'succeeded' });
    expect(await h.store.locks.get('web', 'qa')).toBeNull();
    expect(h.texts().some((t) => t.includes('web/qa stays locked'))).toBe(false);
  }, 180_000);

  it('GIVEN a rollback that fails THEN no lock is left behind', async () => {
    // The release to go back to is gone from the host: the rollback fails, and the environment is free again.
    await say('bob', `deploy web/${sha[0]} to uat`);
    const [previous] = await h.store.deploys.recent({ environment: 'uat' });
    expect(previous).toMatchObject({ sha: sha[0], state: 'succeeded' });
    rmSync(join(dir, 'releases', previous!.releaseId), { recursive: true, force: true });
    await say('bob', `deploy web/${sha[1]} to uat`);
    await say('alice', 'rollback web in uat');
    const [rollback] = await h.store.deploys.recent({ environment: 'uat' });
    expect(rollback).toMatchObject({ kind: 'rollback', state: 'failed' });
    expect(await h.store.locks.get('web', 'uat')).toBeNull();
  }, 180_000);
});
