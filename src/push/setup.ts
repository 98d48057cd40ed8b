/**
 * Builds the push service from the configuration: which app the push is for, where its repository is cloned
 * from and to. Used by main.ts and by tests, so both run the same wiring.
 *
 *   const push = createPushService({ config, store, clock, dataDir: 'data', github, notifier });
 *   const services = createServices({ deployer, push });
 */
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../command.js';
import { type Config, configEntry } from '../config.js';
import { resolveRepoUrl } from '../deploy/plan.js';
import { githubWebUrl } from '../github-device-flow.js';
import type { GitHub } from '../github.js';
import type { Store } from '../store/index.js';
import type { Notifier } from './notifier.js';
import { PushRepo } from './repo.js';
import type { DeployEvents } from '../deploy/events.js';
import { type PushDeploy, PushService } from './service.js';
import type { CiWaitOptions } from './ci-wait.js';
import type { ShipHooks } from './ship.js';

/** push.app, or the only app when there is just one; null when the push has no app. */
export function pushApp(config: Pick<Config, 'push' | 'apps'>): string | null {
  if (config.push.app) return config.push.app;
  const apps = Object.keys(config.apps);
  return apps.length === 1 ? (apps[0] as string) : null;
}

/**
 * Where to clone the app from: repo_url (a relative path is relative to shepherd.yml), else the GitHub URL of
 * `repo` (on GitHub Enterprise, the host of GITHUB_API_URL).
 */
export function cloneUrl(config: Pick<Config, 'apps' | 'configPath' | 'env'>, app: string): string | null {
  const a = configEntry(config.apps, app);
  if (!a) return null;
  // The same resolution as the deploy engine's, so the push and its deploys use one repository.
  if (a.repo_url) return resolveRepoUrl(a, dirname(config.configPath));
  if (!a.repo) return null;
  return `${githubWebUrl(config.env.GITHUB_API_URL)}/${a.repo}.git`;
}

export interface PushSetup {
  config: Readonly<Config>;
  store: Store;
  clock: Clock;
  /** The bot's data folder; the clone goes to <dataDir>/push/<app>. */
  dataDir: string;
  github?: GitHub | null | undefined;
  notifier?: Notifier | undefined;
  deploy?: PushDeploy | undefined;
  /** Deploy events: the ship tells "your picks are live" when its deploy ends. */
  events?: DeployEvents | undefined;
  logger?: Logger | undefined;
  /** Test seam (a crash mid-ship). */
  hooks?: ShipHooks | undefined;
  /** How long `push ship` waits for CI on the pushed head (tests shorten it). */
  ciWait?: CiWaitOptions | undefined;
}

/** The push service, or null when no app is configured for the push (the push commands then say how to set it up). */
export function createPushService(setup: PushSetup): PushService | null {
  const { config } = setup;
  const app = pushApp(config);
  if (!app) return null;
  const url = cloneUrl(config, app);
  if (!url) return null;
  const repo = new PushRepo({ url, dir: join(setup.dataDir, 'push', app), trunk: config.push.trunk });
  return new PushService(
    {
      app,
      config,
      store: setup.store,
      clock: setup.clock,
      repo,
      github: setup.github,
      githubRepo: configEntry(config.apps, app)?.repo,
      notifier: setup.notifier,
      deploy: setup.deploy,
      events: setup.events,
      logger: setup.logger,
      ciWait: setup.ciWait,
    },
    setup.hooks,
  );
}
