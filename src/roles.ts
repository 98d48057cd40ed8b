/**
 * Roles come from shepherd.yml: `release_managers` and (optional) `developers` list GitHub logins or chat
 * identities (`slack:U024BE7LH`, `irc:alice`, `shell:*`). Without a `developers` list everyone is a developer.
 * A GitHub login counts only once `iam github` verified it through GitHub (anyone can type any login).
 *
 *   rolesOf(config, user) // ['developer', 'release_manager']
 */
import type { Config, RoleName } from './config.js';
import type { KnownUser } from './store/users.js';

export type Role = RoleName;

function listed(list: readonly string[], user: KnownUser): boolean {
  return list.some((entry) => {
    const colon = entry.indexOf(':');
    if (colon < 0) return Boolean(user.githubVerifiedAt) && user.githubLogin !== null && entry.toLowerCase() === user.githubLogin.toLowerCase();
    const provider = entry.slice(0, colon);
    const id = entry.slice(colon + 1);
    return user.identities.some((i) => i.provider === provider && (id === '*' ? provider === 'shell' : i.externalId.toLowerCase() === id.toLowerCase()));
  });
}

export function rolesOf(config: Pick<Config, 'release_managers' | 'developers'>, user: KnownUser): Role[] {
  const roles: Role[] = [];
  const manager = listed(config.release_managers, user);
  if (manager || !config.developers || listed(config.developers, user)) roles.push('developer');
  if (manager) roles.push('release_manager');
  return roles;
}

export const ROLE_LABEL: Record<Role, string> = { developer: 'developer', release_manager: 'release manager' };
