/**
 * The web viewer: dashboard, deploy pages with live logs, raw logs and a JSON API, on Fastify.
 * Bound to loopback unless WEB_AUTH is set; with WEB_AUTH every route (pages, API, events, raw, static)
 * asks for it.
 *
 *   const web = createWebServer({ host: '127.0.0.1', port: 8080, store, events, logger });
 *   await web.start(); console.log(web.url); ...; await web.stop();
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { DeployEvents } from '../deploy/events.js';
import { deployUrl } from '../format.js';
import type { Store } from '../store/index.js';
import { bindingProblem, createAuthCheck } from './auth.js';
import { computeDora, type DeployFact } from './dora.js';
import { LiveLog, type LiveLogOptions } from './live-log.js';
import { type GitHubWebhookOptions, registerGitHubWebhook } from './github-webhook.js';
import { dashboardPage, deployPage, notFoundPage } from './pages.js';
import { AUDIT_OUTCOMES, type AuditFilter } from '../store/audit.js';
import { auditEvents, type PolicyConfig, policyBoard } from './policy-board.js';
import { auditPage } from './policy-pages.js';
import { pushBoardSource } from './push-board.js';
import { BOT_HOST, DEPLOY_STATES, ReadModel } from './read-model.js';
import { Redactor } from './redact.js';
import { machineTimeZone } from '../zoned-time.js';

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
  services?: Record<string, unknown>;
  /** Team names from shepherd.yml, shown on the dashboard even before anyone is on call. */
  teams?: readonly string[];
  /** push.risk from shepherd.yml: when a pick is flagged "look closely" on the dashboard. */
  pushRisk?: { lines: number; comments: number };
  /** timezone, freezes and apps from shepherd.yml: the dashboard's freezes and environments, /audit's clock. */
  policy?: PolicyConfig | undefined;
  now?: () => Date;
  /** POST /github/webhook (src/web/github-webhook.ts); absent: no such route. */
  webhook?: Omit<GitHubWebhookOptions, 'logger'> | undefined;
  /** Tuning for the live log (tests and the benchmark). */
  live?: Partial<Omit<LiveLogOptions, 'events' | 'readModel' | 'redactor' | 'logger'>>;
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

/** Thrown by createWebServer when it must not start; the message is one line for the terminal. */
export class WebConfigError extends Error {
  override name = 'WebConfigError';
}

const MAX_PAGE = 5_000;
const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

const STATIC_FILES: Record<string, { path: string; type: string }> = {
  'viewer.js': { path: `${STATIC_DIR}viewer.js`, type: 'text/javascript; charset=utf-8' },
  'dashboard.js': { path: `${STATIC_DIR}dashboard.js`, type: 'text/javascript; charset=utf-8' },
  'style.css': { path: `${STATIC_DIR}style.css`, type: 'text/css; charset=utf-8' },
  // The ANSI colour renderer, served from node_modules: nothing comes from a CDN.
  'ansi_up.js': { path: fileURLToPath(import.meta.resolve('ansi_up')), type: 'text/javascript; charset=utf-8' },
};

const SECURITY_HEADERS = {
  // No inline script at all: even markup that got into a page could not run. Inline style attributes are
  // allowed for ansi_up's 256-colour spans.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
  required: ['id'],
} as const;

const linesQuery = {
  type: 'object',
  properties: {
    after: { type: 'integer', minimum: 0, default: 0 },
    limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 1000 },
    host: { type: 'string', minLength: 1, maxLength: 255 },
  },
} as const;

const deploysQuery = {
  type: 'object',
  properties: {
    app: { type: 'string', minLength: 1, maxLength: 63 },
    environment: { type: 'string', minLength: 1, maxLength: 63 },
    state: { type: 'string', enum: [...DEPLOY_STATES] },
    before: { type: 'integer', minimum: 1 },
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
  },
} as const;

const metricsQuery = {
  type: 'object',
  properties: {
    app: { type: 'string', minLength: 1, maxLength: 63 },
    environment: { type: 'string', minLength: 1, maxLength: 63 },
    weeks: { type: 'integer', minimum: 1, maximum: 104, default: 12 },
  },
} as const;

// Empty strings are allowed (an HTML form sends every field) and mean "no filter".
const auditQuery = {
  type: 'object',
  properties: {
    user: { type: 'string', maxLength: 100 },
    environment: { type: 'string', maxLength: 63 },
    deploy: { type: 'string', pattern: '^#?[0-9]{0,9}$' },
    outcome: { type: 'string', enum: ['', ...AUDIT_OUTCOMES] },
    before: { type: 'integer', minimum: 1 },
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
  },
} as const;

interface AuditQuery {
  user?: string;
  environment?: string;
  deploy?: string;
  outcome?: string;
  before?: number;
  limit: number;
}

const eventsQuery = { type: 'object', properties: { after: { type: 'integer', minimum: 0 } } } as const;

