/**
 * What the deploy tests share: a real git repository (a bare repo the steps clone), a real Bot on a temp
 * database (SQLite or PostgreSQL, test/support/db.ts) with the real Deployer wired as main.ts wires it, and chat through FakeAdapter.
 *
 *   const repo = makeRepo(); const sha = repo.commit('first');
 *   const h = await deployHarness(yaml({ ... }));
 *   await h.chat.say('alice', 'deploy web/main to staging'); await h.deployer.idle();
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import type { Bot } from '../../src/bot.js';
import type { Config } from '../../src/config.js';
import { Deployer } from '../../src/deploy/engine.js';
import { type DeployEvent, DeployEvents } from '../../src/deploy/events.js';
import { Masker } from '../../src/deploy/mask.js';
import type { SchedulerOptions } from '../../src/deploy/scheduler.js';
import { type DeploySinks, startDeploySinks } from '../../src/deploy/sinks.js';
import type { GitHub } from '../../src/github.js';
import type { LineSink } from '../../src/store/log-lines.js';
import type { TempStore } from '../support/db.js';
import type { FakeAdapter } from '../support/fake-adapter.js';
import { type TestClock, testBot } from '../support/bot.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Alice Dev',
  GIT_AUTHOR_EMAIL: 'alice@example.com',
  GIT_COMMITTER_NAME: 'Alice Dev',
  GIT_COMMITTER_EMAIL: 'alice@example.com',
};

export interface TestRepo {
  /** The bare repository: what repo_url points at. */
  bare: string;
  work: string;
  /** Commits a change (plus `files`, path → content) on `branch` (default main), pushes it, returns the SHA. */
  commit(message: string, options?: { branch?: string; files?: Record<string, string> }): string;
  close(): void;
}

export function makeRepo(): TestRepo {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-repo-'));
  const bare = join(dir, 'app.git');
  const work = join(dir, 'work');
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, { cwd, env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] })
      .toString()
      .trim();
  execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  mkdirSync(work);
  git(work, 'init', '--quiet', '--initial-branch=main');
  git(work, 'remote', 'add', 'origin', bare);
  let n = 0;
  return {
    bare,
    work,
    commit(message, options = {}) {
      const branch = options.branch ?? 'main';
      const current = git(work, 'symbolic-ref', '--short', 'HEAD');
      if (current !== branch) {
        const exists = git(work, 'branch', '--list', branch) !== '';
        git(work, 'checkout', '--quiet', ...(exists ? [branch] : ['-b', branch]));
      }
      writeFileSync(join(work, 'VERSION'), `${message} ${++n}\n`);
      writeFileSync(join(work, 'package.json'), '{"name":"app"}\n');
      for (const [file, content] of Object.entries(options.files ?? {})) writeFileSync(join(work, file), content);
      git(work, 'add', '-A');
      git(work, 'commit', '--quiet', '-m', message);
      git(work, 'push', '--quiet', 'origin', branch);
      return git(work, 'rev-parse', 'HEAD');
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface DeployHarness extends TempStore {
  config: Readonly<Config>;
  bot: Bot;
  chat: FakeAdapter;
  deployer: Deployer;
  events: DeployEvents;
  /** Every event published, in order. */
  seen: DeployEvent[];
  clock: TestClock;
  /** Texts the bot sent to the room (replies and deploy messages), in order. */
  texts(): string[];
}

export interface HarnessOptions {
  github?: GitHub | null;
  chatIntervalMs?: number;
  secrets?: string[];
  provider?: 'irc' | 'slack' | 'shell';
  heartbeatMs?: number;
  /** The scheduler's race seam (see SchedulerOptions.seam). */
  seam?: SchedulerOptions['seam'];
  /** How long ctx.confirm waits for an answer (default CONFIRM_TIMEOUT_MS). */
  confirmTimeoutMs?: number;
}

export async function deployHarness(yaml: string, options: HarnessOptions = {}): Promise<DeployHarness> {
  // As main.ts wires it: one masker (with the secrets the deploys know) for lines, errors and chat.
  const masker = new Masker(options.secrets ?? []);
  const mask = (text: string) => masker.text(text);
  const events = new DeployEvents(mask);
  const seen: DeployEvent[] = [];
  events.subscribe((e) => seen.push(e));
  let lines: LineSink | undefined;
  let deployer: Deployer | undefined;
  let sinks: DeploySinks | undefined;
  // Wired as main.ts wires it: the scheduler publishes, the sinks post through the chat the bot answers on.
  const t = await testBot(yaml, {
    provider: options.provider ?? 'irc',
    confirmTimeoutMs: options.confirmTimeoutMs,
    env: { WEB_BASE_URL: 'http://viewer.test' },
    mask,
    wire: async ({ dir, store, config, chat, clock, lines: openLines }) => {
      lines = await openLines();
      deployer = new Deployer({
        config,
        store,
        events,
        masker,
        lines,
        github: options.github ?? null,
        gitCacheDir: join(dir, 'git-cache'),
        logger: pino({ level: 'silent' }),
        heartbeatMs: options.heartbeatMs ?? 200,
        // Approval windows run on the test's clock, so a test expires one by advancing it.
        now: () => clock.now(),
        ...(options.seam ? { seam: options.seam } : {}),
      });
      sinks = startDeploySinks({
        config,
        store,
        events,
        revisions: deployer.revisions,
        chat: { send: (_provider, target, text) => chat.send(target, text), mention: (_p, user) => `@${user.identities[0]?.handle ?? user.name}` },
        logger: pino({ level: 'silent' }),
        chatIntervalMs: options.chatIntervalMs ?? 50,
        githubRetryMs: 20,
      });
      return { deployer };
    },
  });
  const engine = deployer as Deployer;
  engine.start();
  return {
    ...t,
    deployer: engine,
    events,
    seen,
    texts: () => t.chat.sent.map((s) => s.text),
    async close() {
      await engine.idle().catch(() => {});
      await engine.stop();
      sinks?.stop();
      await lines?.close();
      await t.close();
    },
  };
}

/** An app config for real-sshd tests. */
export function sshApp(options: {
  name?: string;
  repoUrl: string;
  deployTo: string;
  key: string;
  hosts: string[];
  steps?: string[];
  healthcheck?: string;
  env?: Record<string, unknown>;
  app?: Record<string, unknown>;
}): string {
  const env = { hosts: options.hosts, ...options.env };
  const app = {
    repo_url: options.repoUrl,
    deploy_to: options.deployTo,
    keep_releases: 2,
    default_environment: 'staging',
    // The test sshd's own directory stands in for ~/.ssh: nothing a developer's known_hosts says about
    // 127.0.0.x can interfere (accept-new records next to the test database, never in ~/.ssh).
    ssh: { user: 'root', private_key_path: options.key, known_hosts: join(dirname(options.key), 'known_hosts') },
    connect_timeout: '5s',
    step_timeout: '60s',
    steps: options.steps ?? [
      'git clone --quiet "$SHEPHERD_REPO_URL" . && git checkout --quiet "$SHEPHERD_SHA"',
      'echo "built $SHEPHERD_APP $SHEPHERD_SHA on $SHEPHERD_HOST"',
    ],
    ...(options.healthcheck ? { healthcheck: options.healthcheck } : {}),
    environments: { staging: env },
    ...options.app,
  };
  return JSON.stringify({ release_managers: ['irc:boss'], apps: { [options.name ?? 'web']: app } }, null, 2);
}
