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
import { startDeploySinks } from '../../src/deploy/sinks.js';
import { Masker } from '../../src/deploy/mask.js';
import type { GitHub } from '../../src/github.js';
import { deployThrough } from '../../src/push/deploy.js';
import { adapterNotifier } from '../../src/push/notifier.js';
import type { LineSink } from '../../src/store/log-lines.js';
import type { PushService, Timers } from '../../src/push/service.js';
import type { CiWaitOptions } from '../../src/push/ci-wait.js';
import type { ShipHooks } from '../../src/push/ship.js';
import { createPushService } from '../../src/push/setup.js';
import { type TestBot, testBot } from '../support/bot.js';
import { createGitRemote, type GitRemote } from '../support/git-repos.js';

export const PEOPLE = ['alice', 'bob', 'carol', 'dave', 'erin'];

export function pushConfig(
  remote: string,
  deployTo = './deploy',
  production = '{ hosts: [localhost], allowed_roles: [release_manager] }',
  autoApprove?: number,
): string {
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
  risk: { lines: 50, comments: 5 }${autoApprove === undefined ? '' : `\n  auto_approve: { max_risk: ${autoApprove} }`}
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
      production: ${production}
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
  events: DeployEvents;
  push: PushService;
  /** Present with `deployer: true`: the real deploy engine on the local transport. */
  deployer: Deployer | null;
  timers: ManualTimers;
  stopTicking: () => void;
  /** Messages the bot sent outside a command (reminders, deferrals), since the last call. */
  notices(): string[];
}

export interface PushBotOptions {
  github?: GitHub;
  deployer?: boolean;
  git?: GitRemote;
  /** The production environment's YAML (flow style), e.g. '{ hosts: [localhost], confirm: true }'. */
  production?: string;
  /** Test seam of push ship (a crash mid-ship). */
  hooks?: ShipHooks;
  /** push.auto_approve.max_risk */
  autoApprove?: number;
  /** How long and how often `push ship` waits for CI (require_green_ci). */
  ciWait?: CiWaitOptions;
}

export async function pushBot(options: PushBotOptions = {}): Promise<PushBot> {
  const git = options.git ?? createGitRemote();
  const deployTo = join(git.root, 'hosts');
  mkdirSync(deployTo, { recursive: true });
  // What wire() creates besides the services: the deploy event stream and log store, closed by close().
  const events = new DeployEvents();
  const made: { lines?: LineSink; stopSinks?: () => void } = {};
  const t = await testBot(pushConfig(git.remote, deployTo, options.production, options.autoApprove), {
    wire: async (base) => {
      const notifier = adapterNotifier([base.chat]);
      let deployer: Deployer | null = null;
      if (options.deployer) {
        // Wired as main.ts wires it: the scheduler publishes, the sinks post.
        const lines = await base.lines();
        made.lines = lines;
        deployer = new Deployer({
          config: base.config,
          store: base.store,
          events,
          masker: new Masker([]),
          lines,
          github: options.github ?? null,
          gitCacheDir: join(base.dir, 'git-cache'),
          logger: pino({ level: 'silent' }),
          heartbeatMs: 200,
        });
        const sinks = startDeploySinks({
          config: base.config,
          store: base.store,
          events,
          revisions: deployer.revisions,
          chat: {
            send: (provider, target, text) => notifier.say(provider, target, text).then(() => ({ ...target })),
            mention: (p, u) => notifier.mention(p, u),
          },
          logger: pino({ level: 'silent' }),
          chatIntervalMs: 20,
        });
        made.stopSinks = () => sinks.stop();
      }
      const push = createPushService({
        config: base.config,
        store: base.store,
        clock: base.clock,
        dataDir: base.dir,
        github: options.github ?? null,
        notifier,
        deploy: deployer ? deployThrough(deployer) : undefined,
        events,
        hooks: options.hooks,
        ciWait: options.ciWait,
      });
      if (!push) throw new Error('push service not created');
      return { deployer, push };
    },
  });
  const push = t.services.push;
  const deployer = t.services.deployer ?? null;
  deployer?.start();
  if (!push) throw new Error('push service not created');
  const timers = new ManualTimers();
  const stopTicking = push.startTicking(5000, timers);
  let seen = 0;
  // Everyone says hello first, as people do, so the bot knows them (and can match git authors to them).
  for (const name of [...PEOPLE, 'rm']) await t.chat.say(name, 'whoami');
  return {
    ...t,
    git,
    events,
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
      made.stopSinks?.();
      await made.lines?.close();
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
