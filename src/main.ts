/**
 * The only place that creates real clients (database, chat adapters, ...) and wires them together.
 *
 *   npm start                      # shell chat on the embedded defaults
 *   IRC_SERVER=irc.example IRC_CHANNELS=#deploys npm start
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { commands } from '../commands/index.js';
import type { StatusSection } from '../commands/status.js';
import type { Adapter } from './adapters/adapter.js';
import { ShellAdapter } from './adapters/shell.js';
import { Bot } from './bot.js';
import { systemClock } from './command.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { Deployer } from './deploy/engine.js';
import { DeployEvents } from './deploy/events.js';
import { Masker, secretsFromEnv } from './deploy/mask.js';
import { deployStatus, deployStatusSection } from './deploy/status-section.js';
import { createLogger } from './logger.js';
import { deployThrough } from './push/deploy.js';
import { adapterNotifier } from './push/notifier.js';
import { createPushService } from './push/setup.js';
import { pushStatusSection } from './push/status-section.js';
import { dataDir, openDatabase } from './store/db.js';
import { createStore } from './store/index.js';
import { bindingProblem } from './web/auth.js';
import { createWebServer, type WebServer, WebConfigError } from './web/server.js';

export interface Shepherd {
  config: Readonly<Config>;
  bot: Bot;
  adapters: Adapter[];
  logger: Logger;
  /** The log viewer and dashboard (listening once startShepherd resolves). */
  web: WebServer;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  /** Called when the shell chat's input ends (default: stop and exit). */
  onShellEnd?: () => void;
}

