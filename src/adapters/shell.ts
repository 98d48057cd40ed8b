/**
 * The terminal chat (like Hubot's shell adapter): one line in, the bot's replies out. Works at an interactive
 * prompt and with piped input, and stops at end of input once the work it started is done.
 * `/as <name> <command>` speaks as someone else, so one terminal can play a whole team.
 *
 * Order rule: a line runs once the commands before it have finished, except a command that is waiting for a
 * yes/no answer: that one does not hold the lines after it, so the next line can answer it (`yes`) or run as a
 * command of its own. Once answered, it holds the lines after it again until it finishes. So
 * `printf 'deploy demo to production\nyes\ndeploys\n'` deploys, and `deploys` lists it.
 *
 * Deploy progress: when stdout is a terminal, a deploy's progress is one line rewritten in place (`\r`, clear line)
 * under its start message; when stdout is a pipe or a file, nothing but plain lines is written (the chat sink's
 * text messages, as on IRC).
 *
 *   printf 'help\nkarma\n' | npm start
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { userInfo } from 'node:os';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { type DeployCard, progressBar } from '../chat/rich.js';
import type { MessageRef, Question, Target } from '../chat/types.js';
import type { Adapter, MessageHandler } from './adapter.js';

export const SHELL_ROOM = 'shell';

export interface ShellOptions {
  input?: Readable;
  output?: Writable;
  /** Who types at this terminal; default the OS user. */
  user?: string;
  /** Whether output is a terminal (default: output.isTTY); decides between a progress line and plain lines. */
  tty?: boolean;
  /** Called once input has ended and every command it started (with its questions) has finished. */
  onEnd?: () => void;
}

/** One line being handled: done when the bot has finished with it; asking while it waits for an answer. */
interface Running {
  done: Promise<void>;
  asking: boolean;
}

export class ShellAdapter implements Adapter {
  readonly name = 'shell' as const;
  private rl: Interface | undefined;
  private readonly input: Readable;
  private readonly output: Writable;
  private readonly user: string;
  private readonly interactive: boolean;
  private readonly pending: string[] = [];
  private readonly running = new Set<Running>();
  /** Which line's handling an ask() or settled() call belongs to. */
  private readonly current = new AsyncLocalStorage<Running>();
  /** Wakes the line loop: a new line, the end of input, a command finished or started/stopped asking. */
  private wake: (() => void) | undefined;
  private ended = false;
  private idle: Promise<void> = Promise.resolve();
  private counter = 0;
  /** The progress line being rewritten at the bottom of a terminal, if any (cleared before other output). */
  private openLine: string | undefined;
  /** Only on a terminal: the deploy messages then use cards, whose progress is the one updating line. */
  readonly postCard?: (target: Target, card: DeployCard) => Promise<MessageRef>;
  readonly updateCard?: (ref: MessageRef, card: DeployCard) => Promise<void>;

  constructor(private readonly options: ShellOptions = {}) {
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    this.user = options.user ?? safeUserName();
    this.interactive = Boolean((this.input as { isTTY?: boolean }).isTTY);
    if (options.tty ?? Boolean((this.output as { isTTY?: boolean }).isTTY)) {
      this.postCard = (target, card) => this.showCard(target, card);
      this.updateCard = async (_ref, card) => this.drawProgress(card);
    }
  }

  async start(onMessage: MessageHandler): Promise<void> {
    this.rl = createInterface({ input: this.input, output: this.interactive ? this.output : undefined, terminal: this.interactive });
    if (this.interactive) {
      this.output.write(`Shepherd is listening. You are ${this.user}. Type \`help\` (Ctrl-D to quit).\n`);
      this.rl.setPrompt('shepherd> ');
      this.rl.prompt();
    }
    this.rl.on('line', (line) => {
      this.pending.push(line);
      this.poke();
    });
    this.rl.on('close', () => {
      this.ended = true;
      this.poke();
    });
    this.idle = this.loop(onMessage);
    void this.idle.then(() => this.options.onEnd?.());
  }

  async send(target: Target, text: string): Promise<MessageRef> {
    const id = String(++this.counter);
    const indent = target.thread ? '  ↳ ' : '';
    const body = text
      .split('\n')
      .map((l) => `${indent}${l}`)
      .join('\n');
    // A progress line at the bottom gives way to the message and is drawn again under it.
    this.output.write(`${this.clearOpenLine()}${body}\n`);
    if (this.openLine !== undefined) this.output.write(this.interactive ? `${this.openLine}\n` : this.openLine);
    if (this.interactive) this.rl?.prompt(true);
    return { room: target.room, thread: target.thread, id };
  }

