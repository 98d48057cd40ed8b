/**
 * The web viewer: dashboard, deploy pages with live logs, raw logs and a JSON API, on Fastify, as one plugin
 * per area (src/web/plugins/: auth, pages, logs, assets, api, audit, health). Bound to loopback unless WEB_AUTH is
 * set; with WEB_AUTH every route (pages, API, events, raw, static) asks for it, but /healthz and /readyz.
 *
 *   const web = createWebServer({ host: '127.0.0.1', port: 8080, store, events, logger });
 *   await web.start(); console.log(web.url); ...; await web.stop();
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { DeployEvents } from '../deploy/events.js';
import type { Store } from '../store/index.js';
import { bindingProblem, WebConfigError } from './auth.js';
import { type GitHubWebhookOptions, registerGitHubWebhook } from './github-webhook.js';
import { lazyValidators } from './lazy-validators.js';
import { LiveLog, type LiveLogOptions } from './live-log.js';
import { notFoundPage } from './pages.js';
import type { PolicyConfig } from './policy-board.js';
import { apiPlugin } from './plugins/api.js';
import { assetsPlugin } from './plugins/assets.js';
import { auditPlugin } from './plugins/audit.js';
import { authPlugin } from './plugins/auth.js';
import type { WebContext } from './plugins/context.js';
import { type HealthOptions, healthPlugin } from './plugins/health.js';
import { logsPlugin } from './plugins/logs.js';
import { pagesPlugin } from './plugins/pages.js';
import type { PushBoardServices } from './push-board.js';
import { ReadModel } from './read-model.js';
import { Redactor } from './redact.js';

export interface WebServerOptions {
  host: string;
  port: number;
  /** WEB_AUTH: 'user:password' (basic auth) or a token (bearer, or basic auth with the token as password). */
  auth?: string | undefined;
  store: Store;
  events: DeployEvents;
  logger: Logger;
  /** Public address for links (WEB_BASE_URL); defaults to the address listened on. */
  baseUrl?: string | undefined;
  /** Values never to show (secretsFromEnv): masked again on the way out, whatever storage holds. */
  secrets?: Iterable<string | undefined | null>;
  /** The bot's services: `push.board()` fills the dashboard's push section when the push workflow registers it. */
  services?: PushBoardServices;
  /** Team names from shepherd.yml, shown on the dashboard even before anyone is on call. */
  teams?: readonly string[];
  /** push.risk from shepherd.yml: when a pick is flagged "look closely" on the dashboard. */
  pushRisk?: { lines: number; comments: number };
  /** timezone, freezes and apps from shepherd.yml: the dashboard's freezes and environments, /audit's clock. */
  policy?: PolicyConfig | undefined;
  now?: () => Date;
  /** /readyz checks; by default the store's database alone. */
  health?: HealthOptions;
  /** POST /github/webhook (src/web/github-webhook.ts); absent: no such route. */
  webhook?: Omit<GitHubWebhookOptions, 'logger'> | undefined;
  /** Tuning for the live log (tests and the benchmark). */
  live?: Partial<Omit<LiveLogOptions, 'events' | 'logs' | 'redactor' | 'logger'>>;
}

export interface WebServer {
  /** Listens; resolves once the port is open. */
  start(): Promise<void>;
  /** Ends open log streams and closes the port. Safe to call twice. */
  stop(): Promise<void>;
  /** Where it listens, e.g. http://127.0.0.1:8080 (the real port after start when port was 0). */
  readonly url: string;
  /** Where people reach it (baseUrl, else url). */
  readonly baseUrl: string;
  readonly app: FastifyInstance;
  readonly live: LiveLog;
}

export { WebConfigError } from './auth.js';

export function createWebServer(options: WebServerOptions): WebServer {
  const problem = bindingProblem(options.host, options.auth);
  if (problem) throw new WebConfigError(problem);

  const now = options.now ?? (() => new Date());
  const logger = options.logger.child({ component: 'web' });
  const redactor = new Redactor(options.secrets ?? []);
  const readModel = new ReadModel(options.store, redactor, now);
  const live = new LiveLog({
    ...options.live,
    events: options.events,
    logs: options.store.logs,
    storedState: async (id) => (await readModel.exists(id))?.state ?? null,
    redactor,
    logger,
  });

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // SSE responses never end by themselves: closing the server must not wait for them.
    forceCloseConnections: true,
    return503OnClosing: true,
    // Route schemas compile at their first request, not while the bot starts (lazy-validators.ts).
    schemaController: { compilersFactory: { buildValidator: lazyValidators() } },
  });

  // Set before the plugins are registered, so every plugin inherits them.
  app.setErrorHandler((err: Error & { validation?: unknown; validationContext?: string; statusCode?: number }, req, reply) => {
    if (err.validation) {
      const message = `bad ${err.message.replace(/^(querystring|params)\//, (_m, where: string) => (where === 'params' ? 'path: ' : 'query: '))}`;
      return req.url.startsWith('/api/') ? reply.code(400).send({ error: message }) : reply.code(400).type('text/plain; charset=utf-8').send(`${message}\n`);
    }
    logger.error({ err, url: req.url }, 'web request failed');
    return reply.code(err.statusCode && err.statusCode < 500 ? err.statusCode : 500).send({ error: 'internal error; see the bot log' });
  });

  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith('/api/')) return reply.code(404).send({ error: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` });
    return reply
      .code(404)
      .type('text/html; charset=utf-8')
      .send(notFoundPage(`Nothing at ${req.url.split('?')[0]}.`));
  });

  const baseUrl = () => (options.baseUrl ?? server.url).replace(/\/+$/, '');
  const context: WebContext = {
    store: options.store,
    readModel,
    redactor,
    live,
    logger,
    now,
    baseUrl,
    services: options.services,
    teams: options.teams,
    pushRisk: options.pushRisk,
    policy: options.policy,
  };
  // One plugin per area. Auth first: its hooks (fastify-plugin) hold for every route registered after it.
  app.register(authPlugin, { auth: options.auth });
  app.register(pagesPlugin, context);
  app.register(logsPlugin, context);
  app.register(assetsPlugin);
  app.register(apiPlugin, context);
  app.register(auditPlugin, context);
  app.register(healthPlugin, options.health ?? { database: () => options.store.db.$queryRawUnsafe('SELECT 1').then(() => true) });
  if (options.webhook) registerGitHubWebhook(app, { ...options.webhook, logger });

  let listening: string | null = null;
  let stopped: Promise<void> | null = null;
  const server: WebServer = {
    app,
    live,
    get url() {
      return listening ?? `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    },
    get baseUrl() {
      return baseUrl();
    },
    async start() {
      live.start();
      await app.listen({ host: options.host, port: options.port });
      const address = app.server.address();
      if (address && typeof address === 'object') {
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        listening = `http://${host}:${address.port}`;
      }
      logger.info({ url: listening, auth: Boolean(options.auth) }, 'web viewer listening');
    },
    stop() {
      stopped ??= (async () => {
        live.stop();
        await app.close();
      })();
      return stopped;
    },
  };
  return server;
}
