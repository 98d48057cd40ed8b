/**
 * Message in → parse → who is it → find the command → role check → run → replies, plus an audit row.
 * Knows no platform: an Adapter delivers IncomingMessages and sends text.
 *
 *   const bot = new Bot({ commands, config, store, clock, logger, services: createServices({ deployer }) });
 *   await adapter.start((msg) => bot.handle(adapter, msg));
 */
import { randomUUID } from 'node:crypto';
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
import type { AnswerResult } from './store/chat-questions.js';
import type { Store } from './store/index.js';
import type { Notifier } from './store/notify.js';

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
  /**
   * Several instances: wakes the instance that asked a question when another one recorded its answer (topic
   * `question`); when it reaches other processes, open questions are also polled every questionPollMs (default 2 s).
   */
  notifier?: Notifier;
  /** This instance's name on the questions it asks (default: the notifier's origin). */
  instanceId?: string;
  questionPollMs?: number;
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

/** Poll for answers recorded by other instances, in case a wake-up was lost. */
const QUESTION_POLL_MS = 2_000;

/**
 * A question waiting for its answer in this process; resolve() settles the promise (once). `stored`: the question
 * is in the database, which then decides how it ended (answers may arrive on any instance).
 */
interface Waiter {
  id: string;
  stored: boolean;
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
  private readonly instanceId: string;
  private readonly unlisten: (() => void)[] = [];
  private poll: NodeJS.Timeout | undefined;

