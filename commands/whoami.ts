import { defineCommand } from '../src/command.js';
import { roleList, stars } from '../src/format.js';

export default defineCommand({
  name: 'whoami',
  summary: 'show your identity, linked GitHub login, roles and karma',
  usage: ['whoami'],
  examples: ['whoami'],
  roles: 'anyone',
  async run(ctx) {
    const { user } = ctx;
    const identities = user.identities.map((i) => `${i.provider}:${i.externalId}${i.handle !== i.externalId ? ` (${i.handle})` : ''}`).join(', ');
    const github = user.githubLogin ? `GitHub: ${user.githubLogin}` : 'GitHub: not linked — `iam github <login>`';
    const karma = await ctx.deps.store.karma.stars(user.id);
    await ctx.reply(`you are ${identities}; ${github}; roles: ${roleList(ctx.roles)}; karma ${stars(karma)}`);
  },
});
