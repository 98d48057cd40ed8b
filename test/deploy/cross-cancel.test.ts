/**
 * `cancel` asked of an instance that does not run the deploy: it is recorded in the database, and the
 * instance that owns the deploy stops it on its next heartbeat, as a local cancel would.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeployEvents } from '../../src/deploy/events.js';
import { Masker } from '../../src/deploy/mask.js';
import { Scheduler } from '../../src/deploy/scheduler.js';
import { type DeployHarness, deployHarness, makeRepo, type TestRepo } from './harness.js';

describe('cancel across instances', () => {
  let repo: TestRepo;
  let dir: string;
  let h: DeployHarness;

  beforeAll(async () => {
    repo = makeRepo();
    repo.commit('first');
    dir = mkdtempSync(join(tmpdir(), 'shepherd-xcancel-'));
    h = await deployHarness(
      JSON.stringify({
        release_managers: ['irc:boss'],
        apps: {
          web: {
            repo_url: repo.bare,
            transport: 'local',
            deploy_to: join(dir, 'deploy'),
            steps: [`touch ${join(dir, 'started')}; sleep 300`],
            environments: { staging: { hosts: ['localhost'] } },
          },
        },
      }),
      // A beats only when the test says (tick below): B's second cancel must come before A's heartbeat acts.
      { heartbeatMs: 3_600_000 },
    );
  });
  afterAll(async () => {
    await h?.close();
    repo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a deploy run by instance A WHEN instance B is asked to cancel it THEN B records the request and A stops it', async () => {
    await h.chat.say('boss', 'deploy web/main to staging');
    await vi.waitFor(() => expect(existsSync(join(dir, 'started'))).toBe(true), { timeout: 60_000 });
    const lines = await h.lines();
    const other = new Scheduler({
      config: h.config,
      store: h.store,
      events: new DeployEvents(),
      masker: new Masker([]),
      lines,
      github: null,
      gitCacheDir: join(h.dir, 'git-cache-b'),
      logger: pino({ level: 'silent' }),
      instanceId: 'instance-b',
    });
    try {
      expect(await other.cancel(1, 'bob')).toBe('requested');
      expect(await other.cancel(1, 'bob')).toBe('already-stopping');
      expect((await h.store.deploys.get(1))?.cancelRequestedBy).toBe('bob');
      // A's next heartbeat picks the request up.
      await h.deployer.tick();
      await h.deployer.idle();
      const d = await h.store.deploys.get(1);
      expect(d).toMatchObject({ state: 'cancelled', error: 'cancelled by bob' });
      expect(d?.hosts.map((x) => x.state)).toEqual(['cancelled']);
      expect(await h.store.locks.list()).toEqual([]);
    } finally {
      await other.stop();
      await lines.close();
    }
  }, 120_000);
});
