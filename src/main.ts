/**
 * The only place that creates real clients (database, chat adapters, ...) and wires them together.
 *
 *   npm start                      # shell chat on the embedded defaults
 *   IRC_SERVER=irc.example IRC_CHANNELS=#deploys npm start
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { commands } from '../commands/index.js';
import type { Adapter } from './adapters/adapter.js';
import { ShellAdapter } from './adapters/shell.js';
import { Bot } from './bot.js';
import { systemClock } from './command.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { openDatabase } from './store/db.js';
import { createStore } from './store/index.js';

export interface Shepherd {
  config: Readonly<Config>;
  bot: Bot;
  adapters: Adapter[];
  logger: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  /** Called when the shell chat's input ends (default: stop and exit). */
  onShellEnd?: () => void;
}

/** Reads the configuration, opens and migrates the database, starts every configured adapter. */
export async function startShepherd(options: StartOptions = {}): Promise<Shepherd> {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  const chatConfigured = Boolean(config.env.SLACK_BOT_TOKEN || config.env.IRC_SERVER);
  const logger = createLogger(config.env.LOG_LEVEL ?? (chatConfigured ? 'info' : 'warn'));
  const { prisma, path, applied } = await openDatabase(config.env.DATABASE_URL);
  if (applied.length) logger.info({ path, applied }, 'database migrated');
  const store = createStore(prisma, { karmaInitial: config.karma.initial });
  const bot = new Bot({ commands, config, store, clock: systemClock, logger });

  const adapters: Adapter[] = [];
  // Loaded only when configured: Bolt alone adds a noticeable share of start-up time.
  if (config.env.SLACK_BOT_TOKEN) {
    const { SlackAdapter } = await import('./adapters/slack.js');
    adapters.push(new SlackAdapter(config.env, logger.child({ adapter: 'slack' })));
  }
  if (config.env.IRC_SERVER) {
    const { IrcAdapter } = await import('./adapters/irc.js');
    adapters.push(new IrcAdapter(config.env, logger.child({ adapter: 'irc' })));
  }
  if (adapters.length === 0) adapters.push(new ShellAdapter({ onEnd: options.onShellEnd }));

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.allSettled(adapters.map((a) => a.stop()));
      await prisma.$disconnect();
    })());

  try {
    for (const adapter of adapters) await adapter.start((message) => bot.handle(adapter, message));
  } catch (err) {
    await stop();
    throw err;
  }
  logger.info({ adapters: adapters.map((a) => a.name), config: config.configPath }, 'ready');
  return { config, bot, adapters, logger, stop };
}

async function main(): Promise<void> {
  if (existsSync(resolve('.env'))) process.loadEnvFile(resolve('.env'));
  let shepherd: Shepherd | undefined;
  const shutdown = async (code: number) => {
    await shepherd?.stop().catch(() => {});
    process.exit(code);
  };
  try {
    shepherd = await startShepherd({ onShellEnd: () => void shutdown(0) });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`shepherd: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`shepherd: could not start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