  constructor(private readonly options: BotOptions) {
    this.registry = buildRegistry(options.commands);
    this.services = options.services ?? createServices();
    this.confirmTimeoutMs = options.confirmTimeoutMs ?? CONFIRM_TIMEOUT_MS;
    this.audit = new AuditQueue(options.store.audit, options.logger);
    this.instanceId = options.instanceId ?? options.notifier?.origin ?? randomUUID();
    const notifier = options.notifier;
    if (notifier) {
      this.unlisten.push(
        notifier.listen('question', ({ data }) => {
          if (typeof data.id === 'string' && this.waiterOf(data.id)) void this.lookAgain([data.id]);
        }),
        notifier.onReconnect(() => void this.lookAgain()),
      );
    }
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
    for (const off of this.unlisten.splice(0)) off();
    for (const waiter of [...this.waiters.values()]) {
      // Closed in the database too, so that a later answer on another instance is told the question is gone.
      if (waiter.stored) await this.options.store.questions.settle(waiter.id, 'no', this.instanceId).catch(() => null);
      waiter.resolve('no');
    }
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
    const taken = answer ? await this.takeAnswer(identity, message.target.room, waitKey, answer) : null;
    if (taken === 'taken') return;
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
        if (taken?.kind === 'expired') {
          detail = 'question expired';
          await refuse(
            `there is no question waiting for your \`${answer}\` here: it expired after ${formatDuration(taken.waitedMs)} without an answer and was taken as no — run the command again to be asked again`,
          );
        } else {
          detail = 'no question pending';
          await refuse(`there is no question waiting for your \`${answer}\` here — \`help\` lists the commands`);
        }
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
    const id = randomUUID();
    const stored = await this.record(message, id, question);
    const answered = this.wait(key, id, stored, question.timeoutMs);
    let ref: MessageRef;
    try {
      ref = adapter.ask ? await adapter.ask(message.target, question) : await adapter.send(message.target, question.text);
    } catch (err) {
      const waiter = this.waiterOf(id);
      if (waiter) {
        if (stored) await this.options.store.questions.settle(id, 'no', this.instanceId).catch(() => null);
        waiter.resolve('no');
      }
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

  /**
   * Records the question in the database before it is put, so that an answer arriving on any instance finds it;
   * older open questions of this user here end as `no` (their instances are woken). False when the database
   * could not take it: the question then lives in this process only, as on a single instance.
   */
  private async record(message: IncomingMessage, id: string, question: Question): Promise<boolean> {
    const now = new Date();
    try {
      const replaced = await this.options.store.questions.ask({
        id,
        asker: `${message.user.provider}:${message.user.id}`,
        room: message.target.room,
        thread: message.target.thread,
        question: question.text,
        instance: this.instanceId,
        askedAt: now,
        expiresAt: new Date(now.getTime() + question.timeoutMs),
      });
      for (const r of replaced) if (r.instance !== this.instanceId) await this.options.notifier?.notify('question', { id: r.id });
      return true;
    } catch (err) {
      this.options.logger.warn({ err }, 'could not record a question; only an answer reaching this instance counts');
      return false;
    }
  }

  /**
   * A yes/no from a user: recorded on their open question here (on whichever instance asked it; the first answer
   * wins) and the asker woken. 'taken' when it answered a question; otherwise why not (none, or expired).
   */
  private async takeAnswer(identity: string, room: string, key: string, answer: 'yes' | 'no'): Promise<'taken' | AnswerResult> {
    const waiter = this.waiters.get(key);
    if (waiter && !waiter.stored) {
      waiter.resolve(answer);
      return 'taken';
    }
    let result: AnswerResult;
    try {
      result = await this.options.store.questions.answer(identity, room, answer, this.instanceId);
    } catch (err) {
      this.options.logger.warn({ err }, 'could not record an answer');
      if (!waiter) return { kind: 'none' };
      waiter.resolve(answer);
      return 'taken';
    }
    if (result.kind !== 'recorded') return result;
    const mine = this.waiterOf(result.id);
    if (mine) mine.resolve(answer);
    else await this.options.notifier?.notify('question', { id: result.id });
    return 'taken';
  }

  private waiterOf(id: string): Waiter | undefined {
    for (const w of this.waiters.values()) if (w.id === id) return w;
    return undefined;
  }

  /** Settles the waiters (all, or those ids) whose questions ended in the database (answered on another instance). */
  private async lookAgain(ids = [...this.waiters.values()].filter((w) => w.stored).map((w) => w.id)): Promise<void> {
    let answers: Map<string, Answer>;
    try {
      answers = await this.options.store.questions.answered(ids);
    } catch (err) {
      this.options.logger.debug({ err }, 'could not look for answers; trying again at the next poll');
      return;
    }
    for (const [id, answer] of answers) this.waiterOf(id)?.resolve(answer);
  }

  /** Registers the waiter now (so an answer right after the question finds it) and resolves with the answer. */
  private wait(key: string, id: string, stored: boolean, timeoutMs: number): Promise<Answer> {
    // One open question per user and room: a newer one replaces the older, which counts as not confirmed (in the
    // database, record() closed it already).
    this.waiters.get(key)?.resolve('no');
    const promise = new Promise<Answer>((resolve) => {
      const waiter: Waiter = {
        id,
        stored,
        resolve: (answer) => {
          clearTimeout(timer);
          if (this.waiters.get(key) === waiter) this.waiters.delete(key);
          if (this.waiters.size === 0 && this.poll) {
            clearInterval(this.poll);
            this.poll = undefined;
          }
          resolve(answer);
        },
      };
      // At the deadline the database decides: an answer another instance recorded just before still counts.
      const timer = setTimeout(() => {
        if (!stored) return waiter.resolve('timeout');
        void this.options.store.questions.settle(id, 'timeout', this.instanceId).then(
          (final) => waiter.resolve(final ?? 'timeout'),
          () => waiter.resolve('timeout'),
        );
      }, timeoutMs);
      timer.unref?.();
      this.waiters.set(key, waiter);
    });
    // Other processes may record answers: look now and then, in case a wake-up was lost.
    if (stored && this.options.notifier?.crossProcess && !this.poll) {
      this.poll = setInterval(() => void this.lookAgain(), this.options.questionPollMs ?? QUESTION_POLL_MS);
      this.poll.unref();
    }
    return promise;
  }
}
