/**
 * An in-memory adapter for command tests: `say(user, text)` delivers a message through the real Bot (wired by
 * start(), as main.ts wires every adapter) and returns the replies it produced.
 *
 *   const chat = new FakeAdapter('irc');
 *   await chat.start((msg) => bot.handle(chat, msg));
 *   expect(await chat.say('alice', 'karma')).toMatch(/4\/5/);
 */
import type { Adapter, MessageHandler } from '../../src/adapters/adapter.js';
import type { IncomingMessage, MessageRef, Target } from '../../src/chat/types.js';

export interface Sent {
  target: Target;
  text: string;
}

export class FakeAdapter implements Adapter {
  readonly name: 'shell' | 'irc' | 'slack';
  readonly sent: Sent[] = [];
  private counter = 0;
  private onMessage: MessageHandler | undefined;

  constructor(
    name: 'shell' | 'irc' | 'slack' = 'irc',
    readonly room = '#deploys',
  ) {
    this.name = name;
  }

  async start(onMessage: MessageHandler): Promise<void> {
    this.onMessage = onMessage;
  }
  async stop(): Promise<void> {}

  async send(target: Target, text: string): Promise<MessageRef> {
    this.sent.push({ target, text });
    return { ...target, id: String(++this.counter) };
  }

  mention(identity: { handle: string }): string {
    return `@${identity.handle}`;
  }

  /** Sends `text` as `user` and returns everything the bot sent while handling it, joined by newlines. */
  async say(user: string, text: string, options: Partial<IncomingMessage> = {}): Promise<string> {
    const before = this.sent.length;
    if (!this.onMessage) throw new Error('FakeAdapter: start() it with the bot before say()');
    await this.onMessage({
      text,
      user: { provider: this.name, id: user, handle: user },
      target: { room: this.room },
      direct: false,
      ...options,
    });
    return this.sent
      .slice(before)
      .map((s) => s.text)
      .join('\n');
  }
}
