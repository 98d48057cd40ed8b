/**
 * The seam between a chat network and the bot. An adapter turns platform events into IncomingMessages that are
 * addressed to the bot (prefix, mention or private message already stripped) and sends text back.
 * Platform quirks (Slack threads and buttons, IRC line length and flood limits, mention syntax) stay inside the
 * adapter. The chat words themselves (Target, MessageRef, IncomingMessage) live in src/chat/types.ts.
 *
 *   await adapter.start((msg) => bot.handle(adapter, msg));
 *   const ref = await adapter.send({ room: '#deploys' }, 'deploy #3 started');
 */
import type { DeployCard, SendOptions } from '../chat/rich.js';
import type { Answer, ChatIdentity, IncomingMessage, MessageRef, Question, Target } from '../chat/types.js';

// Re-exported so modules written before the chat types moved keep compiling; new code imports ../chat/types.js.
export type { IncomingMessage, MessageRef, Target } from '../chat/types.js';

export type MessageHandler = (message: IncomingMessage) => Promise<void>;

export interface Adapter {
  /** 'shell' | 'irc' | 'slack': also the provider of the identities it reports. */
  readonly name: ChatIdentity['provider'];
  start(onMessage: MessageHandler): Promise<void>;
  /** `options`: personal answers and buttons (src/chat/rich.ts), for networks that can show them. */
  send(target: Target, text: string, options?: SendOptions): Promise<MessageRef>;
  stop(): Promise<void>;
  /** How to mention someone on this network so they get notified. */
  mention(identity: { externalId: string; handle: string }): string;
  /**
   * Optional: puts a yes/no question to question.user the way this network does it best (Slack: buttons; the
   * terminal: keeps reading lines while the command waits). The answer comes back as an IncomingMessage with
   * text `yes` or `no` from that user in that room. Without it the bot sends the question as text.
   */
  ask?(target: Target, question: Question): Promise<MessageRef>;
  /** Optional: shows on the question's message how it ended (Slack: the buttons give way to the outcome). */
  settled?(ref: MessageRef, question: Question, answer: Answer): Promise<void>;
  /**
   * Optional: a deploy as one message updated in place (Slack: Block Kit and chat.update; the terminal: one line
   * rewritten when stdout is a TTY). Without it the deploy messages are plain text.
   */
  postCard?(target: Target, card: DeployCard): Promise<MessageRef>;
  updateCard?(ref: MessageRef, card: DeployCard): Promise<void>;
  /** False while the connection to the chat is down (for /readyz); absent means always connected (the shell). */
  readonly ready?: boolean;
}
