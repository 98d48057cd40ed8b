/**
 * What the start needs to answer commands, in one module the start loads with one dynamic import after IRC joined
 * (src/main.ts): the bot, the commands, the store on the database as openEarly opens it (no Prisma yet on
 * SQLite). The web server, Prisma and the deployer come later (start-later.ts). Nothing here runs on import.
 *
 *   const { Bot, commands, createStore, openEarly } = await import('./start-answer.js');
 */
export { commands } from '../commands/index.js';
export { Bot } from './bot.js';
export { earlyGate } from './chat/early-commands.js';
export { instanceName } from './deploy/instance-name.js';
export { GitHubDeviceFlow } from './github-device-flow.js';
export { GitHubVerification } from './github-verification.js';
export { createServices } from './services.js';
export { openEarly } from './store/db.js';
export { createStore } from './store/index.js';
export { openNotifier } from './store/notify.js';
