/**
 * The seam between a chat network and the bot. An adapter turns platform events into IncomingMessages that are
 * addressed to the bot (prefix, mention or private message already stripped) and sends text back.
 * Platform quirks (Slack threads, IRC line length and flood limits, mention syntax) stay inside the adapter.
 *
 *   await adapter.start((msg) => bot.handle(adapter, msg));
 *   const ref = await adapter.send({ room: '#deploys' }, 'deploy #3 started');
 */
import type { ChatIdentity } from '../store/users.js';

/** Where a message goes: a channel/DM id, and optionally a thread inside it (Slack thread ts). */
export interface Target {
  room: string;
  thread?: string | undefined;
}

/** What send() returns: enough to reply in a thread under that message later. */
export interface MessageRef extends Target {
  id?: string | undefined;
}

export interface IncomingMessage {
  /** The command text meant for the bot, e.g. 'deploy web to staging'. */
  text: string;
  user: ChatIdentity;
  /** Where to reply. For a message in a Slack thread, thread is set. */
  target: Target;
  /** A direct/private message rather than a channel. */
  direct: boolean;
}

export type MessageHandler = (message: IncomingMessage) => Promise<void>;

export interface Adapter {
  /** 'shell' | 'irc' | 'slack': also the provider of the identities it reports. */
  readonly name: ChatIdentity['provider'];
  start(onMessage: MessageHandler): Promise<void>;
  send(target: Target, text: string): Promise<MessageRef>;
  stop(): Promise<void>;
  /** How to mention someone on this network so they get notified. */
  mention(identity: { externalId: string; handle: string }): string;
  /** False while the connection to the chat is down (for /readyz); absent means always connected (the shell). */
  readonly ready?: boolean;
}
