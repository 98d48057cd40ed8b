/**
 * What a chat command is: data (name, aliases, usage, examples, roles) plus run(ctx). help is generated from
 * the data. Adding a command is one file in commands/ and one line in commands/index.ts.
 *
 *   export default defineCommand({ name: 'whoami', summary: 'show who I think you are', usage: 'whoami',
 *     examples: ['whoami'], roles: 'anyone', run: async (ctx) => { await ctx.reply('...'); } });
 */
import type { SendOptions } from './chat/rich.js';
import type { Answer, MessageRef, Target } from './chat/types.js';
import type { Config } from './config.js';
import type { ParsedCommand } from './parse.js';
import type { Services } from './services.js';
import type { Role } from './roles.js';
import type { Store } from './store/index.js';
import type { KnownUser } from './store/users.js';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Services a command may use. Optional ones arrive with later features. */
export interface Deps {
  config: Readonly<Config>;
  store: Store;
  clock: Clock;
  /** Every registered command (help is generated from them). */
  commands: readonly Command[];
  /** Post to any room on the adapter the command came from (e.g. tell a lock holder). */
  say(target: Target, text: string): Promise<MessageRef>;
  /** The deployer, the push workflow and the `status` sections, as createServices() built them. */
  services: Services;
}

/** How long a confirmation question waits for its answer (SPEC: within 60 s). */
export const CONFIRM_TIMEOUT_MS = 60_000;

export type { Answer } from './chat/types.js';

export interface Ctx {
  command: ParsedCommand;
  /** Positional args (same as command.args). */
  args: string[];
  user: KnownUser;
  roles: Role[];
  /** Which network: 'shell' | 'irc' | 'slack'. */
  provider: string;
  room: Target;
  direct: boolean;
  /** Answers where the message came from; `options` adds buttons or marks one answer personal (src/chat/rich.ts). */
  reply(text: string, options?: SendOptions): Promise<MessageRef>;
  /** How to mention a user here so they are notified. */
  mention(user: KnownUser): string;
  /** Throws Refusal unless the user has the role. */
  requireRole(role: Role, doing: string): void;
  /**
   * Asks this user a yes/no question in this room and waits for the answer: 'yes', 'no', or 'timeout' after
   * timeoutMs (default CONFIRM_TIMEOUT_MS). The question is sent by confirm itself.
   *
   *   if ((await ctx.confirm('deploy web to production?')) !== 'yes') return;
   */
  confirm(question: string, timeoutMs?: number): Promise<Answer>;
  deps: Deps;
}

export interface Command {
  name: string;
  aliases?: string[];
  /** One line for the help list. */
  summary: string;
  /** Grammar lines, e.g. 'lock [<app>/]<env> [reason]'. */
  usage: string[];
  examples: string[];
  /** Who may run it at all; finer checks (per sub-command, per environment) use ctx.requireRole. */
  roles: 'anyone' | Role[];
  /**
   * The answers matter to the asker alone (whoami, help, your own karma): where the network can, they are shown
   * to the asker only (Slack: ephemeral answers to `/shepherd`). A function decides from the arguments.
   */
  personal?: boolean | ((args: string[]) => boolean);
  run(ctx: Ctx): Promise<void>;
}

export function defineCommand(command: Command): Command {
  return command;
}

/** A refusal the user should read: why, and what to do next. Not an error in the bot. */
export class Refusal extends Error {
  override name = 'Refusal';
}

/** Malformed arguments: the bot answers with the command's usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}
