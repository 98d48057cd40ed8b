/**
 * The only place that creates real clients (database, chat adapters, ...) and wires them together.
 *
 *   npm start                      # shell chat on the embedded defaults (runs the build of this file, scripts/start.mjs)
 *   IRC_SERVER=irc.example IRC_CHANNELS=#deploys npm start
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Adapter } from './adapters/adapter.js';
import type { AutoDeployer as AutoDeployerType } from './deploy/auto-deploy.js';
import type { Deployer as DeployerType } from './deploy/engine.js';
import { maskChat } from './adapters/masked.js';
import { ShellAdapter } from './adapters/shell.js';
import type { Bot } from './bot.js';
import { type FirstChat, joinIrcFirst } from './chat/irc-first.js';
import { systemClock } from './command.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { Masker, type MaskText, secretsFromEnv } from './deploy/mask.js';
import { createLogger } from './logger.js';
import { dataDir, databaseKind, sqlitePath } from './store/db-location.js';
import { prepareSqlite } from './store/sqlite-prepare.js';
import { bindingProblem, WebConfigError } from './web/auth.js';
import type { WebServer } from './web/server.js';

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
  /**
   * Called once IRC has joined first (SQLite), before the rest loads, with how many messages wait for the start
   * to finish; the start waits for it (tests hold the start there).
   */
  afterChatJoined?: (joined: { waiting: () => number }) => Promise<void> | void;
  /**
   * Called once the bot answers the early commands (chat/early-commands.ts), before Prisma, the web server and the
   * deployer load, with how many messages wait for the start and whether Prisma's client got loaded meanwhile;
   * the start waits for it (tests hold the start there).
   */
  beforeLoadingRest?: (loading: { held: () => number; prismaLoaded: () => boolean }) => Promise<void> | void;
}

/** Reads the configuration, opens and migrates the database, starts every configured adapter. */
export async function startShepherd(options: StartOptions = {}): Promise<Shepherd> {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  // Before anything opens: a viewer reachable from other machines must not come up without a password.
  const webProblem = bindingProblem(config.env.WEB_HOST, config.env.WEB_AUTH);
  if (webProblem) throw new WebConfigError(webProblem);
  const chatConfigured = Boolean(config.env.SLACK_BOT_TOKEN || config.env.IRC_SERVER);
  // One masker for everything that leaves the process: log lines, error texts (database, events, GitHub), chat, logs.
  const masker = new Masker(secretsFromEnv(env));
  const mask = (text: string) => masker.text(text);
  const logger = createLogger(config.env.LOG_LEVEL ?? (chatConfigured ? 'info' : 'warn'), undefined, mask);
  // IRC on SQLite joins before the rest is even loaded (Fastify, Prisma and the deployer are most of the start
  // time): people see the bot as soon as it can be there, and what they say meanwhile waits for recovery like any
  // command during the start. The database is made ready first, so a locked or unmigratable one still fails the
  // start before the bot shows up. On PostgreSQL the IRC connection needs its lease (the database) first.
  let first: FirstChat | undefined;
  let prepared: string[] | undefined;
  let answering: Promise<AnsweringModule> | undefined;
  if (config.env.IRC_SERVER && databaseKind(config.env.DATABASE_URL) === 'sqlite') {
    prepared = prepareSqlite(sqlitePath(config.env.DATABASE_URL));
    // What answering needs is loaded while the server answers the registration and the JOIN (the process would
    // only wait then), so the bot can answer soon after it joined.
    first = await joinIrcFirst(config.env, logger.child({ adapter: 'irc' }), {
      whileJoining: () => {
        answering = import('./start-answer.js');
        // A join that fails is the error to report; this one (a build that cannot load) then surfaces nowhere.
        answering.catch(() => {});
      },
    });
  }
  try {
    if (first) await options.afterChatJoined?.({ waiting: first.waiting });
    return await startRest({ env, options, config, masker, mask, logger, first, prepared, answering: answering ?? import('./start-answer.js') });
  } catch (err) {
    await first?.adapter.stop().catch(() => {});
    throw err;
  }
}

interface StartedSoFar {
  env: Record<string, string | undefined>;
  options: StartOptions;
  config: Config;
  masker: Masker;
  mask: MaskText;
  logger: Logger;
  /** IRC, already joined (SQLite), else undefined. */
  first: FirstChat | undefined;
  /** Migrations prepareSqlite applied before IRC joined, when it ran. */
  prepared: string[] | undefined;
  /** start-answer.js, loading (since the IRC join when IRC joined first). */
  answering: Promise<AnsweringModule>;
}

type AnsweringModule = typeof import('./start-answer.js');

