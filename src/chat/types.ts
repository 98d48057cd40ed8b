/**
 * The words every layer uses for chat, below both the adapters and the domain (bot, deploy, push): who spoke,
 * where a message goes, what a sent message can be found by, and the answers to a yes/no question.
 *
 *   const target: Target = { room: '#deploys' };
 *   const ref: MessageRef = await adapter.send(target, 'deploy #3 started'); // { room, id } to thread under
 */

/** Someone on one chat network. */
export interface ChatIdentity {
  provider: 'shell' | 'irc' | 'slack';
  /** Stable id on that network: Slack user id, IRC account (or nick), shell user name. */
  id: string;
  /** What people call them there: Slack display name, IRC nick, shell user name. */
  handle: string;
}

/** Where a message goes: a channel/DM id, and optionally a thread inside it (Slack thread ts). */
export interface Target {
  room: string;
  thread?: string | undefined;
  /**
   * Who asked, when this is a reply to a message (set by the adapter that delivered it). Lets an adapter
   * answer a long reply privately (IRC: by NOTICE) and keep each asker's output in its own fair queue.
   */
  asker?: string | undefined;
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
  /**
   * False for a channel message that was not addressed to the bot but may answer a question it asked (a plain
   * `yes` on IRC). The bot takes such a message only as an answer, never as a command. Default true.
   */
  addressed?: boolean;
}

/** How a yes/no question ended. */
export type Answer = 'yes' | 'no' | 'timeout';

/** A yes/no question put to one user (see Adapter.ask). */
export interface Question {
  /** The question as the command phrased it. */
  text: string;
  /** Who may answer. */
  user: ChatIdentity;
  /** How long the answer is waited for. */
  timeoutMs: number;
}

/**
 * The answer in a message's text, or null when it is not one: yes/y/no/n in any case, with a trailing `.` or `!`
 * forgiven. (IRC's `!yes` and Slack's `@shepherd yes` arrive here already stripped to `yes`.)
 *
 *   answerOf('Yes') // 'yes';  answerOf('deploy web') // null
 */
export function answerOf(text: string): 'yes' | 'no' | null {
  const word = text
    .trim()
    .toLowerCase()
    .replace(/[.!]+$/, '');
  if (word === 'yes' || word === 'y') return 'yes';
  if (word === 'no' || word === 'n') return 'no';
  return null;
}
