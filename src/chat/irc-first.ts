/**
 * IRC before everything else: connects and joins while the rest of Shepherd (web server, Prisma, deployer)
 * is not loaded yet, so people see the bot join as soon as it can; messages that arrive meanwhile wait until
 * the start hands over the real handler (which itself waits for recovery), in the order they came.
 *
 *   const first = await joinIrcFirst(config.env, logger.child({ adapter: 'irc' }));   // resolves once joined
 *   ... load and wire the rest ...
 *   first.handleWith((message) => bot.handle(adapter, message));
 */
import type { Logger } from 'pino';
import type { Adapter, MessageHandler } from '../adapters/adapter.js';
import type { EnvConfig } from '../config.js';

export interface FirstChat {
  /** The joined adapter (started: do not start it again). */
  adapter: Adapter;
  /** Lets the messages through: those that waited first, then every new one. */
  handleWith(handler: MessageHandler): void;
  /** Messages received and waiting for handleWith. */
  waiting(): number;
}

export interface JoinOptions {
  /**
   * Called once the connection is under way (the adapter loaded, registration sent): the start loads what it needs
   * next meanwhile, while the server answers.
   */
  whileJoining?: () => void;
}

/** Loads the IRC adapter, connects and joins IRC_CHANNELS; rejects as IrcAdapter.start does. */
export async function joinIrcFirst(env: EnvConfig, logger: Logger, options: JoinOptions = {}): Promise<FirstChat> {
  const { IrcAdapter } = await import('../adapters/irc.js');
  let handleWith!: (handler: MessageHandler) => void;
  const handler = new Promise<MessageHandler>((resolve) => {
    handleWith = resolve;
  });
  let waiting = 0;
  let handed: MessageHandler | undefined;
  const adapter = new IrcAdapter(env, logger);
  const joined = adapter.start(async (message) => {
    if (handed) return handed(message);
    waiting++;
    const handle = await handler;
    waiting--;
    return handle(message);
  });
  options.whileJoining?.();
  await joined;
  return {
    adapter,
    handleWith: (h) => {
      handed = h;
      handleWith(h);
    },
    waiting: () => waiting,
  };
}
