/**
 * Turning what users type into things the bot knows: '@bob' → a user, '[app/]env' → a lock scope.
 * Each failure is a Refusal that says what to do next.
 */
import { type Ctx, Refusal, UsageError } from './command.js';
import { type Config, configEntry } from './config.js';
import { ALL_APPS } from './store/locks.js';
import type { KnownUser } from './store/users.js';

/** The user an '@name' argument names (chat handle, chat id or linked GitHub login). */
export async function resolveUser(ctx: Ctx, arg: string | undefined): Promise<KnownUser> {
  if (!arg) throw new UsageError('name a user, e.g. @alice');
  const user = await ctx.deps.store.users.resolve(arg, ctx.provider);
  if (!user) {
    throw new Refusal(
      `I don't know ${arg.startsWith('@') ? arg : `@${arg}`} — they need to say something to me first, or link their GitHub login with \`iam github <login>\``,
    );
  }
  return user;
}

export interface LockScope {
  app: string;
  environment: string;
}

/** Every environment name of every app. */
export function knownEnvironments(config: Pick<Config, 'apps'>): string[] {
  return [...new Set(Object.values(config.apps).flatMap((a) => Object.keys(a.environments)))].sort();
}

/** '[<app>/]<env>' → { app, environment }; app '*' when none given. Unknown app or environment: Refusal. */
export function parseScope(config: Pick<Config, 'apps'>, arg: string | undefined): LockScope {
  if (!arg) throw new UsageError('name an environment, e.g. staging or web/staging');
  const slash = arg.indexOf('/');
  const app = slash >= 0 ? arg.slice(0, slash) : ALL_APPS;
  const environment = slash >= 0 ? arg.slice(slash + 1) : arg;
  const apps = Object.keys(config.apps);
  if (app !== ALL_APPS) {
    const appConfig = configEntry(config.apps, app);
    if (!appConfig) throw new Refusal(`unknown app "${app}" — known apps: ${apps.join(', ') || 'none (add apps to shepherd.yml)'}`);
    if (!configEntry(appConfig.environments, environment)) {
      throw new Refusal(`${app} has no environment "${environment}" — it has: ${Object.keys(appConfig.environments).join(', ')}`);
    }
  } else if (!knownEnvironments(config).includes(environment)) {
    throw new Refusal(`unknown environment "${environment}" — known: ${knownEnvironments(config).join(', ') || 'none (add apps to shepherd.yml)'}`);
  }
  return { app, environment };
}
