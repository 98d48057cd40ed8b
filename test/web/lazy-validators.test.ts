/**
 * Route schemas compile at their first request (src/web/lazy-validators.ts), with Fastify's own Ajv compiler:
 * nothing at start, each route once, and the answers (coercion, defaults, 400 with the reason) as before.
 */
import AjvCompiler from '@fastify/ajv-compiler';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { type BuildCompiler, lazyValidators } from '../../src/web/lazy-validators.js';

describe('lazy route validators', () => {
  it('GIVEN two routes with schemas THEN nothing compiles at start, each compiles at its first request only, and validation answers as Fastify does', async () => {
    const compiled: string[] = [];
    let factories = 0;
    const counting = (): BuildCompiler => {
      factories++;
      const build = AjvCompiler() as unknown as BuildCompiler;
      return (external, options) => {
        const compile = build(external, options);
        return (route) => {
          compiled.push(`${route.method} ${route.url} ${route.httpPart}`);
          return compile(route);
        };
      };
    };
    const app = Fastify({ schemaController: { compilersFactory: { buildValidator: lazyValidators(counting) } } });
    const query = { type: 'object', properties: { limit: { type: 'integer', minimum: 1, default: 20 } }, additionalProperties: false };
    app.get('/a', { schema: { querystring: query } }, async (req) => ({ query: req.query }));
    app.get('/b/:id', { schema: { params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } } } } }, async (req) => ({ params: req.params }));
    await app.ready();
    try {
      expect(factories).toBe(0);
      expect(compiled).toEqual([]);

      const coerced = await app.inject('/a?limit=5');
      expect(coerced.json()).toEqual({ query: { limit: 5 } });
      expect((await app.inject('/a')).json()).toEqual({ query: { limit: 20 } });
      const bad = await app.inject('/a?limit=0');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message).toMatch(/querystring\/limit must be >= 1/);
      expect(compiled).toEqual(['GET /a querystring']);

      expect((await app.inject('/b/7')).json()).toEqual({ params: { id: 7 } });
      expect((await app.inject('/b/x')).statusCode).toBe(400);
      expect(compiled).toEqual(['GET /a querystring', 'GET /b/:id params']);
      expect(factories).toBe(1);
    } finally {
      await app.close();
    }
  });
});
