/**
 * The deploy engine, in three parts: the scheduler (scheduler.ts: requests, queue, claim, heartbeat, recovery,
 * cancel, graceful stop), the deploy run (deploy-run.ts: one deploy) and the host run (host-run.ts: one host).
 * `Deployer` is the scheduler under the name commands and the push workflow know it by.
 *
 *   const deployer = new Deployer({ config, store, events, masker, lines, github, gitCacheDir, logger });
 */
export { type CancelResult, type DeployRequest, Scheduler as Deployer, type SchedulerOptions as DeployerOptions } from './scheduler.js';
