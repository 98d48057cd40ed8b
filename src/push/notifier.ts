/**
 * How the push talks when no command is running (reminders, deferrals from the timer): to a room on a given
 * network, mentioning people the way that network notifies them.
 *
 *   const notifier = adapterNotifier(adapters);
 *   await notifier.say('irc', { room: '#deploys' }, `${notifier.mention('irc', alice)}: say \`here\``);
 */
import type { Adapter } from '../adapters/adapter.js';
import type { Target } from '../chat/types.js';
import type { Person } from '../store/push.js';

export interface Notifier {
  say(provider: string, target: Target, text: string): Promise<void>;
  mention(provider: string, user: Pick<Person, 'name' | 'identities'>): string;
}

/** A Notifier over the running adapters; a provider that is not running (any more) is skipped. */
export function adapterNotifier(adapters: readonly Adapter[]): Notifier {
  const byName = (provider: string) => adapters.find((a) => a.name === provider);
  return {
    async say(provider, target, text) {
      await byName(provider)?.send(target, text);
    },
    mention(provider, user) {
      const identity = user.identities.find((i) => i.provider === provider);
      const adapter = byName(provider);
      return identity && adapter ? adapter.mention(identity) : (user.identities[0]?.handle ?? user.name);
    },
  };
}
