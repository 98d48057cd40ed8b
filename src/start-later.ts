/**
 * Everything the start needs once chat is joined, in one module so the start loads it with one dynamic import
 * after IRC joined (src/main.ts): the web server (Fastify), Prisma, the deployer, the commands. Nothing here
 * runs on import.
 *
 *   const { openDatabase, Bot, createWebServer } = await import('./start-later.js');
 */
export { commands } from '../commands/index.js';
export { AutoDeployer } from './deploy/auto-deploy.js';
export { Deployer } from './deploy/engine.js';
export { DeployEvents } from './deploy/events.js';
export { notifyingLineSink, relayDeployStates } from './deploy/instance-notify.js';
export { instanceName } from './deploy/scheduler.js';
export { startDeploySinks } from './deploy/sinks.js';
export { Bot } from './bot.js';
export { GitHubDeviceFlow } from './github-device-flow.js';
export { GitHubVerification } from './github-verification.js';
export { deployThrough } from './push/deploy.js';
export { adapterNotifier } from './push/notifier.js';
export { createPushService } from './push/setup.js';
export { createServices } from './services.js';
export { ChatEvents } from './store/chat-events.js';
export { openDatabase } from './store/db.js';
export { Deploys } from './store/deploys.js';
export { createStore } from './store/index.js';
export { openNotifier } from './store/notify.js';
export { WebhookDeliveries } from './store/webhook-deliveries.js';
export { createWebServer } from './web/server.js';
