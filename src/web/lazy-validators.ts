/**
 * Fastify's own request validation (@fastify/ajv-compiler, the same Ajv and options), compiled on first use:
 * Fastify compiles every route's schema while the server starts, and Ajv itself (its meta-schemas, formats)
 * was the largest share of the web server's start-up; now a route pays once, at its first request, and a
 * server that never gets one (a bot used only from chat) never loads Ajv at all.
 *
 *   Fastify({ schemaController: { compilersFactory: { buildValidator: lazyValidators() } } });
 */
import { createRequire } from 'node:module';
import type { ValidatorFactory } from '@fastify/ajv-compiler';

type Route = { schema: unknown; method: string; url: string; httpPart: string };
type Validate = ((data: unknown, context?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown };
type Compile = (route: Route) => Validate;
export type BuildCompiler = (externalSchemas: unknown, options: unknown) => Compile;

const load = createRequire(import.meta.url);

/** `compilers` makes Fastify's compiler factory (default: @fastify/ajv-compiler's); tests count compilations through it. */
export function lazyValidators(compilers: () => BuildCompiler = () => (load('@fastify/ajv-compiler') as () => BuildCompiler)()): ValidatorFactory {
  let build: BuildCompiler | undefined;
  const factory: BuildCompiler = (externalSchemas, options) => {
    let compile: Compile | undefined;
    return (route) => {
      let validate: Validate | undefined;
      const lazy: Validate = (data, context) => {
        if (!validate) {
          build ??= compilers();
          compile ??= build(externalSchemas, options);
          validate = compile(route);
        }
        const result = validate(data, context);
        // Fastify reads the errors from the function it called.
        lazy.errors = validate.errors;
        return result;
      };
      // Fastify passes the parent (so Ajv may coerce a root value) only to functions that look like Ajv's.
      lazy.schemaEnv = true;
      return lazy;
    };
  };
  return factory as unknown as ValidatorFactory;
}
