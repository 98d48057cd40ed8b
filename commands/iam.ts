import { defineCommand, Refusal, UsageError } from '../src/command.js';
import { who } from '../src/format.js';
import { DeviceFlowError } from '../src/github-device-flow.js';
import type { GitHubVerification } from '../src/github-verification.js';
import { howToGetRoles } from './support/identity.js';

const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

export default defineCommand({
  name: 'iam',
  summary: 'link your chat identity to your GitHub login (proven through GitHub before its roles apply)',
  usage: ['iam github <login>'],
  examples: ['iam github octocat'],
  roles: 'anyone',
  async run(ctx) {
    const [service, login] = ctx.args;
    if (service?.toLowerCase() !== 'github' || !login || ctx.args.length > 2) throw new UsageError('');
    if (!GITHUB_LOGIN.test(login)) throw new Refusal(`"${login}" is not a GitHub login (letters, digits and single hyphens, at most 39)`);
    const lower = login.toLowerCase();
    const { users } = ctx.deps.store;
    const holder = await users.resolveLogin(lower);
    if (holder && holder.id !== ctx.user.id && holder.githubVerifiedAt) {
      throw new Refusal(`GitHub login ${lower} is already verified by ${who(holder, ctx.provider)} — if that is wrong, ask a release manager`);
    }
    if (holder?.id === ctx.user.id && holder.githubVerifiedAt) {
      await ctx.reply(`you are already verified as ${lower} on GitHub`);
      return;
    }
    const verification = ctx.deps.services.githubVerification;
    if (!verification) {
      // Nobody can prove the login: record the claim (names, pick authors) but it grants no roles.
      const result = await users.linkGithub(ctx.user.id, lower);
      if (!result.ok) {
        throw new Refusal(`GitHub login ${lower} is already linked to ${who(result.holder, ctx.provider)} — if that is wrong, ask a release manager`);
      }
      await ctx.reply(`ok, you are ${lower} on GitHub — linked, not verified: roles given to ${lower} do not apply. ${howToGetRoles(ctx.provider, ctx.user)}`);
      return;
    }
    // Somebody else's unverified claim does not block the real owner: verifying replaces it.
    if (!holder) await users.linkGithub(ctx.user.id, lower);
    let begun: Awaited<ReturnType<GitHubVerification['begin']>>;
    try {
      begun = await verification.begin(ctx.user, lower, (text) => ctx.deps.say(ctx.room, `${ctx.mention(ctx.user)} ${text}`));
    } catch (err) {
      if (err instanceof DeviceFlowError) throw new Refusal(`could not start GitHub verification: ${err.message} — try again later, or ask an admin`);
      throw err;
    }
    if ('waiting' in begun) {
      const w = begun.waiting;
      await ctx.reply(`a verification of ${w.login} is already waiting: open ${w.code.verificationUri} and enter the code ${w.code.userCode}`);
      return;
    }
    const { code } = begun.started;
    await ctx.reply(
      `to prove you are ${lower} on GitHub, open ${code.verificationUri} and enter the code ${code.userCode} (valid ${Math.round(code.expiresIn / 60)} min) — I will say here when GitHub confirms; until then roles given to ${lower} do not apply`,
    );
  },
});
