import { defineCommand, Refusal, UsageError } from '../src/command.js';
import { who } from '../src/format.js';

const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

export default defineCommand({
  name: 'iam',
  summary: 'link your chat identity to your GitHub login',
  usage: ['iam github <login>'],
  examples: ['iam github octocat'],
  roles: 'anyone',
  async run(ctx) {
    const [service, login] = ctx.args;
    if (service?.toLowerCase() !== 'github' || !login || ctx.args.length > 2) throw new UsageError('');
    if (!GITHUB_LOGIN.test(login)) throw new Refusal(`"${login}" is not a GitHub login (letters, digits and single hyphens, at most 39)`);
    const result = await ctx.deps.store.users.linkGithub(ctx.user.id, login);
    if (!result.ok) {
      throw new Refusal(`GitHub login ${login} is already linked to ${who(result.holder, ctx.provider)} — if that is wrong, ask a release manager`);
    }
    await ctx.reply(`ok, you are ${login.toLowerCase()} on GitHub`);
  },
});
