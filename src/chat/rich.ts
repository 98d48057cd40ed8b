/**
 * What a message can carry beyond its text, for networks that show more (Slack: ephemeral answers, buttons, a
 * deploy card updated in place). Every such message still has its text, which says the same in words, so a
 * network without these (IRC, the terminal) loses nothing by ignoring them.
 *
 *   await adapter.send(target, '⏳ #12 waits for approval: `approve deploy 12`', {
 *     actions: [{ kind: 'command', label: 'Approve', command: 'approve deploy 12', style: 'primary' }],
 *   });
 */
import type { MessageRef, Target } from './types.js';

/** A button under a message: a link, or a chat command run as the user who clicks it (same roles and gates). */
export type ChatAction =
  | { kind: 'link'; label: string; url: string }
  | { kind: 'command'; label: string; command: string; style?: 'primary' | 'danger' | undefined };

export interface SendOptions {
  /**
   * Only the asker needs this answer (their own karma, whoami, help, a refusal): where the network can, it is
   * shown to them alone (Slack: an ephemeral reply to a slash command or a button click).
   */
  personal?: boolean | undefined;
  /** Buttons under the message. The text must name the same commands for networks without buttons. */
  actions?: ChatAction[] | undefined;
}

/** Hosts done out of all, and how many of those failed. */
export interface Progress {
  done: number;
  total: number;
  failed: number;
}

/**
 * A deploy as one message that changes while it runs (Slack: Block Kit, updated with chat.update; the terminal:
 * one line rewritten in place). `text` is the whole card in words: for notifications, and the fallback when a
 * network refuses the rich form.
 */
export interface DeployCard {
  deployId: number;
  /** '🚀 #12 deploying web/main (3f78685) → production'. */
  title: string;
  /** App, ref, environment, hosts, requester, environment URL. */
  fields: { label: string; value: string }[];
  /** What ships and notes, one line each. */
  details: string[];
  progress: Progress | null;
  /** How it ended, once it has ('✅ succeeded in 42s'). */
  outcome: string | null;
  actions: ChatAction[];
  text: string;
}

/** How the deploy messages reach a network that can show a DeployCard (see Adapter.postCard). */
export interface CardChannel {
  postCard(target: Target, card: DeployCard): Promise<MessageRef>;
  /** Shows the newer card on the message; updates that pile up are merged into the latest. */
  updateCard(ref: MessageRef, card: DeployCard): Promise<void>;
}

/**
 * '▓▓▓░░ 3/5 hosts' (', 1 failed' when some did): one cell per host up to ten, then scaled.
 *
 *   progressBar({ done: 3, total: 5, failed: 0 }) // '▓▓▓░░ 3/5 hosts'
 */
export function progressBar(p: Progress): string {
  const width = Math.max(1, Math.min(p.total, 10));
  const filled = p.total > 0 ? Math.min(width, Math.round((p.done / p.total) * width)) : 0;
  const failed = p.failed ? `, ${p.failed} failed` : '';
  return `${'▓'.repeat(filled)}${'░'.repeat(width - filled)} ${p.done}/${p.total} host${p.total === 1 ? '' : 's'}${failed}`;
}
