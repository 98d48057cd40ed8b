/**
 * The HTML pages: the dashboard (active deploys, history, locks, on-call, the daily push, DORA metrics) and
 * one page per deploy (its live log is loaded by the page's script from the logs plugin).
 *
 *   app.register(pagesPlugin, context); // GET /, GET /deploys/7
 */
import type { FastifyPluginAsync } from 'fastify';
import { dashboardPage, deployPage } from '../pages.js';
import { policyBoard } from '../policy-board.js';
import { pushBoardSource } from '../push-board.js';
import { deployNotFound, idParams, metrics, type WebContext } from './context.js';

export const pagesPlugin: FastifyPluginAsync<WebContext> = async (app, ctx) => {
  const { readModel, logger, now } = ctx;

  app.get('/', async (_req, reply) => {
    const push = pushBoardSource(ctx.services, ctx.pushRisk);
    const [active, recent, locks, oncall, board, report] = await Promise.all([
      readModel.activeDeploys(),
      readModel.deploys({ limit: 25 }),
      readModel.locks(),
      readModel.oncall(ctx.teams),
      push
        ? push.board().catch((err) => {
            logger.warn({ err }, 'push board failed');
            return null;
          })
        : Promise.resolve(undefined),
      metrics(ctx, { weeks: 12 }),
    ]);
    const policy = ctx.policy ? await policyBoard(ctx.store, ctx.policy, now()) : undefined;
    return reply.type('text/html; charset=utf-8').send(dashboardPage({ now: now(), active, recent, locks, oncall, push: board, metrics: report, policy }));
  });

  app.get<{ Params: { id: number } }>('/deploys/:id', { schema: { params: idParams } }, async (req, reply) => {
    const detail = await readModel.deploy(req.params.id);
    if (!detail) return deployNotFound(req, reply, req.params.id);
    return reply.type('text/html; charset=utf-8').send(deployPage(detail, now()));
  });
};
