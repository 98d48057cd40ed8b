/**
 * The services commands use beyond config, store and clock, typed and built in one place: createServices() is
 * called by main.ts (with the real deployer and push workflow it created) and by the tests (with theirs), so
 * both get the same wiring: the same `status` sections in the same order, `status <id>` for deploys.
 * Optional members are absent when that feature is not set up; commands refuse with a reason then.
 *
 *   const services = createServices({ deployer, push });
 *   const bot = new Bot({ commands, config, store, clock, logger, services });
 */
import type { Ctx } from './command.js';
import type { Deployer } from './deploy/engine.js';
import { deployStatus, deployStatusSection } from './deploy/status-section.js';
import type { GitHubVerification } from './github-verification.js';
import type { PushService } from './push/service.js';
import { pushStatusSection } from './push/status-section.js';

/** A part of the `status` overview contributed by a feature (deploys, the push). */
export interface StatusSection {
  title: string;
  lines(ctx: Ctx): Promise<string[]>;
}

/** `status <arg>` for one feature: its answer, or null when `arg` is not one of its ids. */
export type StatusLookup = (ctx: Ctx, arg: string) => Promise<string | null>;

export interface Services {
  /** The deploy engine behind deploy, rollback, cancel and deploys. */
  deployer?: Deployer;
  /** `status <deploy id>`. */
  deployStatus?: StatusLookup;
  /** The daily push workflow (push, cp, here, status <rev>). */
  push?: PushService;
  /** What `status` shows, in this order, above locks and on-call. */
  statusSections: StatusSection[];
  /** `iam github` verification through GitHub's device flow; null without GITHUB_CLIENT_ID. */
  githubVerification?: GitHubVerification | null;
}

/** What the caller created; createServices wires it. */
export interface ServiceParts {
  deployer?: Deployer | null | undefined;
  push?: PushService | null | undefined;
}

export function createServices(parts: ServiceParts = {}): Services {
  const services: Services = { statusSections: [] };
  if (parts.deployer) {
    services.deployer = parts.deployer;
    services.deployStatus = deployStatus;
    services.statusSections.push(deployStatusSection());
  }
  if (parts.push) {
    services.push = parts.push;
    services.statusSections.push(pushStatusSection(parts.push));
  }
  return services;
}
