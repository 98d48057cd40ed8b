/**
 * The rest of the start once the bot can answer (src/main.ts, after start-answer.ts): the web server (Fastify),
 * the deployer, the push, in one module so the start loads it with one dynamic import; Prisma's client loads beside
 * it (store/db-sqlite.ts). Nothing here runs on import.
 *
 *   const { Deployer, createWebServer } = await import('./start-later.js');
 */
export { AutoDeployer } from './deploy/auto-deploy.js';
export { Deployer } from './deploy/engine.js';
export { DeployEvents } from './deploy/events.js';
export { notifyingLineSink, relayDeployStates } from './deploy/instance-notify.js';
export { startDeploySinks } from './deploy/sinks.js';
export { deployThrough } from './push/deploy.js';
export { adapterNotifier } from './push/notifier.js';
export { createPushService } from './push/setup.js';
export { ChatEvents } from './store/chat-events.js';
export { Deploys } from './store/deploys.js';
export { WebhookDeliveries } from './store/webhook-deliveries.js';
export { createWebServer } from './web/server.js';
