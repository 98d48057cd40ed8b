/**
 * Block Kit for Slack: a deploy card (header, fields, progress bar, what ships, buttons) and buttons under a
 * plain answer. Everything is cut to Slack's documented limits (50 blocks a message, 3000 characters a section
 * text, 2000 a field, 150 a header, 75 a button label, 255 an action_id, 2000 a button value, 3000 a URL), so
 * Slack never answers `invalid_blocks` for our own content. A command button carries its command as its value;
 * the adapter runs it as the user who clicks.
 *
 *   const blocks = cardBlocks(card); // chat.postMessage({ channel, text: card.text, blocks })
 */
import type { types } from '@slack/bolt';
import { type ChatAction, type DeployCard, progressBar } from './rich.js';

export type Blocks = (types.KnownBlock | types.Block)[];

/** Slack's documented Block Kit limits (docs.slack.dev/reference/block-kit). */
export const BLOCK_LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  buttonText: 75,
  actionId: 255,
  buttonValue: 2000,
  buttonUrl: 3000,
  actionsElements: 25,
} as const;

/** action_id prefix of a button that runs a command (value: the command); links get `shepherd_link_`. */
export const COMMAND_ACTION_PREFIX = 'shepherd_cmd_';
export const LINK_ACTION_PREFIX = 'shepherd_link_';

/**
 * Slack mrkdwn needs &, < and > escaped; user mentions made by mention() (<@U…>) stay live. So a `<!channel>`
 * that a user typed and the bot echoes (a lock reason, say) does not ping the whole channel.
 *
 *   escapeText('<@U1> a<b') // '<@U1> a&lt;b'
 */
export function escapeText(text: string): string {
  return text
    .split(/(<@[UW][A-Z0-9]+>)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('');
}

/** Cuts text to `max` characters, marking the cut. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The buttons as one actions block, or nothing when there are none (or none fit). */
export function actionsBlock(actions: readonly ChatAction[]): Blocks {
  const elements: types.Button[] = [];
  actions.slice(0, BLOCK_LIMITS.actionsElements).forEach((a, i) => {
    const text = { type: 'plain_text' as const, text: cut(a.label, BLOCK_LIMITS.buttonText), emoji: true };
    if (a.kind === 'link') {
      if (a.url.length <= BLOCK_LIMITS.buttonUrl) elements.push({ type: 'button', action_id: `${LINK_ACTION_PREFIX}${i}`, text, url: a.url });
      return;
    }
    // A command too long for a button value is left off: the text names it for typing.
    if (a.command.length > BLOCK_LIMITS.buttonValue) return;
    elements.push({ type: 'button', action_id: `${COMMAND_ACTION_PREFIX}${i}`, text, value: a.command, ...(a.style ? { style: a.style } : {}) });
  });
  return elements.length ? [{ type: 'actions', elements }] : [];
}

/** A plain answer with buttons under it: the text as a section (it must fit one), then the buttons. */
export function messageBlocks(text: string, actions: readonly ChatAction[]): Blocks | undefined {
  const escaped = escapeText(text);
  if (escaped.length > BLOCK_LIMITS.sectionText) return undefined;
  const buttons = actionsBlock(actions);
  return buttons.length ? [{ type: 'section', text: { type: 'mrkdwn', text: escaped } }, ...buttons] : undefined;
}

/** The deploy card: header, fields, progress bar, what ships, how it ended, buttons. */
export function cardBlocks(card: DeployCard): Blocks {
  const blocks: Blocks = [{ type: 'header', text: { type: 'plain_text', text: cut(card.title, BLOCK_LIMITS.headerText), emoji: true } }];
  const fields = card.fields.slice(0, BLOCK_LIMITS.sectionFields).map((f) => ({
    type: 'mrkdwn' as const,
    text: cut(`*${escapeText(f.label)}*\n${escapeText(f.value)}`, BLOCK_LIMITS.fieldText),
  }));
  if (fields.length) blocks.push({ type: 'section', fields });
  if (card.progress) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`${progressBar(card.progress)}\`` } });
  if (card.details.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(escapeText(card.details.join('\n')), BLOCK_LIMITS.sectionText) } });
  if (card.outcome) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(escapeText(card.outcome), BLOCK_LIMITS.sectionText) } });
  blocks.push(...actionsBlock(card.actions));
  return blocks.slice(0, BLOCK_LIMITS.blocksPerMessage);
}
