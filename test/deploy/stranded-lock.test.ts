/**
 * An ended deploy never holds its environment's lock. The final state and the lock are one write (Deploys.end),
 * so no stop can fall between them; a lock an older version stranded that way (the state written, the process
 * killed before the lock was freed: the queue then waited for ever) is freed by the scheduler's stale sweep.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from './harness.js';

describe('an ended deploy holds no lock', () => {
  let repo: TestRepo;
  let dir: string;
  let h: DeployHarness;
  let sha: string;

  beforeAll(async () => {
    repo = makeRepo();
    sha = repo.commit('first');
    dir = mkdtempSync(join(tmpdir(), 'shepherd-stranded-'));
    h = await deployHarness(
      JSON.stringify({
        apps: {
          web: {
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: join(dir, 'deploy'),
            steps: ['true'],
            environments: { staging: { hosts: ['localhost'] } },
          },
        },
      }),
      // No timer round during the test: every recovery is the test's.
      { heartbeatMs: 3_600_000 },
    );
  });
  afterAll(async () => {
    await h?.close();
    repo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A deploy of web/staging started by another instance (it holds the lock). */
  async function startedElsewhere(): Promise<number> {
    const user = await h.store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const r = await h.store.deploys.request(
      { app: 'web', environment: 'staging', ref: 'main', sha, kind: 'deploy', requesterId: user.id, provider: 'irc', room: '#d', hosts: [] },
      new Date(),
      'another-instance',
    );
    if (r.outcome !== 'started') throw new Error(r.outcome);
    return r.deploy.id;
  }

  it('GIVEN a deploy holding the lock WHEN it ends THEN the lock is freed in the same write; a second end changes nothing', async () => {
    const id = await startedElsewhere();
    expect((await h.store.locks.get('web', 'staging'))?.deployId).toBe(id);
    expect(await h.store.deploys.end(id, 'succeeded', null, { owner: 'another-instance' })).toEqual({ won: true, keptLock: false });
    expect(await h.store.locks.get('web', 'staging')).toBeNull();
    const manual = await h.store.locks.acquire({
      app: 'web',
      environment: 'staging',
      holderId: (await h.store.users.identify({ provider: 'irc', id: 'bob', handle: 'bob' })).id,
    });
    if (!manual.ok) throw new Error('manual lock refused');
    expect(await h.store.deploys.end(id, 'failed', 'late', { owner: 'another-instance' })).toEqual({ won: false, keptLock: false });
    expect((await h.store.locks.get('web', 'staging'))?.id).toBe(manual.lock.id);
    expect((await h.store.deploys.get(id))?.state).toBe('succeeded');
    expect((await h.store.locks.unlock('web', 'staging')).ok).toBe(true);
  });

  it('GIVEN a rollback that keeps the lock (lock_after_rollback) WHEN it ends THEN the same write turns it into a lock by hand with the reason', async () => {
    const id = await startedElsewhere();
    const reason = 'rolled back by alice: unlock when fixed';
    expect(await h.store.deploys.end(id, 'succeeded', null, { owner: 'another-instance', keepLock: reason })).toEqual({ won: true, keptLock: true });
    expect(await h.store.locks.get('web', 'staging')).toMatchObject({ deployId: null, reason });
    expect((await h.store.locks.unlock('web', 'staging')).ok).toBe(true);
  });

  it('GIVEN a lock stranded on an ended deploy (as an older version left it) THEN the stale sweep frees it and the queued deploy starts', async () => {
    const blocker = await startedElsewhere();
    const user = await h.store.users.identify({ provider: 'irc', id: 'carol', handle: 'carol' });
    const queued = await h.deployer.request({
      app: 'web',
      environment: 'staging',
      ref: 'main',
      sha,
      requester: { id: user.id },
      provider: 'irc',
      room: { room: '#d' },
    });
    if (queued.outcome !== 'queued') throw new Error(`expected queued, got ${queued.outcome}`);
    // The old two writes, cut after the first: the deploy ended, its lock still held.
    await h.store.db.deploy.update({ where: { id: blocker }, data: { state: 'succeeded', finishedAt: new Date() } });
    expect((await h.store.locks.get('web', 'staging'))?.deployId).toBe(blocker);

    await h.deployer.recover();
    await h.deployer.idle();
    expect((await h.store.deploys.get(queued.deploy.id))?.state).toBe('succeeded');
    expect(await h.store.locks.get('web', 'staging')).toBeNull();
    expect(await h.store.deploys.freeStrandedLocks()).toBe(0);
  });
});
