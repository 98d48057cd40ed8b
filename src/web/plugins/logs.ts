/**
 * A deploy's log for people: live as server-sent events (resumable with Last-Event-ID) and as a raw text
 * download, masked again on the way out.
 *
 *   app.register(logsPlugin, context); // GET /deploys/7/events, GET /deploys/7/raw
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { BOT_HOST } from '../read-model.js';
import { deployNotFound, idParams, SECURITY_HEADERS, type WebContext } from './context.js';

const eventsQuery = { type: 'object', properties: { after: { type: 'integer', minimum: 0 } } } as const;

export const logsPlugin: FastifyPluginAsync<WebContext> = async (app, ctx) => {
  const { readModel, redactor, live } = ctx;
  const logs = ctx.store.logs;

  app.get<{ Params: { id: number }; Querystring: { after?: number } }>(
    '/deploys/:id/events',
    { schema: { params: idParams, querystring: eventsQuery } },
    async (req, reply) => {
      const deploy = await readModel.exists(req.params.id);
      if (!deploy) return deployNotFound(req, reply, req.params.id);
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
    if (!(await readModel.exists(id))) return deployNotFound(req, reply, id);
    const mask = redactor.sequential();
    // Chunk by chunk as stored, each line masked again in order (a key block spanning lines included).
    async function* body() {
      for await (const chunk of logs.raw(id)) {
        const prefix = `${chunk.host ?? BOT_HOST} ${chunk.stream} `;
        let out = '';
        for (const text of chunk.text.split('\n')) out += `${prefix}${mask(text, chunk.host, chunk.stream)}\n`;
        yield out;
      }
    }
    return reply.type('text/plain; charset=utf-8').header('content-disposition', `inline; filename="deploy-${id}.log"`).send(Readable.from(body()));
  });
};
