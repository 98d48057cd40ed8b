/**
 * The one door chat text leaves through: every adapter the bot runs is wrapped here, so bot replies (a user's
 * own message quoted back included), deploy messages, push reminders and anything added later are masked
 * before they reach Slack, IRC or the terminal. Everything but the text-carrying methods (`send`, `ask`, `settled`, `postCard`, `updateCard`) is the adapter's own.
 *
 *   const slack = maskChat(new SlackAdapter(env, logger), (t) => masker.text(t));
 */
import type { ChatAction, DeployCard, SendOptions } from '../chat/rich.js';
import type { MessageRef } from '../chat/types.js';
import type { MaskText } from '../deploy/mask.js';
import type { Adapter } from './adapter.js';

export function maskChat<A extends Adapter>(adapter: A, mask: MaskText): A {
  const send: Adapter['send'] = (target, text, options) => adapter.send(target, mask(text), options && maskOptions(options, mask));
  // A yes/no question (Slack: with buttons) is chat text too.
  const ask: Adapter['ask'] =
    adapter.ask &&
    ((target, question) => adapter.ask?.call(adapter, target, { ...question, text: mask(question.text) }) as ReturnType<NonNullable<Adapter['ask']>>);
  const settled: Adapter['settled'] =
    adapter.settled && ((ref, question, answer) => adapter.settled?.call(adapter, ref, { ...question, text: mask(question.text) }, answer) as Promise<void>);
  // A deploy card is chat text too, every word of it.
  const postCard: Adapter['postCard'] =
    adapter.postCard && ((target, card) => adapter.postCard?.call(adapter, target, maskCard(card, mask)) as Promise<MessageRef>);
  const updateCard: Adapter['updateCard'] =
    adapter.updateCard && ((ref, card) => adapter.updateCard?.call(adapter, ref, maskCard(card, mask)) as Promise<void>);
  const replaced: Record<string | symbol, unknown> = { send, ask, settled, postCard, updateCard };
  // A Proxy rather than a copy: methods and fields an adapter has beyond Adapter stay as they are, and a method
  // called on the wrapper gets the wrapper as `this`, so its own sends are masked too. Only the text-carrying methods are replaced.
  return new Proxy(adapter, {
    get: (target, key, receiver) => (key in replaced ? replaced[key] : Reflect.get(target, key, receiver)),
  });
}

/** Button labels and links are masked; a button's command is left alone (it is run, not shown). */
function maskActions(actions: ChatAction[], mask: MaskText): ChatAction[] {
  return actions.map((a) => (a.kind === 'link' ? { ...a, label: mask(a.label), url: mask(a.url) } : { ...a, label: mask(a.label) }));
}

function maskOptions(options: SendOptions, mask: MaskText): SendOptions {
  return options.actions ? { ...options, actions: maskActions(options.actions, mask) } : options;
}

function maskCard(card: DeployCard, mask: MaskText): DeployCard {
  return {
    ...card,
    title: mask(card.title),
    fields: card.fields.map((f) => ({ label: mask(f.label), value: mask(f.value) })),
    details: card.details.map(mask),
    outcome: card.outcome === null ? null : mask(card.outcome),
    actions: maskActions(card.actions, mask),
    text: mask(card.text),
  };
}
