/**
 * The viewer's own scripts and stylesheet, and ansi_up from node_modules: nothing comes from a CDN. Read once
 * at start.
 *
 *   app.register(assetsPlugin); // GET /static/viewer.js
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';

const STATIC_DIR = fileURLToPath(new URL('../static/', import.meta.url));

const STATIC_FILES: Record<string, { path: string; type: string }> = {
  'viewer.js': { path: `${STATIC_DIR}viewer.js`, type: 'text/javascript; charset=utf-8' },
  'dashboard.js': { path: `${STATIC_DIR}dashboard.js`, type: 'text/javascript; charset=utf-8' },
  'style.css': { path: `${STATIC_DIR}style.css`, type: 'text/css; charset=utf-8' },
  // The ANSI colour renderer, served from node_modules.
  'ansi_up.js': { path: fileURLToPath(import.meta.resolve('ansi_up')), type: 'text/javascript; charset=utf-8' },
};

export const assetsPlugin: FastifyPluginAsync = async (app) => {
  const assets = new Map(Object.entries(STATIC_FILES).map(([name, f]) => [name, { body: readFileSync(f.path), type: f.type }]));
  app.get<{ Params: { file: string } }>('/static/:file', async (req, reply) => {
    const asset = assets.get(req.params.file);
    if (!asset) return reply.code(404).type('text/plain; charset=utf-8').send('no such file\n');
    return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
  });
};
