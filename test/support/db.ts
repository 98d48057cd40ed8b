/**
 * A real store on a fresh SQLite file in a temp dir, migrated exactly as at start.
 *
 *   const t = await tempStore(); ...; await t.close();
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MaskText } from '../../src/deploy/mask.js';
import { openDatabase } from '../../src/store/db.js';
import { createStore, type Store } from '../../src/store/index.js';

export interface TempStore {
  store: Store;
  dir: string;
  url: string;
  close(): Promise<void>;
}

/** `mask`: as main.ts gives the store (default: the rules without configured values). */
export async function tempStore(karmaInitial = 4, mask?: MaskText): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-test-'));
  const url = `file:${join(dir, 'test.db')}`;
  const { prisma } = await openDatabase(url);
  const store = createStore(prisma, { karmaInitial, ...(mask ? { mask } : {}) });
  return {
    store,
    dir,
    url,
    async close() {
      await prisma.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A running deploy row with no hosts (for log pipeline tests): its id. Each call uses its own environment,
 * so calls never queue behind each other. Throws if the store did not start it.
 */
export async function startedDeploy(t: TempStore): Promise<number> {
  const user = await t.store.users.identify({ provider: 'irc', id: 'a', handle: 'a' });
  const r = await t.store.deploys.request({
    app: 'web',
    environment: `e${Math.random().toString(36).slice(2)}`,
    ref: 'main',
    sha: 'f'.repeat(40),
    kind: 'deploy',
    requesterId: user.id,
    provider: 'irc',
    room: '#d',
    hosts: [],
  });
  if (r.outcome !== 'started') throw new Error(`deploy not started: ${r.outcome}`);
  return r.deploy.id;
}
