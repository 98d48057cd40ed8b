/**
 * The one door chat text leaves through: every adapter the bot runs is wrapped here, so bot replies (a user's
 * own message quoted back included), deploy messages, push reminders and anything added later are masked
 * before they reach Slack, IRC or the terminal. Everything but `send`, `ask` and `settled` is the adapter's own.
 *
 *   const slack = maskChat(new SlackAdapter(env, logger), (t) => masker.text(t));
 */
import type { MaskText } from '../deploy/mask.js';
import type { Adapter } from './adapter.js';

export function maskChat<A extends Adapter>(adapter: A, mask: MaskText): A {
  const send: Adapter['send'] = (target, text) => adapter.send(target, mask(text));
  // A yes/no question (Slack: with buttons) is chat text too.
  const ask: Adapter['ask'] =
    adapter.ask &&
    ((target, question) => adapter.ask?.call(adapter, target, { ...question, text: mask(question.text) }) as ReturnType<NonNullable<Adapter['ask']>>);
  const settled: Adapter['settled'] =
    adapter.settled && ((ref, question, answer) => adapter.settled?.call(adapter, ref, { ...question, text: mask(question.text) }, answer) as Promise<void>);
  // A Proxy rather than a copy: methods and fields an adapter has beyond Adapter stay as they are, and a method
  // called on the wrapper gets the wrapper as `this`, so its own sends are masked too. Only the text-carrying methods are replaced.
  return new Proxy(adapter, {
    get: (target, key, receiver) => (key === 'send' ? send : key === 'ask' ? ask : key === 'settled' ? settled : Reflect.get(target, key, receiver)),
  });
}
