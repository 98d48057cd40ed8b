/**
 * Message in → parse → who is it → find the command → role check → run → replies, plus an audit row.
 * Knows no platform: an Adapter delivers IncomingMessages and sends text.
 *
 *   const bot = new Bot({ commands, config, store, clock, logger, services: createServices({ deployer }) });
 *   await adapter.start((msg) => bot.handle(adapter, msg));
 */
import type { Logger } from 'pino';
import type { Adapter } from './adapters/adapter.js';
import type { SendOptions } from './chat/rich.js';
import { type Answer, answerOf, type IncomingMessage, type MessageRef, type Question, type Target } from './chat/types.js';
import { CONFIRM_TIMEOUT_MS, type Clock, type Command, type Ctx, type Deps, Refusal, UsageError } from './command.js';
import type { Config } from './config.js';
import { formatDuration } from './duration.js';
import { withGitHubBudget } from './github-deadline.js';
import { failed, refused, unknownCommand, usage } from './format.js';
import { closest, parse } from './parse.js';
import { type Role, rolesOf, ROLE_LABEL } from './roles.js';
import type { Outcome } from './store/audit.js';
import { createServices, type Services } from './services.js';
import { AuditQueue } from './store/audit-queue.js';
import { isConnectionError } from './store/db.js';
import type { Store } from './store/index.js';

export interface BotOptions {
  commands: readonly Command[];
  config: Readonly<Config>;
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Default: createServices() with nothing set up (no deploys, no push). */
  services?: Services;
  /** How long ctx.confirm waits when the command gives no timeout (default CONFIRM_TIMEOUT_MS; tests shorten it). */
  confirmTimeoutMs?: number;
}

/** How long stop() waits for commands still running before it writes their audit rows anyway. */
export const STOP_WAIT_MS = 5_000;

/** Builds the name/alias → command table; a name used twice is a programming error caught at start. */
export function buildRegistry(commands: readonly Command[]): Map<string, Command> {
  const table = new Map<string, Command>();
  for (const command of commands) {
    for (const key of [command.name, ...(command.aliases ?? [])]) {
      const other = table.get(key);
      if (other) throw new Error(`command name "${key}" is used by both ${other.name} and ${command.name}`);
      table.set(key, command);
    }
  }
  return table;
}

/** The answer to any command while the database cannot be reached. */
export const DATABASE_DOWN = 'the database is not answering; try again in a minute';

/** A question waiting for its answer; resolve() settles it (once). */
interface Waiter {
  resolve(answer: Answer): void;
}

