/**
 * What the bot may answer while the start is still loading the web server, Prisma and the deployer (src/main.ts):
 * commands that need only the store and the configuration, and not the state recovery leaves (locks and deploys
 * of a dead process). Everything else, and everything said after it, waits until the start is done.
 *
 *   const gate = earlyGate(bot.registry, started);   // started: resolves once recovery ran (or the start failed)
 *   first.handleWith((message) => gate.pass(message, () => bot.handle(adapter, message)));
 */
import type { Command } from '../command.js';
import { parse } from '../parse.js';
import { answerOf, type IncomingMessage } from './types.js';

/**
 * Answered before the start is done: they read users, karma and on-call (hand-written SQL, no Prisma) and write
 * only their audit row; what they might write beyond that (a karma reset, an on-call override) waits for Prisma
 * by itself (lazy-client.ts). Not here: locks and deploys (recovery frees a dead process's), status, push
 * (the deployer and the push service are not wired yet).
 */
export const EARLY_COMMANDS: ReadonlySet<string> = new Set(['help', 'karma', 'whoami', 'oncall']);

/** Whether `message` is a command of EARLY_COMMANDS (by name or alias), addressed to the bot, not a yes/no answer. */
export function isEarly(registry: ReadonlyMap<string, Command>, message: IncomingMessage): boolean {
  if (message.addressed === false || answerOf(message.text)) return false;
  const parsed = parse(message.text);
  if (!parsed.ok) return false;
  const command = registry.get(parsed.command.name);
  return command !== undefined && EARLY_COMMANDS.has(command.name);
}

/**
 * Runs early commands at once and holds the rest until `started` resolves; once one message is held, the ones
 * after it are held too (a `locks` said after a held `lock` is not answered before it); once the start is done
 * they are let go in the order they came, and run side by side as commands always do.
 */
export function earlyGate(registry: ReadonlyMap<string, Command>, started: Promise<void>): EarlyGate {
  let done = false;
  let held = 0;
  void started.then(() => {
    done = true;
  });
  return {
    async pass(message, run) {
      if (!done && (held > 0 || !isEarly(registry, message))) {
        held++;
        try {
          await started;
        } finally {
          held--;
        }
      }
      await run();
    },
    held: () => held,
  };
}

export interface EarlyGate {
  /** Runs `run` for `message` now, or once the start is done. */
  pass(message: IncomingMessage, run: () => Promise<void>): Promise<void>;
  /** Messages waiting for the start. */
  held(): number;
}
