/**
 * app + environment → what a deploy will do: the hosts in stages (canary first, then the rest), the steps,
 * where releases live, which repository the steps clone. Pure: reads the config, touches nothing.
 *
 *   const plan = planDeploy(config, 'web', 'production');
 *   plan.stages // [[web-1], [web-2, web-3]] with canary: 1
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { AppConfig, Config, EnvironmentConfig } from '../config.js';
import { configEntry, expandHome } from '../config.js';

export interface PlannedHost {
  /** What logs and chat call it: `web-1`, or `web-1:2222` on a non-default port. */
  label: string;
  host: string;
  port: number;
  user?: string | undefined;
  /** 0 = canary stage (when there is one), then 1. */
  stage: number;
}

export interface Plan {
  app: string;
  environment: string;
  appConfig: AppConfig;
  envConfig: EnvironmentConfig;
  transport: 'ssh' | 'local';
  hosts: PlannedHost[];
  /** Hosts grouped by stage, in order. A stage starts only when the one before succeeded. */
  stages: PlannedHost[][];
  /** Where releases/ and current live on each host (absolute, or `~/...` for ssh). */
  deployTo: string;
  /** What the steps clone ($SHEPHERD_REPO_URL). */
  repoUrl: string;
  steps: readonly string[];
  healthcheck: string | null;
  stepTimeoutMs: number;
  connectTimeoutMs: number;
  keepReleases: number;
  concurrency: number;
  maxFailures: number;
  rollbackOnFailure: boolean;
  /** The environment's `url:`, shown in chat and sent to GitHub as the deployment status's environment_url. */
  environmentUrl: string | null;
}

type HostEntry = EnvironmentConfig['hosts'][number];

/** 'web-1', 'web-1:2222', '[::1]:22' or { host, port, user } → host, port, user. */
export function parseHost(entry: HostEntry, defaultPort: number): { host: string; port: number; user?: string | undefined } {
  if (typeof entry !== 'string') return { host: entry.host, port: entry.port ?? defaultPort, user: entry.user };
  const v6 = /^\[([0-9a-fA-F:]+)\](?::(\d+))?$/.exec(entry);
  if (v6) return { host: v6[1] as string, port: v6[2] ? Number(v6[2]) : defaultPort };
  const colon = entry.lastIndexOf(':');
  if (colon > 0) return { host: entry.slice(0, colon), port: Number(entry.slice(colon + 1)) };
  return { host: entry, port: defaultPort };
}

/** A clone URL or path as the steps will see it: local paths made absolute (relative to shepherd.yml). */
export function resolveRepoUrl(app: AppConfig, configDir: string): string {
  const url = app.repo_url ?? `https://github.com/${app.repo}.git`;
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
  const isScp = /^([^/@\s]+@)?[A-Za-z0-9.-]+:/.test(url) && !url.startsWith('/');
  if (isUrl || isScp) return url;
  return url.startsWith('~/') ? expandHome(url) : resolve(configDir, url);
}

/** Throws an Error with a user-readable message for unknown apps/environments or an empty host list. */
export function planDeploy(config: Pick<Config, 'apps' | 'configPath'>, app: string, environment: string): Plan {
  const appConfig = configEntry(config.apps, app);
  if (!appConfig) throw new Error(`unknown app "${app}" — known apps: ${Object.keys(config.apps).join(', ') || 'none (add apps to shepherd.yml)'}`);
  const envConfig = configEntry(appConfig.environments, environment);
  if (!envConfig) throw new Error(`${app} has no environment "${environment}" — it has: ${Object.keys(appConfig.environments).join(', ')}`);
  if (envConfig.hosts.length === 0) throw new Error(`${app}/${environment} has no hosts — add hosts to it in shepherd.yml`);

  const configDir = dirname(config.configPath);
  const canary = Math.min(envConfig.canary, envConfig.hosts.length);
  const seen = new Set<string>();
  const hosts = envConfig.hosts.map((entry, i): PlannedHost => {
    const { host, port, user } = parseHost(entry, appConfig.ssh.port);
    const label = port === appConfig.ssh.port ? host : `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const key = `${user ?? ''}@${label}`;
    if (seen.has(key)) throw new Error(`${app}/${environment} lists ${label} twice`);
    seen.add(key);
    const stage = canary > 0 && canary < envConfig.hosts.length ? (i < canary ? 0 : 1) : 0;
    return { label, host, port, user, stage };
  });
  const stages: PlannedHost[][] = [];
  for (const h of hosts) {
    stages[h.stage] ??= [];
    stages[h.stage]?.push(h);
  }

  const deployTo =
    appConfig.transport === 'local'
      ? appConfig.deploy_to.startsWith('~/')
        ? expandHome(appConfig.deploy_to)
        : resolve(configDir, appConfig.deploy_to)
      : appConfig.deploy_to;
  if (appConfig.transport === 'ssh' && !isAbsolute(deployTo) && !deployTo.startsWith('~/')) throw new Error(`${app}: deploy_to must be an absolute path`);

  return {
    app,
    environment,
    appConfig,
    envConfig,
    transport: appConfig.transport,
    hosts,
    stages,
    deployTo,
    repoUrl: resolveRepoUrl(appConfig, configDir),
    steps: appConfig.steps,
    healthcheck: appConfig.healthcheck ?? null,
    stepTimeoutMs: appConfig.step_timeout,
    connectTimeoutMs: appConfig.connect_timeout,
    keepReleases: appConfig.keep_releases,
    concurrency: envConfig.concurrency,
    maxFailures: envConfig.max_failures,
    rollbackOnFailure: appConfig.rollback_on_failure,
    environmentUrl: envConfig.url ?? null,
  };
}