export function createWebServer(options: WebServerOptions): WebServer {
  const problem = bindingProblem(options.host, options.auth);
  if (problem) throw new WebConfigError(problem);

  const now = options.now ?? (() => new Date());
  const logger = options.logger.child({ component: 'web' });
  const redactor = new Redactor(options.secrets ?? []);
  const readModel = new ReadModel(options.store, redactor, now);
  const live = new LiveLog({ ...options.live, events: options.events, readModel, redactor, logger });
  const authorized = createAuthCheck(options.auth);
  const assets = Object.fromEntries(Object.entries(STATIC_FILES).map(([name, f]) => [name, { body: readFileSync(f.path), type: f.type }]));

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // SSE responses never end by themselves: closing the server must not wait for them.
    forceCloseConnections: true,
    return503OnClosing: true,
  });

  app.addHook('onRequest', async (req, reply) => {
    // Routes with their own check (the webhook's signature) opt out with `config: { webAuth: false }`.
    if ((req.routeOptions.config as { webAuth?: boolean } | undefined)?.webAuth === false) return;
    if (authorized(req.headers.authorization)) return;
    reply.header('www-authenticate', 'Basic realm="Shepherd", charset="UTF-8"');
    const api = req.url.startsWith('/api/');
    return reply
      .code(401)
      .type(api ? 'application/json' : 'text/plain; charset=utf-8')
      .send(api ? { error: 'authentication required (WEB_AUTH)' } : 'authentication required\n');
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });

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

  const notFound = (req: FastifyRequest, reply: FastifyReply, id: number) =>
    req.url.startsWith('/api/')
      ? reply.code(404).send({ error: `deploy ${id} not found` })
      : reply
          .code(404)
          .type('text/html; charset=utf-8')
          .send(notFoundPage(`There is no deploy #${id}.`));

  const publicLine = (l: { seq: number; host: string | null; stream: string; text: string; at: Date }) => ({
    seq: l.seq,
    host: l.host,
    stream: l.stream,
    text: redactor.line(l.text),
    at: l.at,
  });
  const baseUrl = () => (options.baseUrl ?? server.url).replace(/\/+$/, '');

  async function metrics(filter: { app?: string | undefined; environment?: string | undefined; weeks: number }) {
    const to = now();
    // A week before the window too: an incident that started just before it still ends inside it.
    const since = new Date(to.getTime() - (filter.weeks + 1) * 7 * 86_400_000);
    const deploys: DeployFact[] = await options.store.db.deploy.findMany({
      where: {
        createdAt: { gte: since },
        ...(filter.app ? { app: filter.app } : {}),
        ...(filter.environment ? { environment: filter.environment } : {}),
      },
      select: { id: true, app: true, environment: true, kind: true, state: true, createdAt: true, finishedAt: true, commitAt: true },
    });
    return computeDora(deploys, { now: to, weeks: filter.weeks });
  }

  if (options.webhook) registerGitHubWebhook(app, { ...options.webhook, logger });

  // ---- pages ----
  app.get('/', async (_req, reply) => {
    const push = pushBoardSource(options.services, options.pushRisk);
    const [active, recent, locks, oncall, board, report] = await Promise.all([
      readModel.activeDeploys(),
      readModel.deploys({ limit: 25 }),
      readModel.locks(),
      readModel.oncall(options.teams),
      push
        ? push.board().catch((err) => {
            logger.warn({ err }, 'push board failed');
            return null;
          })
        : Promise.resolve(undefined),
      metrics({ weeks: 12 }),
    ]);
    const policy = options.policy ? await policyBoard(options.store, options.policy, now()) : undefined;
    return reply.type('text/html; charset=utf-8').send(dashboardPage({ now: now(), active, recent, locks, oncall, push: board, metrics: report, policy }));
  });

  app.get<{ Params: { id: number } }>('/deploys/:id', { schema: { params: idParams } }, async (req, reply) => {
    const detail = await readModel.deploy(req.params.id);
    if (!detail) return notFound(req, reply, req.params.id);
    return reply.type('text/html; charset=utf-8').send(deployPage(detail, now()));
  });

  app.get<{ Params: { id: number }; Querystring: { after?: number } }>(
    '/deploys/:id/events',
    { schema: { params: idParams, querystring: eventsQuery } },
    async (req, reply) => {
      const deploy = await readModel.exists(req.params.id);
      if (!deploy) return notFound(req, reply, req.params.id);
      // The browser's automatic reconnect sends Last-Event-ID (the seq it got last); the first connect uses ?after=.
      const header = req.headers['last-event-id'];
      const lastHeader = Array.isArray(header) ? header[0] : header;
      let last = req.query.after ?? 0;
      if (lastHeader !== undefined && lastHeader !== '') {
        if (!/^\d{1,10}$/.test(lastHeader)) return reply.code(400).type('text/plain; charset=utf-8').send('bad Last-Event-ID: expected a line number\n');
        last = Number(lastHeader);
      }
      reply.hijack();
      reply.raw.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Proxies such as nginx would otherwise buffer the stream.
        'x-accel-buffering': 'no',
      });
      reply.raw.write('retry: 2000\n\n');
      live.attach(req.params.id, last, reply.raw, deploy.state);
    },
  );

  app.get<{ Params: { id: number } }>('/deploys/:id/raw', { schema: { params: idParams } }, async (req, reply) => {
    const id = req.params.id;
    if (!(await readModel.exists(id))) return notFound(req, reply, id);
    const mask = redactor.sequential();
    async function* body() {
      let after = 0;
      for (;;) {
        const rows = await readModel.lines(id, { after, limit: MAX_PAGE });
        if (rows.length === 0) return;
        yield rows.map((r) => `${r.host ?? BOT_HOST} ${r.stream} ${mask(r.text, r.host, r.stream)}\n`).join('');
        after = rows[rows.length - 1]!.seq;
        if (rows.length < MAX_PAGE) return;
      }
    }
    return reply.type('text/plain; charset=utf-8').header('content-disposition', `inline; filename="deploy-${id}.log"`).send(Readable.from(body()));
  });

  app.get<{ Params: { file: string } }>('/static/:file', async (req, reply) => {
    const asset = assets[req.params.file];
    if (!asset) return reply.code(404).type('text/plain; charset=utf-8').send('no such file\n');
    return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
  });

  // ---- JSON API ----
  app.get<{ Querystring: { app?: string; environment?: string; state?: string; before?: number; limit: number } }>(
    '/api/deploys',
    { schema: { querystring: deploysQuery } },
    async (req) => {
      const deploys = await readModel.deploys(req.query);
      const last = deploys[deploys.length - 1];
      return {
        deploys: deploys.map((d) => ({ ...d, url: deployUrl(baseUrl(), d.id) })),
        next: deploys.length === req.query.limit && last ? `/api/deploys?before=${last.id}&limit=${req.query.limit}` : null,
      };
    },
  );

  app.get<{ Params: { id: number } }>('/api/deploys/:id', { schema: { params: idParams } }, async (req, reply) => {
    const detail = await readModel.deploy(req.params.id);
    if (!detail) return notFound(req, reply, req.params.id);
    return { ...detail, url: deployUrl(baseUrl(), detail.id) };
  });

  app.get<{ Params: { id: number }; Querystring: { after: number; limit: number; host?: string } }>(
    '/api/deploys/:id/lines',
    { schema: { params: idParams, querystring: linesQuery } },
    async (req, reply) => {
      const { id } = req.params;
      if (!(await readModel.exists(id))) return notFound(req, reply, id);
      const rows = await readModel.lines(id, req.query);
      const last = rows[rows.length - 1];
      return { lines: rows.map(publicLine), next: rows.length === req.query.limit && last ? last.seq : null };
    },
  );

  app.get('/api/locks', async () => ({ locks: await readModel.locks() }));

  /** The audit query string → a store filter; a user nobody is called gives a problem (and no rows). */
  async function auditFilter(q: AuditQuery): Promise<{ filter: AuditFilter; problem?: string; shown: Record<string, string> }> {
    const shown = Object.fromEntries(
      Object.entries(q).filter(([k, v]) => ['user', 'environment', 'deploy', 'outcome'].includes(k) && v !== '' && v !== undefined),
    ) as Record<string, string>;
    const filter: AuditFilter = { limit: q.limit, before: q.before };
    if (q.environment) filter.environment = q.environment;
    if (q.deploy) filter.deployId = Number(q.deploy.replace('#', ''));
    if (q.outcome) filter.outcome = q.outcome;
    if (q.user) {
      const user = await options.store.users.resolve(q.user);
      if (!user) return { filter, shown, problem: `nobody is called ${q.user} (a chat handle or a linked GitHub login)` };
      filter.userId = user.id;
    }
    return { filter, shown };
  }
  const auditNext = (events: { id: number }[], q: AuditQuery, shown: Record<string, string>) => {
    const last = events[events.length - 1];
    return events.length === q.limit && last ? new URLSearchParams({ ...shown, before: String(last.id), limit: String(q.limit) }).toString() : null;
  };

  app.get<{ Querystring: AuditQuery }>('/api/audit', { schema: { querystring: auditQuery } }, async (req, reply) => {
    const { filter, problem, shown } = await auditFilter(req.query);
    if (problem) return reply.code(404).send({ error: problem });
    const events = await auditEvents(options.store, redactor, filter);
    const next = auditNext(events, req.query, shown);
    return { events, next: next ? `/api/audit?${next}` : null };
  });

  app.get<{ Querystring: AuditQuery }>('/audit', { schema: { querystring: auditQuery } }, async (req, reply) => {
    const { filter, problem, shown } = await auditFilter(req.query);
    const events = problem ? [] : await auditEvents(options.store, redactor, filter);
    const deploy = filter.deployId;
    const page = auditPage({
      events,
      filter: { user: req.query.user, environment: req.query.environment, deploy, outcome: req.query.outcome },
      outcomes: AUDIT_OUTCOMES,
      timezone: options.policy?.timezone ?? machineTimeZone(),
      next: auditNext(events, req.query, shown),
      problem,
    });
    return reply.type('text/html; charset=utf-8').send(page);
  });
  app.get('/api/oncall', async () => ({ teams: await readModel.oncall(options.teams) }));
  app.get<{ Querystring: { app?: string; environment?: string; weeks: number } }>('/api/metrics', { schema: { querystring: metricsQuery } }, async (req) =>
    metrics(req.query),
  );

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
