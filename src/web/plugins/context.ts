/**
 * What the web viewer's plugins share: the read model, the live log hub, the redactor, and the few helpers
 * more than one area needs (404 answers, DORA metrics, the public base URL). Built once by createWebServer.
 *
 *   app.register(apiPlugin, context);
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Store } from '../../store/index.js';
import { computeDora, type DeployFact, type DoraReport } from '../dora.js';
import type { LiveLog } from '../live-log.js';
import type { PolicyConfig } from '../policy-board.js';
import type { PushBoardServices } from '../push-board.js';
import { notFoundPage } from '../pages.js';
import type { ReadModel } from '../read-model.js';
import type { Redactor } from '../redact.js';

export interface WebContext {
  store: Store;
  readModel: ReadModel;
  redactor: Redactor;
  live: LiveLog;
  logger: Logger;
  now: () => Date;
  /** Where people reach the viewer, without a trailing slash (for links in API answers). */
  baseUrl: () => string;
  /** The bot's services (the push board reads `push`). */
  services?: PushBoardServices | undefined;
  teams?: readonly string[] | undefined;
  pushRisk?: { lines: number; comments: number } | undefined;
  /** timezone, freezes and apps from shepherd.yml (dashboard freezes and environment URLs, /audit's clock). */
  policy?: PolicyConfig | undefined;
}

/** Most log lines one API page or raw-download read returns. */
export const MAX_PAGE = 5_000;

export const SECURITY_HEADERS = {
  // No inline script at all: even markup that got into a page could not run. Inline style attributes are
  // allowed for ansi_up's 256-colour spans.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
  required: ['id'],
} as const;

/** "No such deploy": JSON under /api/, a page elsewhere. */
export function deployNotFound(req: FastifyRequest, reply: FastifyReply, id: number) {
  return req.url.startsWith('/api/')
    ? reply.code(404).send({ error: `deploy ${id} not found` })
    : reply
        .code(404)
        .type('text/html; charset=utf-8')
        .send(notFoundPage(`There is no deploy #${id}.`));
}

/** DORA metrics over the last `weeks` (dashboard and /api/metrics). */
export async function metrics(
  ctx: Pick<WebContext, 'store' | 'now'>,
  filter: { app?: string | undefined; environment?: string | undefined; weeks: number },
): Promise<DoraReport> {
  const to = ctx.now();
  // A week before the window too: an incident that started just before it still ends inside it.
  const since = new Date(to.getTime() - (filter.weeks + 1) * 7 * 86_400_000);
  const deploys: DeployFact[] = await ctx.store.db.deploy.findMany({
    where: {
      createdAt: { gte: since },
      ...(filter.app ? { app: filter.app } : {}),
      ...(filter.environment ? { environment: filter.environment } : {}),
    },
    select: {
      id: true,
      app: true,
      environment: true,
      kind: true,
      state: true,
      createdAt: true,
      finishedAt: true,
      commitAt: true,
      validationStartedAt: true,
      validation: true,
    },
  });
  return computeDora(deploys, { now: to, weeks: filter.weeks });
}
