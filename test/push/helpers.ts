/**
 * A real Bot with the push service wired as main.ts wires it, over a real git remote (bare repo in a temp dir),
 * a temp SQLite store, a clock the test moves and timers the test fires.
 *
 *   const t = await pushBot();
 *   await t.chat.say('alice', 'cp 9fceb02');
 *   await t.close();
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Deployer } from '../../src/deploy/engine.js';
import { DeployEvents } from '../../src/deploy/events.js';
import { Masker } from '../../src/deploy/mask.js';
import type { GitHub } from '../../src/github.js';
import { deployThrough } from '../../src/push/deploy.js';
import { adapterNotifier } from '../../src/push/notifier.js';
import { pushStatusSection } from '../../src/push/status-section.js';
import type { LineSink } from '../../src/store/log-lines.js';
import type { PushService, Timers } from '../../src/push/service.js';
import { createPushService } from '../../src/push/setup.js';
import { type TestBot, testBot } from '../support/bot.js';
import { createGitRemote, type GitRemote } from '../support/git-repos.js';

export const PEOPLE = ['alice', 'bob', 'carol', 'dave', 'erin'];

export function pushConfig(remote: string, deployTo = './deploy'): string {
  return `
release_managers: ["irc:rm"]
developers: ["irc:alice", "irc:bob", "irc:carol", "irc:dave", "irc:erin", "irc:rm"]
karma: { initial: 4, block_at: 2 }
push:
  app: web
  branch_prefix: push/
  trunk: main
  confirm_window: 30m
  reminder_interval: 10m
  risk: { lines: 50, comments: 5 }
apps:
  web:
    repo: acme/web
    repo_url: ${JSON.stringify(remote)}
    transport: local
    deploy_to: ${JSON.stringify(deployTo)}
    default_environment: staging
    steps:
      - git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"
    environments:
      staging: { hosts: [localhost] }
      production: { hosts: [localhost], allowed_roles: [release_manager] }
`;
}

/** Timers fired by hand: fire() runs every registered callback once and waits for it. */
export class ManualTimers implements Timers {
  private readonly callbacks = new Set<() => Promise<void>>();
  every(_ms: number, fn: () => Promise<void>): () => void {
    this.callbacks.add(fn);
    return () => this.callbacks.delete(fn);
  }
  async fire(): Promise<void> {
    for (const fn of this.callbacks) await fn();
  }
}

export interface PushBot extends TestBot {
  git: GitRemote;
  push: PushService;
  /** Present with `deployer: true`: the real deploy engine on the local transport. */
  deployer: Deployer | null;
  timers: ManualTimers;
  stopTicking: () => void;
  /** Messages the bot sent outside a command (reminders, deferrals), since the last call. */
  notices(): string[];
}

export async function pushBot(options: { github?: GitHub; deployer?: boolean; git?: GitRemote } = {}): Promise<PushBot> {
  const git = options.git ?? createGitRemote();
  const services: Record<string, unknown> = {};
  const deployTo = join(git.root, 'hosts');
  mkdirSync(deployTo, { recursive: true });
  const t = await testBot(pushConfig(git.remote, deployTo), services);
  const notifier = adapterNotifier([t.chat]);
  let deployer: Deployer | null = null;
  let lines: LineSink | null = null;
  if (options.deployer) {
    // Wired as main.ts wires it.
    lines = await t.lines();
    deployer = new Deployer({
      config: t.config,
      store: t.store,
      events: new DeployEvents(),
      masker: new Masker([]),
      lines,
      github: options.github ?? null,
      gitCacheDir: join(t.dir, 'git-cache'),
      chat: { send: (provider, target, text) => notifier.say(provider, target, text).then(() => ({ ...target })), mention: (p, u) => notifier.mention(p, u) },
      logger: pino({ level: 'silent' }),
      chatIntervalMs: 20,
      heartbeatMs: 200,
    });
    deployer.start();
    services.deployer = deployer;
  }
  const push = createPushService({
    config: t.config,
    store: t.store,
    clock: t.clock,
    dataDir: t.dir,
    github: options.github ?? null,
    notifier,
    deploy: deployer ? deployThrough(deployer, t.store) : undefined,
  });
  if (!push) throw new Error('push service not created');
  services.push = push;
  services.statusSections = [pushStatusSection(push)];
  const timers = new ManualTimers();
  const stopTicking = push.startTicking(5000, timers);
  let seen = 0;
  // Everyone says hello first, as people do, so the bot knows them (and can match git authors to them).
  for (const name of [...PEOPLE, 'rm']) await t.chat.say(name, 'whoami');
  return {
    ...t,
    git,
    push,
    deployer,
    timers,
    stopTicking,
    notices() {
      const out = t.chat.sent.slice(seen).map((s) => s.text);
      seen = t.chat.sent.length;
      return out;
    },
    async close() {
      stopTicking();
      if (deployer) {
        await deployer.idle().catch(() => {});
        await deployer.stop();
      }
      lines?.close();
      await t.close();
      git.close();
    },
  };
}

/** The number in 'pick 12 requested' of a cherry-pick reply. */
export function pickIdOf(reply: string): number {
  const m = /pick (\d+) requested/.exec(reply);
  if (!m) throw new Error(`no pick id in: ${reply}`);
  return Number(m[1]);
}