export class Bot {
  readonly registry: Map<string, Command>;
  private readonly waiters = new Map<string, Waiter>();
  readonly services: Services;
  /** Where each command's audit row goes once the command has answered (written in batches, flushed at stop). */
  readonly audit: AuditQueue;
  private readonly confirmTimeoutMs: number;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: BotOptions) {
    this.registry = buildRegistry(options.commands);
    this.services = options.services ?? createServices();
    this.confirmTimeoutMs = options.confirmTimeoutMs ?? CONFIRM_TIMEOUT_MS;
    this.audit = new AuditQueue(options.store.audit, options.logger);
  }

  /**
   * Handles one message to completion (its audit row written). Never throws: every failure becomes a reply.
   * The reply goes out first; the audit row is queued after it and written with whatever else came meanwhile.
   */
  async handle(adapter: Adapter, message: IncomingMessage): Promise<void> {
    const run = this.handleOne(adapter, message);
    this.running.add(run);
    try {
      await run;
    } finally {
      this.running.delete(run);
    }
  }

  /**
   * For a graceful stop, once the adapters are stopped: questions still open are taken as `no`, commands still
   * running get up to `waitMs` to finish, and every audit row queued so far is written.
   */
  async stop(waitMs = STOP_WAIT_MS): Promise<void> {
    for (const waiter of [...this.waiters.values()]) waiter.resolve('no');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, waitMs);
      }),
    ]);
    clearTimeout(timer);
    await this.audit.flush();
  }

  private async handleOne(adapter: Adapter, message: IncomingMessage): Promise<void> {
    const { store, logger } = this.options;
    const identity = `${message.user.provider}:${message.user.id}`;
    // A yes/no answer to a question the bot asked this user in this room goes to that question, and only such a
    // word does: anything else runs as a command, so a prompt never swallows the user's next command.
    const waitKey = `${identity}|${message.target.room}`;
    const answer = answerOf(message.text);
    const waiter = answer ? this.waiters.get(waitKey) : undefined;
    if (answer && waiter) {
      this.waiters.delete(waitKey);
      waiter.resolve(answer);
      return;
    }
    // Channel chatter that was not addressed to the bot counts only as an answer (a plain `yes` on IRC).
    if (message.addressed === false) return;

    // Refusals and usage lines are for the asker alone, as are the answers of a command that says so (personal).
    let personal = false;
    const reply = (text: string, options?: SendOptions) => adapter.send(message.target, text, { personal, ...options });
    const refuse = (text: string) => adapter.send(message.target, text, { personal: true });
    let user: Awaited<ReturnType<Store['users']['identify']>>;
    try {
      user = await store.users.identify(message.user);
    } catch (err) {
      logger.error({ err, identity }, 'could not identify user');
      await refuse(failed(DATABASE_DOWN)).catch(() => {});
      return;
    }

    const parsed = parse(message.text);
    let commandName = '';
    let outcome: Outcome = 'ok';
    let detail: string | undefined;
    try {
      if (answer) {
        outcome = 'unknown';
        detail = 'no question pending';
        await refuse(`there is no question waiting for your \`${answer}\` here — \`help\` lists the commands`);
        return;
      }
      if (!parsed.ok) {
        outcome = 'unknown';
        detail = parsed.error;
        await refuse(parsed.error);
        return;
      }
      commandName = parsed.command.name;
      const command = this.registry.get(commandName);
      if (!command) {
        outcome = 'unknown';
        const names = [...this.registry.keys()];
        await refuse(unknownCommand(commandName, closest(commandName, names)));
        return;
      }
      commandName = command.name;
      personal = typeof command.personal === 'function' ? command.personal(parsed.command.args) : command.personal === true;
      const roles = rolesOf(this.options.config, user);
      const requireRole = (role: Role, doing: string) => {
        if (!roles.includes(role)) {
          throw new Refusal(
            `only a ${ROLE_LABEL[role]} can ${doing} — ask one of: ${this.options.config.release_managers.join(', ') || '(none configured: add release_managers to shepherd.yml)'}`,
          );
        }
      };
      if (command.roles !== 'anyone' && !command.roles.some((r) => roles.includes(r))) {
        requireRole(command.roles[0] as Role, `use \`${command.name}\``);
      }
      const ctx: Ctx = {
        command: parsed.command,
        args: parsed.command.args,
        user,
        roles,
        provider: adapter.name,
        room: message.target,
        direct: message.direct,
        reply,
        mention: (u) => {
          const i = u.identities.find((x) => x.provider === adapter.name);
          return i ? adapter.mention(i) : u.name;
        },
        requireRole,
        confirm: (question, timeoutMs) =>
          this.confirm(adapter, message, waitKey, { text: question, user: message.user, timeoutMs: timeoutMs ?? this.confirmTimeoutMs }),
        deps: this.deps(adapter),
      };
      try {
        // One GitHub deadline for the whole command, however many questions it asks GitHub.
        await withGitHubBudget(() => command.run(ctx));
      } catch (err) {
        if (err instanceof UsageError) {
          outcome = 'refused';
          detail = err.message;
          await refuse(`${err.message ? `${err.message}\n` : ''}${usage(command)}`);
        } else throw err;
      }
    } catch (err) {
      if (err instanceof Refusal) {
        outcome = 'refused';
        detail = err.message;
        await refuse(refused(err.message)).catch(() => {});
      } else {
        outcome = 'error';
        detail = (err as Error)?.message ?? String(err);
        logger.error({ err, identity, text: message.text }, 'command failed');
        // A lost database (restart, network) gets one plain line, not the driver's message; the pool
        // reconnects on the next query, so asking again once it is back works.
        await reply(failed(isConnectionError(err) ? DATABASE_DOWN : (detail.split('\n')[0] ?? 'unknown error'))).catch(() => {});
      }
    } finally {
      // Queued, not written here: the answer has gone to the adapter; rows are written in batches (AuditQueue).
      await this.audit.add({
        userId: user.id,
        identity,
        room: message.target.room,
        command: commandName || '?',
        text: message.text,
        outcome,
        detail,
        at: this.options.clock.now(),
      });
    }
  }

  deps(adapter: Pick<Adapter, 'send'>): Deps {
    const { config, store, clock, commands } = this.options;
    return { config, store, clock, commands, services: this.services, say: (target: Target, text: string) => adapter.send(target, text) };
  }

  /**
   * Puts the question (through adapter.ask when the network has a better way than text), waits for this user's
   * yes/no in this room, says so when time ran out, and lets the adapter show the outcome on the question.
   */
  private async confirm(adapter: Adapter, message: IncomingMessage, key: string, question: Question): Promise<Answer> {
    const answered = this.wait(key, question.timeoutMs);
    let ref: MessageRef;
    try {
      ref = adapter.ask ? await adapter.ask(message.target, question) : await adapter.send(message.target, question.text);
    } catch (err) {
      if (this.waiters.get(key)) this.waiters.get(key)?.resolve('no');
      throw err;
    }
    const answer = await answered;
    if (answer === 'timeout') {
      await adapter
        .send(message.target, `⌛ no answer within ${formatDuration(question.timeoutMs)} — taken as no`)
        .catch((err) => this.options.logger.warn({ err }, 'could not say that a question timed out'));
    }
    await adapter.settled?.(ref, question, answer).catch((err) => this.options.logger.warn({ err }, 'could not show how a question ended'));
    return answer;
  }

  /** Registers the waiter now (so an answer right after the question finds it) and resolves with the answer. */
  private wait(key: string, timeoutMs: number): Promise<Answer> {
    // One open question per user and room: a newer one replaces the older, which counts as not confirmed.
    this.waiters.get(key)?.resolve('no');
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve: (answer) => {
          clearTimeout(timer);
          if (this.waiters.get(key) === waiter) this.waiters.delete(key);
          resolve(answer);
        },
      };
      const timer = setTimeout(() => waiter.resolve('timeout'), timeoutMs);
      timer.unref?.();
      this.waiters.set(key, waiter);
    });
  }
}
