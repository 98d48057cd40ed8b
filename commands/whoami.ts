import { defineCommand } from '../src/command.js';
import { roleList, stars } from '../src/format.js';
import { howToGetRoles } from './support/identity.js';

export default defineCommand({
  name: 'whoami',
  summary: 'show your identity, linked GitHub login, roles and karma',
  usage: ['whoami'],
  examples: ['whoami'],
  roles: 'anyone',
  personal: true,
  async run(ctx) {
    const { user } = ctx;
    const identities = user.identities.map((i) => `${i.provider}:${i.externalId}${i.handle !== i.externalId ? ` (${i.handle})` : ''}`).join(', ');
    const login = user.githubLogin;
    const canVerify = Boolean(ctx.deps.services.githubVerification);
    const github = !login
      ? 'GitHub: not linked — `iam github <login>`'
      : user.githubVerifiedAt
        ? `GitHub: ${login} (verified)`
        : `GitHub: ${login} (linked, not verified — roles given to ${login} do not apply; ${canVerify ? `\`iam github ${login}\` to verify through GitHub` : howToGetRoles(ctx.provider, user).replace(/^To/, 'to')})`;
    const karma = await ctx.deps.store.karma.stars(user.id);
    await ctx.reply(`you are ${identities}; ${github}; roles: ${roleList(ctx.roles)}; karma ${stars(karma)}`);
  },
});
