/**
 * Races the lifecycle must win every time, with the interleaving forced by the test through the scheduler's
 * seam (SchedulerOptions.seam) or by calling the store's steps in the racing order, never by sleeps:
 * - `cancel` of a queued deploy racing the queue starting it;
 * - `unlock` racing a deploy taking the environment's lock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SeamPoint } from '../../src/deploy/scheduler.js';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from './harness.js';

// Each iteration is one interleaving the seam forces, the same every time, so repeats find nothing new; what they
// still sample is where the real `true` step is when a cancel stops it (the 'stopping' order). 100 (50 per order)
// on both databases; RACE_ITERATIONS=1000 for a longer soak.
const ITERATIONS = Number(process.env.RACE_ITERATIONS ?? 100);

/** A gate the seam waits at, opened by the test. */
class Gates {
  private held = new Map<string, () => void>();
  private armed = new Set<string>();
  arm(point: SeamPoint, id: number): void {
    this.armed.add(`${point}:${id}`);
  }
  async wait(point: SeamPoint, id: number): Promise<void> {
    const key = `${point}:${id}`;
    if (!this.armed.delete(key)) return;
    await new Promise<void>((resolve) => this.held.set(key, resolve));
  }
  async reached(point: SeamPoint, id: number): Promise<void> {
    await vi.waitFor(() => expect(this.held.has(`${point}:${id}`)).toBe(true), { interval: 1, timeout: 10_000 });
  }
  open(point: SeamPoint, id: number): void {
    const key = `${point}:${id}`;
    this.held.get(key)?.();
    this.held.delete(key);
  }
}