  /** The start message as text, then its progress as one line that later updates rewrite. */
  private async showCard(target: Target, card: DeployCard): Promise<MessageRef> {
    const bar = card.progress ? progressBar(card.progress) : undefined;
    const ref = await this.send(
      target,
      card.text
        .split('\n')
        .filter((l) => l !== bar && l !== card.outcome)
        .join('\n'),
    );
    this.drawProgress(card);
    return ref;
  }

  /**
   * Rewrites the progress line in place (the latest deploy's, named by its id); once the deploy has ended the
   * line stays as it is. With piped input the cursor waits at the end of that line; at an interactive prompt the
   * line sits just above the prompt, which is drawn again under it.
   */
  private drawProgress(card: DeployCard): void {
    if (!card.progress) return;
    const line = `  ↳ #${card.deployId} ${progressBar(card.progress)}`;
    const clear = this.clearOpenLine();
    if (card.outcome) {
      if (this.openLine === undefined) return;
      this.openLine = undefined;
      this.output.write(`${clear}${line}\n`);
    } else {
      this.openLine = line;
      this.output.write(this.interactive ? `${clear}${line}\n` : `${clear}${line}`);
    }
    if (this.interactive) this.rl?.prompt(true);
  }

  /** What erases the open progress line (and at a prompt, the prompt line under it) before writing. */
  private clearOpenLine(): string {
    if (this.openLine === undefined) return this.interactive ? '\r\x1b[K' : '';
    return this.interactive ? '\r\x1b[K\x1b[1A\r\x1b[K' : '\r\x1b[K';
  }

  /** Prints the question and lets the next lines through while the command waits for its answer. */
  async ask(target: Target, question: Question): Promise<MessageRef> {
    const ref = await this.send(target, `${question.text}\n(type \`yes\` or \`no\`)`);
    this.setAsking(true);
    return ref;
  }

  async settled(): Promise<void> {
    this.setAsking(false);
  }

  async stop(): Promise<void> {
    this.rl?.close();
  }

  mention(identity: { handle: string }): string {
    return `@${identity.handle}`;
  }

  /** Resolves once input has ended and everything it started has finished. */
  drained(): Promise<void> {
    return this.idle;
  }

  private setAsking(asking: boolean): void {
    const running = this.current.getStore();
    if (!running) return;
    running.asking = asking;
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** Hands lines to the bot by the order rule above; ends when input has ended and nothing is running. */
  private async loop(onMessage: MessageHandler): Promise<void> {
    for (;;) {
      // Let an answered question's command say it is no longer asking before deciding whether it holds us:
      // the answer resolves it a few promise steps later (setImmediate runs after those, it is not a timer).
      await new Promise((resolve) => setImmediate(resolve));
      const holding = [...this.running].some((r) => !r.asking);
      if (!holding && this.pending.length > 0) {
        this.run(this.pending.shift() as string, onMessage);
        continue;
      }
      if (this.ended && this.pending.length === 0 && this.running.size === 0) return;
      await this.nextChange();
    }
  }

  private run(line: string, onMessage: MessageHandler): void {
    const text = line.trim();
    if (!text) {
      if (this.interactive) this.rl?.prompt();
      return;
    }
    const as = /^\/as\s+@?([^\s]+)\s+(.+)$/.exec(text);
    const name = as ? (as[1] as string) : this.user;
    const running: Running = { done: Promise.resolve(), asking: false };
    this.running.add(running);
    running.done = this.current.run(running, async () => {
      try {
        await onMessage({
          text: as ? (as[2] as string) : text,
          user: { provider: 'shell', id: name, handle: name },
          target: { room: SHELL_ROOM },
          direct: true,
        });
      } catch {
        // bot.handle never throws; a failing handler must still not stop the terminal.
      } finally {
        this.running.delete(running);
        if (this.interactive) this.rl?.prompt();
        this.poke();
      }
    });
  }
}

function safeUserName(): string {
  try {
    return userInfo().username || 'me';
  } catch {
    return process.env.USER || 'me';
  }
}
