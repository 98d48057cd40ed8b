/**
 * The JSON API: deploys (filtered, paged), one deploy, its log lines (paged by seq), locks, on-call, DORA
 * metrics. Log lines are masked again on the way out.
 *
 *   app.register(apiPlugin, context); // GET /api/deploys?app=web&limit=20
 */
import type { FastifyPluginAsync } from 'fastify';
import { deployUrl } from '../../format.js';
import { DEPLOY_STATES } from '../read-model.js';
import { deployNotFound, idParams, MAX_PAGE, metrics, type WebContext } from './context.js';

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

export const apiPlugin: FastifyPluginAsync<WebContext> = async (app, ctx) => {
  const { readModel, redactor } = ctx;
  const publicLine = (l: { seq: number; host: string | null; stream: string; text: string; at: Date }) => ({
    seq: l.seq,
    host: l.host,
    stream: l.stream,
    text: redactor.line(l.text),
    at: l.at,
  });

  app.get<{ Querystring: { app?: string; environment?: string; state?: string; before?: number; limit: number } }>(
    '/api/deploys',
    { schema: { querystring: deploysQuery } },
    async (req) => {
      const deploys = await readModel.deploys(req.query);
      const last = deploys[deploys.length - 1];
      return {
        deploys: deploys.map((d) => ({ ...d, url: deployUrl(ctx.baseUrl(), d.id) })),
        next: deploys.length === req.query.limit && last ? `/api/deploys?before=${last.id}&limit=${req.query.limit}` : null,
      };
    },
  );

  app.get<{ Params: { id: number } }>('/api/deploys/:id', { schema: { params: idParams } }, async (req, reply) => {
    const detail = await readModel.deploy(req.params.id);
    if (!detail) return deployNotFound(req, reply, req.params.id);
    return { ...detail, url: deployUrl(ctx.baseUrl(), detail.id) };
  });

  app.get<{ Params: { id: number }; Querystring: { after: number; limit: number; host?: string } }>(
    '/api/deploys/:id/lines',
    { schema: { params: idParams, querystring: linesQuery } },
    async (req, reply) => {
      const { id } = req.params;
      if (!(await readModel.exists(id))) return deployNotFound(req, reply, id);
      const rows = await readModel.lines(id, req.query);
      const last = rows[rows.length - 1];
      return { lines: rows.map(publicLine), next: rows.length === req.query.limit && last ? last.seq : null };
    },
  );

  app.get('/api/locks', async () => ({ locks: await readModel.locks() }));
  app.get('/api/oncall', async () => ({ teams: await readModel.oncall(ctx.teams) }));
  app.get<{ Querystring: { app?: string; environment?: string; weeks: number } }>('/api/metrics', { schema: { querystring: metricsQuery } }, async (req) =>
    metrics(ctx, req.query),
  );
};
