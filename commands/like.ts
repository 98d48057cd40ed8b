import { defineCommand } from '../src/command.js';
import { resolveUser } from '../src/targets.js';
import { changeKarma, reasonAfterFirstArg } from './support/karma.js';

export default defineCommand({
  name: 'like',
  summary: 'give a developer a star of push karma (max 5)',
  usage: ['like @user [reason]'],
  examples: ['like @bob stayed late for the push'],
  roles: ['release_manager'],
  async run(ctx) {
    await changeKarma(ctx, 'like', await resolveUser(ctx, ctx.args[0]), reasonAfterFirstArg(ctx));
  },
});
