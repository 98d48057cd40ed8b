import { defineCommand, Refusal } from '../src/command.js';
import { activeFreeze } from '../src/policy/freeze-window.js';
import { frozenText } from '../src/policy/freeze.js';
import { freezeEnvironment } from './freeze.js';

export default defineCommand({
  name: 'unfreeze',
  summary: 'lift a freeze set with `freeze`',
  usage: ['unfreeze <env>'],
  examples: ['unfreeze production'],
  roles: ['release_manager'],
  async run(ctx) {
    const { store, clock, config } = ctx.deps;
    const environment = freezeEnvironment(ctx, ctx.args[0]);
    const now = clock.now();
    const ended = await store.freezes.end(environment, ctx.user.id, now);
    // A freeze from shepherd.yml is not lifted from chat: say so, whether or not a chat freeze was ended.
    const configured = activeFreeze({ freezes: config.freezes, stored: [], environment, now, timezone: config.timezone });
    const still = configured
      ? `${frozenText(environment, configured, now, config.timezone)} (shepherd.yml) — a release manager can deploy through it with --force`
      : null;
    if (!ended) throw new Refusal(still ?? `${environment} is not frozen`);
    await ctx.reply(still ? `🌤 lifted the freeze "${ended.reason}", but ${still}` : `🌤 ${environment} is no longer frozen ("${ended.reason}" lifted)`);
  },
});
