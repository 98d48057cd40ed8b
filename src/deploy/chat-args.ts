/**
 * What deploy-ish commands (`deploy`, `rollback`, `deploys`) share: reading `<app>[/<ref>] [to|in <env>]`
 * from chat, validating every piece before anything runs, and the per-environment role check.
 *
 *   const t = parseAppTarget(ctx, 'to', { ref: true }); // { app: 'web', ref: 'main', environment: 'staging' }
 */
import { type Ctx, Refusal, UsageError } from '../command.js';
import type { AppConfig, EnvironmentConfig } from '../config.js';
import { GitRefsError } from '../git-refs.js';
import { GitHubError } from '../github-error.js';
import { ROLE_LABEL } from '../roles.js';
import type { Deployer } from './engine.js';
import { nameProblem, refProblem, shown } from './validate.js';

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
  const appConfig = apps[app];
  if (!appConfig) throw new Refusal(`unknown app "${app}" — known apps: ${Object.keys(apps).join(', ') || 'none (add apps to shepherd.yml)'}`);
  if (ref !== null) {
    if (!options.ref) throw new UsageError(`give just the app name ("${app}"), not a ref`);
    const problem = refProblem(ref);
    if (problem) throw new Refusal(`"${shown(ref)}" is not a branch, tag or SHA I will deploy: ${problem}`);
  }
  const environments = Object.keys(appConfig.environments);
  let environment: string | undefined;
  if (rest.length === 2 && rest[0]?.toLowerCase() === preposition) environment = rest[1];
  else if (rest.length > 0) throw new UsageError(`expected \`${preposition} <environment>\` after ${target}`);
  else environment = appConfig.default_environment ?? (environments.length === 1 ? environments[0] : undefined);
  if (!environment)
    throw new Refusal(`which environment? ${app} has ${environments.join(', ')} — e.g. \`${ctx.command.name} ${target} ${preposition} ${environments[0]}\``);
  const envConfig = appConfig.environments[environment];
  if (!envConfig) throw new Refusal(`${app} has no environment "${shown(environment)}" — it has: ${environments.join(', ')}`);
  return { app, ref, environment, appConfig, envConfig };
}

/** The environment's allowed_roles decide who may deploy (and roll back, and --force) there. */
export function requireDeployRole(ctx: Ctx, target: AppTarget, doing: string): void {
  const allowed = target.envConfig.allowed_roles;
  if (!allowed.some((r) => ctx.roles.includes(r))) {
    const names = allowed.map((r) => ROLE_LABEL[r]).join(' or ');
    const managers = ctx.deps.config.release_managers.join(', ');
    throw new Refusal(`only a ${names} can ${doing} ${target.app}/${target.environment}${managers ? ` — ask one of: ${managers}` : ''}`);
  }
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