describe('races the lifecycle wins every time', () => {
  let repo: TestRepo;
  let dir: string;
  let h: DeployHarness;
  /** A commit the repository really has: lookups about it (commit time, what ships) are answered from the mirror. */
  let sha: string;
  const gates = new Gates();

  beforeAll(async () => {
    repo = makeRepo();
    sha = repo.commit('first');
    dir = mkdtempSync(join(tmpdir(), 'shepherd-races-'));
    h = await deployHarness(
      JSON.stringify({
        release_managers: ['irc:boss'],
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
      // No timer round during the test: every drain is the test's.
      { heartbeatMs: 3_600_000, seam: (point, id) => gates.wait(point, id) },
    );
  });
  afterAll(async () => {
    await h?.close();
    repo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A deploy queued behind one that just ended (lock free): the next drain would start it. */
  async function claimableQueued(userId: number): Promise<number> {
    const room = { room: '#deploys' };
    const blocker = await h.store.deploys.request(
      {
        app: 'web',
        environment: 'staging',
        ref: 'main',
        sha,
        kind: 'deploy',
        requesterId: userId,
        provider: 'irc',
        room: room.room,
        hosts: [{ label: 'localhost', port: 22, stage: 0 }],
      },
      new Date(),
      'another-instance',
    );
    if (blocker.outcome !== 'started') throw new Error(`blocker ${blocker.outcome}`);
    const queued = await h.deployer.request({
      app: 'web',
      environment: 'staging',
      ref: 'main',
      sha,
      requester: { id: userId },
      provider: 'irc',
      room,
    });
    if (queued.outcome !== 'queued') throw new Error(`expected queued, got ${queued.outcome}`);
    expect(await h.store.deploys.finish(blocker.deploy.id, 'succeeded', null, { owner: 'another-instance' })).toBe(true);
    return queued.deploy.id;
  }

  it(`GIVEN cancel racing the queue starting the same deploy (${ITERATIONS} times, both orders) THEN a deploy recorded cancelled never ran, and one that started is stopped`, async () => {
    const user = await h.store.users.identify({ provider: 'irc', id: 'bob', handle: 'bob' });
    for (let i = 0; i < ITERATIONS; i++) {
      const id = await claimableQueued(user.id);
      if (i % 2 === 0) {
        // The queue has read the head and is about to claim it; the cancel lands in between.
        gates.arm('before-claim', id);
        const draining = h.deployer.drain();
        await gates.reached('before-claim', id);
        expect(await h.deployer.cancel(id, 'bob')).toBe('dequeued');
        gates.open('before-claim', id);
        await draining;
        const d = await h.store.deploys.get(id);
        expect(d?.state).toBe('cancelled');
        expect(d?.hosts.map((x) => x.state)).toEqual(['cancelled']);
        expect(h.deployer.running()).not.toContain(id);
        expect(h.seen.some((e) => e.type === 'state' && e.deployId === id && e.state === 'running')).toBe(false);
      } else {
        // The cancel has seen it queued; the queue starts it before the cancel writes.
        gates.arm('before-cancel-queued', id);
        const cancelling = h.deployer.cancel(id, 'bob');
        await gates.reached('before-cancel-queued', id);
        await h.deployer.drain();
        expect(h.deployer.running()).toContain(id);
        gates.open('before-cancel-queued', id);
        expect(await cancelling).toBe('stopping');
        await h.deployer.waitFor(id);
        const d = await h.store.deploys.get(id);
        expect(d?.state).toBe('cancelled');
        expect(d?.error).toBe('cancelled by bob');
      }
      expect(await h.store.locks.list()).toEqual([]);
    }
  }, 900_000);

  it(`GIVEN unlock racing a deploy taking the lock (${ITERATIONS} times) THEN a deploy's lock is never deleted by unlock, and a manual lock never by a deploy`, async () => {
    const alice = await h.store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const request = () =>
      h.store.deploys.request(
        { app: 'web', environment: 'staging', ref: 'main', sha: 'b'.repeat(40), kind: 'deploy', requesterId: alice.id, provider: 'irc', room: '#d', hosts: [] },
        new Date(),
        'another-instance',
      );
    for (let i = 0; i < ITERATIONS; i++) {
      const taken = await h.store.locks.acquire({ app: 'web', environment: 'staging', holderId: alice.id, reason: 'migration' });
      if (!taken.ok) throw new Error('lock not taken');
      // alice's `unlock` has read her manual lock...
      const seen = await h.store.locks.get('web', 'staging');
      expect(seen?.id).toBe(taken.lock.id);
      // ...a release manager breaks it and a deploy takes the environment before alice's unlock writes.
      expect((await h.store.locks.unlock('web', 'staging', seen!.id)).ok).toBe(true);
      const d = await request();
      if (d.outcome !== 'started') throw new Error(d.outcome);
      const late = await h.store.locks.unlock('web', 'staging', seen!.id);
      expect(late).toMatchObject({ ok: false, heldByDeploy: d.deploy.id });
      // Even without the id she saw, unlock never frees a deploy's lock.
      expect(await h.store.locks.unlock('web', 'staging')).toMatchObject({ ok: false, heldByDeploy: d.deploy.id });
      expect((await h.store.locks.get('web', 'staging'))?.deployId).toBe(d.deploy.id);
      // The deploy ends; someone locks by hand; a late second end of the deploy leaves that lock alone.
      expect(await h.store.deploys.finish(d.deploy.id, 'succeeded', null, { owner: 'another-instance' })).toBe(true);
      // Ending it freed its lock in the same write.
      expect(await h.store.locks.get('web', 'staging')).toBeNull();
      const manual = await h.store.locks.acquire({ app: 'web', environment: 'staging', holderId: alice.id });
      if (!manual.ok) throw new Error('manual lock refused');
      // A late second end of the same deploy changes nothing and leaves that lock alone.
      expect(await h.store.deploys.finish(d.deploy.id, 'succeeded', null, { owner: 'another-instance' })).toBe(false);
      expect((await h.store.locks.get('web', 'staging'))?.id).toBe(manual.lock.id);
      expect((await h.store.locks.unlock('web', 'staging')).ok).toBe(true);
    }
    expect(await h.store.locks.list()).toEqual([]);
  }, 900_000);

  it('GIVEN a deploy holds the lock THEN `unlock` refuses naming it and how to cancel it', async () => {
    const alice = await h.store.users.identify({ provider: 'irc', id: 'alice', handle: 'alice' });
    const d = await h.store.deploys.request(
      { app: 'web', environment: 'staging', ref: 'main', sha: 'c'.repeat(40), kind: 'deploy', requesterId: alice.id, provider: 'irc', room: '#d', hosts: [] },
      new Date(),
      'another-instance',
    );
    if (d.outcome !== 'started') throw new Error(d.outcome);
    expect(await h.chat.say('alice', 'unlock web/staging')).toContain(`held by deploy #${d.deploy.id} — \`cancel ${d.deploy.id}\``);
    expect((await h.store.locks.get('web', 'staging'))?.deployId).toBe(d.deploy.id);
    await h.store.deploys.finish(d.deploy.id, 'succeeded', null, { owner: 'another-instance' });
  });
});
