/**
 * The audit trail on the viewer: `/audit` (a page with filters) and `/api/audit` (the same as JSON, paged
 * newest first): every command, refusal, gate decision and override, masked like log lines.
 *
 *   app.register(auditPlugin, context); // GET /audit?user=alice&environment=production, GET /api/audit
 */
import type { FastifyPluginAsync } from 'fastify';
import { AUDIT_OUTCOMES, type AuditFilter } from '../../store/audit.js';
import { machineTimeZone } from '../../zoned-time.js';
import { auditEvents } from '../policy-board.js';
import { auditPage } from '../policy-pages.js';
import type { WebContext } from './context.js';

// Empty strings are allowed (an HTML form sends every field) and mean "no filter".
const auditQuery = {
  type: 'object',
  properties: {
    user: { type: 'string', maxLength: 100 },
    environment: { type: 'string', maxLength: 63 },
    /** Short for environment (`/audit?env=production`). */
    env: { type: 'string', maxLength: 63 },
    deploy: { type: 'string', pattern: '^#?[0-9]{0,9}$' },
    outcome: { type: 'string', enum: ['', ...AUDIT_OUTCOMES] },
    before: { type: 'integer', minimum: 1 },
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
  },
} as const;

interface AuditQuery {
  user?: string;
  environment?: string;
  env?: string;
  deploy?: string;
  outcome?: string;
  before?: number;
  limit: number;
}

export const auditPlugin: FastifyPluginAsync<WebContext> = async (app, ctx) => {
  /** The audit query string → a store filter; a user nobody is called gives a problem (and no rows). */
  async function auditFilter(query: AuditQuery): Promise<{ filter: AuditFilter; problem?: string; shown: Record<string, string> }> {
    const { env, ...rest } = query;
    const q: AuditQuery = { ...rest, environment: query.environment || env };
    const shown = Object.fromEntries(
      Object.entries(q).filter(([k, v]) => ['user', 'environment', 'deploy', 'outcome'].includes(k) && v !== '' && v !== undefined),
    ) as Record<string, string>;
    const filter: AuditFilter = { limit: q.limit, before: q.before };
    if (q.environment) filter.environment = q.environment;
    if (q.deploy) filter.deployId = Number(q.deploy.replace('#', ''));
    if (q.outcome) filter.outcome = q.outcome;
    if (q.user) {
      const user = await ctx.store.users.resolve(q.user);
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
    const events = await auditEvents(ctx.store, ctx.redactor, filter);
    const next = auditNext(events, req.query, shown);
    return { events, next: next ? `/api/audit?${next}` : null };
  });

  app.get<{ Querystring: AuditQuery }>('/audit', { schema: { querystring: auditQuery } }, async (req, reply) => {
    const { filter, problem, shown } = await auditFilter(req.query);
    const events = problem ? [] : await auditEvents(ctx.store, ctx.redactor, filter);
    const page = auditPage({
      events,
      filter: { user: req.query.user, environment: req.query.environment || req.query.env, deploy: filter.deployId, outcome: req.query.outcome },
      outcomes: AUDIT_OUTCOMES,
      timezone: ctx.policy?.timezone ?? machineTimeZone(),
      next: auditNext(events, req.query, shown),
      problem,
    });
    return reply.type('text/html; charset=utf-8').send(page);
  });
};