/** Reads the configuration, opens and migrates the database, starts every configured adapter. */
export async function startShepherd(options: StartOptions = {}): Promise<Shepherd> {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  // Before anything opens: a viewer reachable from other machines must not come up without a password.
  const webProblem = bindingProblem(config.env.WEB_HOST, config.env.WEB_AUTH);
  if (webProblem) throw new WebConfigError(webProblem);
  const chatConfigured = Boolean(config.env.SLACK_BOT_TOKEN || config.env.IRC_SERVER);
  const logger = createLogger(config.env.LOG_LEVEL ?? (chatConfigured ? 'info' : 'warn'));
  // Chat adapters are loaded only when configured (Bolt alone is a noticeable share of start-up time), and
  // their loading overlaps with opening the database.
  const chatModules = Promise.all([
    config.env.SLACK_BOT_TOKEN ? import('./adapters/slack.js') : null,
    config.env.IRC_SERVER ? import('./adapters/irc.js') : null,
  ]);
  const database = await openDatabase(config.env.DATABASE_URL, {
    onConnectionError: (err) => logger.warn({ err: err.message }, 'database connection lost; reconnecting on the next query'),
  });
  const { prisma, path, applied } = database;
  if (applied.length) logger.info({ path, applied }, 'database migrated');
  const files = dataDir(config.env.DATABASE_URL, config.env);
  const store = createStore(prisma, { karmaInitial: config.karma.initial });
  const services: Record<string, unknown> = {};
  const bot = new Bot({ commands, config, store, clock: systemClock, logger, services });

  const adapters: Adapter[] = [];
  // Deploys: one event stream (log store, chat sink, viewer), secrets masked before anything sees a line,
  // GitHub when GITHUB_TOKEN is set (else git resolves refs), chat through the adapter a deploy came from.
  const events = new DeployEvents();
  // Octokit is loaded only when GitHub is configured.
  const github = config.env.GITHUB_TOKEN
    ? (await import('./github.js')).createGitHub({
        token: config.env.GITHUB_TOKEN,
        baseUrl: config.env.GITHUB_API_URL,
        logger: logger.child({ component: 'github' }),
      })
    : null;
  const lineStore = database.lines();
  const deployer = new Deployer({
    config,
    store,
    events,
    masker: new Masker(secretsFromEnv(env)),
    lines: lineStore,
    github,
    gitCacheDir: join(files, 'git-cache'),
    chat: {
      send: async (provider, target, text) => {
        const adapter = adapters.find((a) => a.name === provider);
        if (!adapter) throw new Error(`no ${provider} connection to post deploy messages to ${target.room}`);
        return adapter.send(target, text);
      },
      mention: (provider, user) => {
        const adapter = adapters.find((a) => a.name === provider);
        const identity = user.identities.find((i) => i.provider === provider);
        return adapter && identity ? adapter.mention(identity) : user.name;
      },
    },
    logger: logger.child({ component: 'deploy' }),
  });
  // `status` shows these sections in this order, above locks and on-call.
  const statusSections: StatusSection[] = [deployStatusSection()];
  services.statusSections = statusSections;
  services.deployer = deployer;
  services.deployStatus = deployStatus;
  const [slack, irc] = await chatModules;
  if (slack) adapters.push(new slack.SlackAdapter(config.env, logger.child({ adapter: 'slack' })));
  if (irc) adapters.push(new irc.IrcAdapter(config.env, logger.child({ adapter: 'irc' })));
  // When the shell chat's input ends, deploys already asked for still finish before the process exits.
  if (adapters.length === 0) adapters.push(new ShellAdapter({ onEnd: () => void deployer.idle().finally(() => options.onShellEnd?.()) }));

  // The daily push: its clone lives next to the database; reminders and deferrals go out through the adapters;
  // `push ship` deploys the push branch through the same deployer as `deploy`.
  const push = createPushService({
    config,
    store,
    clock: systemClock,
    dataDir: files,
    github,
    notifier: adapterNotifier(adapters),
    deploy: deployThrough(deployer, store),
    logger: logger.child({ component: 'push' }),
  });
  let stopPushTimer: (() => void) | undefined;
  if (push) {
    services.push = push;
    statusSections.push(pushStatusSection(push));
    stopPushTimer = push.startTicking(Math.min(15_000, config.push.reminder_interval, config.push.confirm_window));
  }

  // The log viewer and dashboard on WEB_HOST:WEB_PORT, reading the same database and deploy event stream.
  const web = createWebServer({
    host: config.env.WEB_HOST,
    port: config.env.WEB_PORT,
    auth: config.env.WEB_AUTH,
    store,
    events,
    logger,
    baseUrl: config.webBaseUrl,
    secrets: secretsFromEnv(env),
    services,
    teams: Object.keys(config.teams),
    pushRisk: config.push.risk,
    health: { database: () => database.ping(), chats: () => adapters },
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      stopPushTimer?.();
      await web.stop().catch((err) => logger.error({ err }, 'could not stop the web viewer cleanly'));
      await Promise.allSettled(adapters.map((a) => a.stop()));
      await deployer.stop().catch((err) => logger.error({ err }, 'could not stop the deployer cleanly'));
      await lineStore.close();
      await prisma.$disconnect();
    })();
    return stopping;
  };

  try {
    await web.start();
    for (const adapter of adapters) await adapter.start((message) => bot.handle(adapter, message));
    // Deploys a dead process left running become interrupted (lock freed, channel told); then the queue moves.
    const interrupted = await deployer.recover();
    if (interrupted.length) logger.warn({ deploys: interrupted.map((d) => d.id) }, 'marked interrupted deploys');
    deployer.start();
  } catch (err) {
    await stop();
    throw err;
  }
  logger.info({ adapters: adapters.map((a) => a.name), config: config.configPath, web: web.baseUrl }, 'ready');
  return { config, bot, adapters, logger, web, stop };
}

async function main(): Promise<void> {
  if (existsSync(resolve('.env'))) process.loadEnvFile(resolve('.env'));
  let shepherd: Shepherd | undefined;
  const shutdown = async (code: number) => {
    await shepherd?.stop().catch(() => {});
    process.exit(code);
  };
  try {
    shepherd = await startShepherd({ onShellEnd: () => void shutdown(0) });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`shepherd: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`shepherd: could not start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
