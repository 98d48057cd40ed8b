import { defineCommand } from '../src/command.js';
import { resolveUser } from '../src/targets.js';
import { changeKarma, reasonAfterFirstArg } from './support/karma.js';

export default defineCommand({
  name: 'unlike',
  summary: 'take a star of push karma from a developer (min 1; at 2 or less their picks are refused)',
  usage: ['unlike @user [reason]'],
  examples: ['unlike @bob pick broke the build', 'unlike bob'],
  roles: ['release_manager'],
  async run(ctx) {
    await changeKarma(ctx, 'unlike', await resolveUser(ctx, ctx.args[0]), reasonAfterFirstArg(ctx));
  },
});
