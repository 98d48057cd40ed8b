/**
 * The real Deployer as main.ts wires it (store, log line writer on a connection of its own, deploy sinks, the web
 * viewer's live log listening to every deploy's lines, with nobody watching), on a fresh benchmark database (SQLite
 * by default, or PostgreSQL), with chat messages counted instead of sent.
 *
 *   const bench = await startBenchDeployer(yamlText, 'postgresql');
 *   const r = await bench.deployer.request({ ... }); await bench.deployer.waitFor(r.deploy.id); await bench.close();
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { Deployer } from '../../src/deploy/engine.js';
import { DeployEvents } from '../../src/deploy/events.js';
import { Masker } from '../../src/deploy/mask.js';
import { startDeploySinks } from '../../src/deploy/sinks.js';
import { type DatabaseKind, openDatabase } from '../../src/store/db.js';
import { createStore, type Store } from '../../src/store/index.js';
import type { KnownUser } from '../../src/store/users.js';
import { LiveLog } from '../../src/web/live-log.js';
import { Redactor } from '../../src/web/redact.js';
import { benchDatabase } from './database.js';

export interface BenchDeployer {
  deployer: Deployer;
  store: Store;
  /** What the deploys publish (a section may time them). */
  events: DeployEvents;
  user: KnownUser;
  /** Chat messages the deploys posted. */
  messages(): number;
  /** Shortest time between two chat messages sent at or after `since` (performance.now(); ms; Infinity with fewer than two). */
  minGapMs(since?: number): number;
  close(): Promise<void>;
}

export async function startBenchDeployer(yaml: string, kind: DatabaseKind = 'sqlite'): Promise<BenchDeployer> {
  const db = await benchDatabase(kind);
  const database = await openDatabase(db.url);
  const store = createStore(database.prisma, { karmaInitial: 4 });
  const cfgDir = mkdtempSync(join(tmpdir(), 'shepherd-bench-'));
  writeFileSync(join(cfgDir, 'shepherd.yml'), yaml);
  const config = loadConfig({ SHEPHERD_CONFIG: join(cfgDir, 'shepherd.yml'), DATABASE_URL: db.url, WEB_BASE_URL: 'http://viewer.bench' });
  const lines = database.lines();
  let messages = 0;
  const sentAt: number[] = [];
  const events = new DeployEvents();
  const deployer = new Deployer({
    config,
    store,
    events,
    masker: new Masker([]),
    lines,
    github: null,
    gitCacheDir: join(db.dir, 'git'),
    logger: pino({ level: 'silent' }),
  });
  startDeploySinks({
    config,
    store,
    events,
    revisions: deployer.revisions,
    chat: {
      send: async (_provider, target) => {
        messages++;
        sentAt.push(performance.now());
        return { ...target, id: String(messages) };
      },
      mention: (_p, u) => u.name,
    },
    logger: pino({ level: 'silent' }),
  });
  // `npm start` always runs the web viewer, whose live log takes every line a deploy publishes.
  const live = new LiveLog({ events, logs: store.logs, redactor: new Redactor([]), logger: pino({ level: 'silent' }) });
  live.start();
  const user = await store.users.identify({ provider: 'shell', id: 'bench', handle: 'bench' });
  // What a running bot has done a second after its start (Scheduler.start() → prepare()): the SSH client loaded.
  // The benches measure deploys on a bot that is up, not the first second of a process.
  await deployer.prepare();
  return {
    deployer,
    store,
    events,
    user,
    messages: () => messages,
    minGapMs: (since = 0) => {
      const times = sentAt.filter((t) => t >= since);
      return Math.min(...times.slice(1).map((t, i) => t - (times[i] as number)));
    },
    async close() {
      live.stop();
      await deployer.idle();
      await deployer.stop();
      await lines.close();
      rmSync(cfgDir, { recursive: true, force: true });
      await database.prisma.$disconnect();
      await db.drop();
    },
  };
}