/**
 * The rest of the start. First what answering needs (the bot, the commands, the store): on SQLite the store
 * answers through plain SQL before Prisma is loaded (store/db.ts, openEarly), so IRC joined first answers `karma`,
 * `help`, `whoami`, `oncall` while the web server, Prisma and the deployer still load; every other command (and
 * whatever is said after it) waits until the start is done (chat/early-commands.ts). Then the rest.
 */
async function startRest({ env, options, config, masker, mask, logger, first, prepared, answering: answeringLoad }: StartedSoFar): Promise<Shepherd> {
  // Chat adapters are loaded only when configured (Bolt alone is a noticeable share of start-up time), and
  // their loading overlaps with loading the rest and opening the database.
  const chatModules = Promise.all([
    config.env.SLACK_BOT_TOKEN ? import('./adapters/slack.js') : null,
    config.env.IRC_SERVER && !first ? import('./adapters/irc.js') : null,
  ]);
  const answering = await answeringLoad;
  const database = await answering.openEarly(config.env.DATABASE_URL, {
    prepared,
    onConnectionError: (err) => logger.warn({ err: err.message }, 'database connection lost; reconnecting on the next query'),
  });
  if (database.applied.length) logger.info({ path: database.path, applied: database.applied }, 'database migrated');
  // The client every part uses; on SQLite Prisma's own calls on it wait until database.load() below.
  const db = database.prisma;
  const store = answering.createStore(db, { karmaInitial: config.karma.initial, mask });
  // Filled in below once the deployer and the push exist; the viewer reads it per request.
  const services = answering.createServices();
  // `iam github` proves logins through GitHub's device flow when an OAuth app is configured (`whoami` says so).
  services.githubVerification = config.env.GITHUB_CLIENT_ID
    ? new answering.GitHubVerification({
        flow: new answering.GitHubDeviceFlow({ clientId: config.env.GITHUB_CLIENT_ID, apiUrl: config.env.GITHUB_API_URL }),
        users: store.users,
        clock: systemClock,
        onError: (err) => logger.error({ err }, 'GitHub verification failed'),
      })
    : null;
  // Several instances on one PostgreSQL wake each other (LISTEN/NOTIFY): lines stored and states changed here
  // reach viewers and queues there. On SQLite the notifier stays in this process.
  const instanceId = answering.instanceName();
  const notifier = await answering.openNotifier(config.env.DATABASE_URL, logger.child({ component: 'notify' }), instanceId).catch(async (err) => {
    await database.close().catch(() => {});
    throw err;
  });
  // Links in chat name the port the viewer really bound (WEB_PORT=0 picks a free one), known once it listens
  // below: filled in and frozen then. No command answered before that (early-commands.ts) writes a link.
  const linked: Config = { ...config };
  // Confirmations: an answer reaching another instance (Slack picks one connection) wakes this one (topic question).
  const bot = new answering.Bot({ commands: answering.commands, config: linked, store, clock: systemClock, logger, services, notifier, instanceId });
  // The chat connections; /readyz reports on them.
  const adapters: Adapter[] = [];

  // Graceful stop: no new commands or queued starts; running deploys stopped as `cancel` stops them, recorded
  // interrupted (at the latest after shutdown_grace), locks freed, channels told; then chat, viewer, database.
  // Also what a start that fails part-way runs: only what was started by then is there to stop.
  let accepting = true;
  let starting = true;
  let startDone: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    startDone = resolve;
  });
  let web: WebServer | undefined;
  let deployer: DeployerType | undefined;
  let autoDeploy: AutoDeployerType | undefined;
  let stopPushTimer: (() => void) | undefined;
  let sinks: { stop(): void } | undefined;
  let offRelay: (() => void) | undefined;
  let lineStore: { close(): Promise<void> } | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      accepting = false;
      // Commands held for the start are let go, and dropped (not accepting).
      startDone();
      stopPushTimer?.();
      autoDeploy?.stop();
      const interrupted =
        (await deployer?.shutdown(config.shutdown_grace).catch((err) => {
          logger.error({ err }, 'could not stop running deploys cleanly');
          return [];
        })) ?? [];
      if (interrupted.length) logger.warn({ deploys: interrupted.map((d) => d.id) }, 'deploys interrupted at stop');
      await web?.stop().catch((err) => logger.error({ err }, 'could not stop the web viewer cleanly'));
      await Promise.allSettled(adapters.map((a) => a.stop()));
      // Commands still answering finish (briefly) and every queued audit row is written before the database closes.
      await bot.stop().catch((err) => logger.error({ err }, 'could not write the last audit rows'));
      await deployer?.stop().catch((err) => logger.error({ err }, 'could not stop the deployer cleanly'));
      sinks?.stop();
      offRelay?.();
      await lineStore?.close();
      await notifier.close();
      await database.close().catch((err) => logger.error({ err }, 'could not close the database cleanly'));
    })();
    return stopping;
  };
  // Early commands run at once; the others wait for recovery, so that they see (and act on) the state after it,
  // not a dead process's lock.
  const gate = answering.earlyGate(bot.registry, started);
  const handlerFor = (adapter: Adapter) => (message: Parameters<Bot['handle']>[1]) =>
    gate.pass(message, async () => {
      if (accepting) await bot.handle(adapter, message);
    });
  // IRC joined first is started already: it only gets the handler, and answers what waited for it.
  const firstChat = first && maskChat(first.adapter, mask);
  if (firstChat && first) {
    adapters.push(firstChat);
    first.handleWith(handlerFor(firstChat));
  }

  try {
    await options.beforeLoadingRest?.({ held: gate.held, prismaLoaded: database.loaded });
    // Loading runs JavaScript for a while without a break (Prisma's client and its wasm, then Fastify and the
    // deployer): in two steps with a turn of the event loop between, so a command said meanwhile is read (and an
    // early one answered) between them rather than after both.
    const opened = await database.load();
    await new Promise((resolve) => setImmediate(resolve));
    const later = await import('./start-later.js');
    const events = new later.DeployEvents(mask);
    const lines = later.notifyingLineSink(opened.lines(), notifier);
    lineStore = lines;
    offRelay = later.relayDeployStates(events, notifier);
    // Files beside the database (git cache, push clone, known_hosts): its folder, or SHEPHERD_DATA_DIR on PostgreSQL.
    const files = dataDir(config.env.DATABASE_URL, config.env);
    // Webhook deliveries that come before the deployer exists wait for it (the route answers at once anyway).
    let autoDeployReady: (auto: AutoDeployerType) => void = () => {};
    const autoDeployer = new Promise<AutoDeployerType>((resolve) => {
      autoDeployReady = resolve;
    });

    // The log viewer and dashboard on WEB_HOST:WEB_PORT, reading the same database and deploy event stream. It
    // listens before the deployer, so that links in chat name the port it really bound.
    const server = later.createWebServer({
      host: config.env.WEB_HOST,
      port: config.env.WEB_PORT,
      auth: config.env.WEB_AUTH,
      store,
      events,
      logger,
      baseUrl: config.env.WEB_BASE_URL,
      secrets: secretsFromEnv(env),
      services,
      teams: Object.keys(config.teams),
      pushRisk: config.push.risk,
      policy: config,
      live: { notifier },
      // Not ready while starting: the bot answers a few commands by then, not all of them.
      health: { database: () => opened.ping(), chats: () => adapters, starting: () => starting },
      webhook: {
        secret: config.env.GITHUB_WEBHOOK_SECRET,
        knowsRepository: (name) => Object.values(config.apps).some((a) => a.repo?.toLowerCase() === name.toLowerCase()),
        deliveries: new later.WebhookDeliveries(db),
        onEvent: async (event) => (await autoDeployer).handle(event),
      },
    });
    await server.start();
    web = server;
    if (!config.env.WEB_BASE_URL) linked.webBaseUrl = server.baseUrl;
    Object.freeze(linked);

    // Deploys: one event stream (log store, chat sink, GitHub statuses, viewer), secrets masked before anything
    // sees a line, GitHub when GITHUB_TOKEN is set (else git resolves refs), chat through the adapter a deploy
    // came from. The scheduler publishes; the sinks below subscribe.
    // Octokit is loaded only when GitHub is configured.
    const github = config.env.GITHUB_TOKEN
      ? (await import('./github.js')).createGitHub({
          token: config.env.GITHUB_TOKEN,
          baseUrl: config.env.GITHUB_API_URL,
          logger: logger.child({ component: 'github' }),
          mask,
        })
      : null;
    const engine = new later.Deployer({
      config: linked,
      store,
      events,
      masker,
      lines,
      github,
      gitCacheDir: join(files, 'git-cache'),
      logger: logger.child({ component: 'deploy' }),
      instanceId,
      notifier,
      liveness: new later.Deploys(opened.liveness(), mask),
    });
    deployer = engine;
    sinks = later.startDeploySinks({
      config: linked,
      store,
      events,
      revisions: engine.revisions,
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
        cards: (provider) => {
          const adapter = adapters.find((a) => a.name === provider);
          return adapter?.postCard && adapter.updateCard ? (adapter as Required<Pick<typeof adapter, 'postCard' | 'updateCard'>>) : undefined;
        },
      },
      logger: logger.child({ component: 'deploy-sinks' }),
    });
    // Continuous delivery (auto_deploy): webhook events and the poll fallback; notes go to the first chat network.
    const auto = new later.AutoDeployer({
      config: linked,
      store,
      deployer: engine,
      chat: {
        get provider() {
          return adapters[0]?.name ?? 'shell';
        },
        say: async (target, text) => void (await adapters[0]?.send(target, text)),
      },
      logger: logger.child({ component: 'auto-deploy' }),
    });
    autoDeploy = auto;
    autoDeployReady(auto);
    const [slack, irc] = await chatModules;
    // Several instances on PostgreSQL: each has its own Slack connection (an event Slack redelivers to another one
    // is taken once, by its id in the database); one at a time holds the IRC connection (src/chat/irc-lease.ts).
    const chatEvents = new later.ChatEvents(db);
    const laterAdapters: Adapter[] = [];
    if (slack)
      laterAdapters.push(
        maskChat(new slack.SlackAdapter(config.env, logger.child({ adapter: 'slack' }), { firstDelivery: (id) => chatEvents.claim('slack', id) }), mask),
      );
    if (irc) {
      const ircLogger = logger.child({ adapter: 'irc' });
      const { ircConnection } = await import('./chat/irc-lease.js');
      const connection = ircConnection({
        database: { kind: database.kind, prisma: db, url: config.env.DATABASE_URL },
        create: () => new irc.IrcAdapter(config.env, ircLogger),
        instanceId: engine.instanceId,
        heartbeatMs: engine.heartbeatMs,
        logger: ircLogger,
      });
      laterAdapters.push(maskChat(connection, mask));
    }
    // When the shell chat's input ends, deploys already asked for still finish before the process exits.
    if (adapters.length === 0 && laterAdapters.length === 0)
      laterAdapters.push(
        maskChat(
          new ShellAdapter({
            onEnd: () =>
              void engine
                .idle()
                .then(() => push?.idle())
                .finally(() => options.onShellEnd?.()),
          }),
          mask,
        ),
      );

    // The daily push: its clone lives next to the database; reminders and deferrals go out through the adapters;
    // `push ship` deploys the push branch through the same deployer as `deploy`.
    const push = later.createPushService({
      config: linked,
      store,
      clock: systemClock,
      dataDir: files,
      github,
      notifier: later.adapterNotifier(adapters),
      deploy: later.deployThrough(engine),
      events,
      logger: logger.child({ component: 'push' }),
    });
    // What commands use beyond config and store, wired the same way the tests wire theirs.
    Object.assign(services, answering.createServices({ deployer: engine, push }));
    if (push) {
      stopPushTimer = push.startTicking(Math.min(15_000, config.push.reminder_interval, config.push.confirm_window));
    }

    // Recovery tells channels, so the adapters start first; but a command that arrives meanwhile waits for it
    // (unless it is one of the early ones, see the gate above).
    for (const adapter of laterAdapters) {
      adapters.push(adapter);
      await adapter.start(handlerFor(adapter));
    }
    // Deploys whose owner stopped heartbeating become interrupted (lock freed, channel told); then the queue moves.
    // Deploys another live instance runs are left alone.
    const interrupted = await engine.recover();
    if (interrupted.length) logger.warn({ deploys: interrupted.map((d) => d.id) }, 'marked interrupted deploys');
    engine.start();
    auto.start();
    // A push a crash left `shipping` goes back to `confirming`; its channel is told (the adapters are up).
    const reset = await push?.recover();
    if (reset) logger.warn({ push: reset.id }, 'push left shipping by a crash put back to confirming');
  } catch (err) {
    // stop() refuses new work at once and lets the commands waiting for the start go (dropped).
    await stop();
    throw err;
  }
  starting = false;
  startDone();
  logger.info({ adapters: adapters.map((a) => a.name), config: config.configPath, web: web.baseUrl }, 'ready');
  return { config: linked, bot, adapters, logger, web, stop };
}

/**
 * The process: `.env`, start, exit codes, SIGTERM/SIGINT. Run by `npm start` through the build (scripts/start.mjs),
 * or from the sources: `node --import tsx src/main.ts`.
 */
export async function main(): Promise<void> {
  if (existsSync(resolve('.env'))) process.loadEnvFile(resolve('.env'));
  let shepherd: Shepherd | undefined;
  let starting = true;
  let stopAsked = false;
  const shutdown = async (code: number) => {
    await shepherd?.stop().catch(() => {});
    process.exit(code);
  };
  // SIGTERM/SIGINT: a graceful stop (see stop() above), exit 0. Registered before the start, so a signal during it
  // (a unit restarted while starting) still stops cleanly once the start is done: chat left, the IRC lease freed.
  // A second signal exits at once.
  const onSignal = () => {
    if (stopAsked) process.exit(1);
    stopAsked = true;
    if (!starting) void shutdown(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
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
  starting = false;
  if (stopAsked) await shutdown(0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
