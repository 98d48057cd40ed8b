/**
 * /healthz (the process is alive and serving) and /readyz (it can do its job: the database answers and every
 * chat connection is up), for systemd, load balancers and monitoring. Both are open even when WEB_AUTH is set:
 * they reveal nothing but up/down (plugins/auth.ts lets routes marked PUBLIC_ROUTE through).
 *
 *   app.register(healthPlugin, { database: () => db.ping(), chats: () => adapters });
 */
import type { FastifyPluginAsync } from 'fastify';

export interface HealthOptions {
  /** Resolves true when a trivial query succeeds. */
  database: () => Promise<boolean>;
  /**
   * The chat connections; one without a `ready` flag (the shell) counts as connected. One `standingBy` (IRC on
   * an instance without the IRC lease: another instance holds the connection) is ready too, shown as such.
   */
  chats?: () => readonly { name: string; ready?: boolean; standingBy?: boolean }[];
  /**
   * True while the start is not done (the bot may already answer some commands, src/main.ts): not ready then,
   * shown as `start: 'starting'`.
   */
  starting?: () => boolean;
  /** How long the database may take to answer before it counts as down (default 5 s). */
  timeoutMs?: number;
}

/** Route option marking a route as reachable without WEB_AUTH (read by the auth hook in plugins/auth.ts). */
export const PUBLIC_ROUTE = { public: true } as const;

export const healthPlugin: FastifyPluginAsync<HealthOptions> = async (app, options) => {
  app.get('/healthz', { config: PUBLIC_ROUTE }, async () => ({ status: 'alive' }));

  app.get('/readyz', { config: PUBLIC_ROUTE }, async (_req, reply) => {
    const timeoutMs = options.timeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const database = await Promise.race([
      options.database().catch(() => false),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    const chat = Object.fromEntries(
      (options.chats?.() ?? []).map((c) => [c.name, c.standingBy ? 'standing by' : c.ready === false ? 'disconnected' : 'connected']),
    );
    const starting = options.starting?.() === true;
    const ready = !starting && database && Object.values(chat).every((s) => s !== 'disconnected');
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      ...(starting ? { start: 'starting' } : {}),
      database: database ? 'answering' : 'not answering',
      chat,
    });
  });
};
