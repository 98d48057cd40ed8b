/**
 * Access to the whole viewer: with WEB_AUTH every route (pages, API, events, raw, static) asks for it, except
 * routes marked `config: PUBLIC_ROUTE` (the health checks, which reveal nothing but up/down); every answer
 * carries the security headers. Wrapped with fastify-plugin so its hooks hold for the routes of
 * every other plugin, not only its own.
 *
 *   app.register(authPlugin, { auth: 'ops:secret' });
 */
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { createAuthCheck } from '../auth.js';
import { SECURITY_HEADERS } from './context.js';

const auth: FastifyPluginAsync<{ auth?: string | undefined }> = async (app, options) => {
  const authorized = createAuthCheck(options.auth);
  app.addHook('onRequest', async (req, reply) => {
    // Routes with their own check (the GitHub webhook's signature) opt out with `config: { webAuth: false }`;
    // health probes are public.
    if ((req.routeOptions.config as { webAuth?: boolean } | undefined)?.webAuth === false) return;
    if (authorized(req.headers.authorization) || (req.routeOptions.config as { public?: boolean } | undefined)?.public) return;
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
};

export const authPlugin = fp(auth, { name: 'shepherd-auth' });
