/**
 * The terminal chat (like Hubot's shell adapter): one line in, the bot's replies out. Works at an interactive
 * prompt and with piped input, handling lines one at a time in order and stopping at end of input.
 * `/as <name> <command>` speaks as someone else, so one terminal can play a whole team.
 *
 *   printf 'help\nkarma\n' | npm start
 */
import { userInfo } from 'node:os';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Adapter, MessageHandler, MessageRef, Target } from './adapter.js';

export const SHELL_ROOM = 'shell';

export interface ShellOptions {
  input?: Readable;
  output?: Writable;
  /** Who types at this terminal; default the OS user. */
  user?: string;
  /** Called once input has ended and every line was handled. */
  onEnd?: () => void;
}

export class ShellAdapter implements Adapter {
  readonly name = 'shell' as const;
  private rl: Interface | undefined;
  private readonly input: Readable;
  private readonly output: Writable;
  private readonly user: string;
  private readonly interactive: boolean;
  private idle: Promise<void> = Promise.resolve();
  private counter = 0;

  constructor(private readonly options: ShellOptions = {}) {
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    this.user = options.user ?? safeUserName();
    this.interactive = Boolean((this.input as { isTTY?: boolean }).isTTY);
  }

  async start(onMessage: MessageHandler): Promise<void> {
    this.rl = createInterface({ input: this.input, output: this.interactive ? this.output : undefined, terminal: this.interactive });
    if (this.interactive) {
      this.output.write(`Shepherd is listening. You are ${this.user}. Type \`help\` (Ctrl-D to quit).\n`);
      this.rl.setPrompt('shepherd> ');
      this.rl.prompt();
    }
    this.rl.on('line', (line) => {
      // Lines are handled strictly one after another so piped scripts get answers in order.
      this.idle = this.idle.then(async () => {
        const text = line.trim();
        if (text) {
          const as = /^\/as\s+@?([^\s]+)\s+(.+)$/.exec(text);
          const name = as ? (as[1] as string) : this.user;
          await onMessage({
            text: as ? (as[2] as string) : text,
            user: { provider: 'shell', id: name, handle: name },
            target: { room: SHELL_ROOM },
            direct: true,
          });
        }
        if (this.interactive) this.rl?.prompt();
      });
    });
    this.rl.on('close', () => {
      void this.idle.then(() => this.options.onEnd?.());
    });
  }

  async send(target: Target, text: string): Promise<MessageRef> {
    const id = String(++this.counter);
    const indent = target.thread ? '  ↳ ' : '';
    const body = text
      .split('\n')
      .map((l) => `${indent}${l}`)
      .join('\n');
    if (this.interactive) this.output.write(`\r\x1b[K${body}\n`);
    else this.output.write(`${body}\n`);
    if (this.interactive) this.rl?.prompt(true);
    return { room: target.room, thread: target.thread, id };
  }

  async stop(): Promise<void> {
    this.rl?.close();
  }

  mention(identity: { handle: string }): string {
    return `@${identity.handle}`;
  }

  /** Resolves once every line received so far has been handled. */
  drained(): Promise<void> {
    return this.idle;
  }
}

function safeUserName(): string {
  try {
    return userInfo().username || 'me';
  } catch {
    return process.env.USER || 'me';
  }
}
