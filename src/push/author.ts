/**
 * Who answers for a change: its author, never the person who asked for it. With a GitHub login (a PR's or a
 * commit's author) that is the user of that login, created without chat identities when nobody linked it yet,
 * so their karma counts and their confirmation is awaited; without one, the chat user whose name matches the
 * git author, else the requester (the only person the bot can hold to it).
 *
 *   const author = await authorOf(store.users, change, alice); // dave-gh's user, even if dave never talked to the bot
 */
import type { KnownUser, Users } from '../store/users.js';
import { type Change, loginFromEmail } from './change.js';

export async function authorOf(users: Users, change: Change, requester: KnownUser): Promise<KnownUser> {
  if (change.authorLogin) return users.githubUser(change.authorLogin);
  const login = loginFromEmail(change.authorEmail);
  if (login) {
    const linked = await users.resolveLogin(login);
    if (linked) return linked;
  }
  const local = change.authorEmail?.split('@')[0];
  for (const name of [login, local, change.authorName]) {
    if (!name || !/^[A-Za-z0-9._-]+$/.test(name)) continue;
    const found = await users.resolve(name);
    if (found) return found;
  }
  return requester;
}

/** True for a GitHub-only user: nobody in chat said `iam github <login>` yet, so nobody can confirm for them. */
export function unlinked(user: Pick<KnownUser, 'identities'>): boolean {
  return user.identities.length === 0;
}
