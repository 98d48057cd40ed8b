/**
 * What `iam` and `whoami` both say about a GitHub login this bot cannot verify.
 *
 *   howToGetRoles('irc', user) // 'To verify it an admin must set GITHUB_CLIENT_ID …, or list irc:alice in release_managers / developers'
 */

/** Who can make a login count when this bot cannot verify one (no GITHUB_CLIENT_ID). */
export function howToGetRoles(provider: string, user: { identities: { provider: string; externalId: string }[] }): string {
  const identity = user.identities.find((i) => i.provider === provider) ?? user.identities[0];
  const chat = identity ? `${identity.provider}:${identity.externalId}` : 'your chat identity';
  return `To verify it an admin must set GITHUB_CLIENT_ID (GitHub device flow), or list ${chat} in release_managers / developers`;
}
