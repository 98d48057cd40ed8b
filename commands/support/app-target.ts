/**
 * What deploy-ish commands (`deploy`, `rollback`, `cancel`) share: reading `<app>[/<ref>] [to|in <env>]`
 * from chat, validating every piece before anything runs, and the per-environment role check.
 *
 *   const t = parseAppTarget(ctx, 'to', { ref: true }); // { app: 'web', ref: 'main', environment: 'staging' }
 */
import { type Ctx, Refusal, UsageError } from '../../src/command.js';
import { type AppConfig, configEntry, type EnvironmentConfig } from '../../src/config.js';
import type { Deployer } from '../../src/deploy/engine.js';
import { nameProblem, refProblem, shown } from '../../src/deploy/validate.js';
import { GitRefsError } from '../../src/git-refs.js';
import { GitHubError } from '../../src/github-error.js';
import { type Entry, rolesRefusal } from '../../src/gates/gates.js';

export interface AppTarget {
  app: string;
  /** null when none was given (deploy the default branch). */
  ref: string | null;
  environment: string;
  appConfig: AppConfig;
  envConfig: EnvironmentConfig;
}

/** Reads `<app>[/<ref>] [to|in <env>]` from ctx.args; every refusal says what to type instead. */
export function parseAppTarget(ctx: Ctx, preposition: 'to' | 'in', options: { ref: boolean }): AppTarget {
  const [target, ...rest] = ctx.args;
  if (!target) throw new UsageError('name an app');
  const slash = target.indexOf('/');
  const app = slash < 0 ? target : target.slice(0, slash);
  const ref = slash < 0 ? null : target.slice(slash + 1);
  const apps = ctx.deps.config.apps;
  if (nameProblem(app))
    throw new Refusal(`"${shown(app)}" is not an app name — known apps: ${Object.keys(apps).join(', ') || 'none (add apps to shepherd.yml)'}`);
  const appConfig = configEntry(apps, app);
  if (!appConfig) throw new Refusal(`unknown app "${app}" — known apps: ${Object.keys(apps).join(', ') || 'none (add apps to shepherd.yml)'}`);
  if (ref !== null) {
    if (!options.ref) throw new UsageError(`give just the app name ("${app}"), not a ref`);
    // `#22` names a pull request (`deploy web/#22`); the deploy command resolves it through GitHub.
    const problem = /^#[1-9]\d{0,8}$/.test(ref) ? null : refProblem(ref);
    if (problem) throw new Refusal(`"${shown(ref)}" is not a branch, tag or SHA I will deploy: ${problem}`);
  }
  const environments = Object.keys(appConfig.environments);
  let environment: string | undefined;
  if (rest.length === 2 && rest[0]?.toLowerCase() === preposition) environment = rest[1];
  else if (rest.length > 0) throw new UsageError(`expected \`${preposition} <environment>\` after ${target}`);
  else environment = appConfig.default_environment ?? (environments.length === 1 ? environments[0] : undefined);
  if (!environment)
    throw new Refusal(`which environment? ${app} has ${environments.join(', ')} — e.g. \`${ctx.command.name} ${target} ${preposition} ${environments[0]}\``);
  const envConfig = configEntry(appConfig.environments, environment);
  if (!envConfig) throw new Refusal(`${app} has no environment "${shown(environment)}" — it has: ${environments.join(', ')}`);
  return { app, ref, environment, appConfig, envConfig };
}

/**
 * The roles gate asked early, before anything is looked up (the pipeline asks it again with every other gate):
 * allowed_roles decide who may change the environment at all.
 */
export function requireDeployRole(ctx: Ctx, target: AppTarget, entry: Entry): void {
  const refusal = rolesRefusal(
    entry,
    target.app,
    target.environment,
    target.envConfig,
    { name: ctx.user.name, roles: ctx.roles },
    ctx.deps.config.release_managers,
  );
  if (refusal) throw new Refusal(refusal);
}

export function deployerOf(ctx: Ctx): Deployer {
  const deployer = ctx.deps.services.deployer;
  if (!deployer) throw new Refusal('deploys are not set up in this bot');
  return deployer;
}

/** GitHub or git could not answer: a refusal that says so, in one line. Anything else is rethrown. */
export function sourceRefusal(err: unknown, doing: string): Refusal {
  if (err instanceof GitHubError || err instanceof GitRefsError) return new Refusal(`could not ${doing}: ${err.message}`);
  throw err;
}

/** Flags the command knows; anything else is a usage error rather than silently ignored. */
export function checkFlags(ctx: Ctx, known: string[]): void {
  const unknown = Object.keys(ctx.command.flags).filter((f) => !known.includes(f));
  if (unknown.length) throw new UsageError(`unknown option ${unknown.map((f) => `--${f}`).join(', ')}`);
}
