/**
 * One deploy, from start to its final state: plan, what ships (commit list, bounded), for a rollback the target
 * chosen now, the hosts by stage (canary first, `concurrency` at a time, stop after more than max_failures),
 * hosts switched back when it did not succeed (rollback_on_failure), then the final state recorded through the
 * lifecycle. Everything it does is published on DeployEvents; it does not know who listens.
 *
 *   await runDeploy(deps, { deploy, signal, stopReason: () => 'cancelled by bob', notes: [] });
 */
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { formatDuration } from '../duration.js';
import { deployTitle, shortSha } from '../format.js';
import type { FinalDeployState, FullDeploy } from '../store/deploys.js';
import type { Store } from '../store/index.js';
import type { DeployEvents } from './events.js';
import { type HostOutcome, runHost, switchBack } from './host-run.js';
import { DeployLog, type LogWriter } from './log-pipeline.js';
import type { Masker } from './mask.js';
import { type Plan, planDeploy } from './plan.js';
import type { CommitList, Revisions } from './source.js';
import type { ValidationOutcome } from './lifecycle.js';
import type { Transport } from './transport.js';
import { runValidation, type ValidationInput } from './validation.js';

export interface DeployRunDeps {
  config: Readonly<Config>;
  store: Store;
  events: DeployEvents;
  masker: Masker;
  writer: LogWriter;
  revisions: Revisions;
  logger: Logger;
  transportFor(plan: Plan, log: DeployLog): Transport;
  /** The instance that owns the deploy: its final state is only recorded while it still does. */
  owner: string;
}

export interface DeployRunInput {
  deploy: FullDeploy;
  signal: AbortSignal;
  /** Why the signal was aborted: a cancel ('cancelled', by whom) or a graceful stop ('interrupted'). */
  stopped(): { state: 'cancelled' | 'interrupted'; error: string };
  /** Shown in the start message. */
  notes: string[];
  /** Called when every host switched and the validation window begins (a cancel then keeps the release). */
  onValidating?: (() => void) | undefined;
}

/** How long the start message waits for the commit list (GitHub compare or git) before going without it. */
export const COMMITS_WAIT_MS = 5_000;
/** How long a finished deploy still waits for its commit time (a slow clone records it later, unwaited). */
const COMMIT_TIME_GRACE_MS = 30_000;

export async function runDeploy(deps: DeployRunDeps, input: DeployRunInput): Promise<void> {
  let deploy = input.deploy;
  const { events, logger, store } = deps;
  const { signal } = input;
  let plan: Plan;
  try {
    plan = planDeploy(deps.config, deploy.app, deploy.environment);
  } catch (err) {
    await endDeploy(deps, deploy, 'failed', (err as Error).message, []);
    return;
  }
  const log = new DeployLog(deploy.id, { events, masker: deps.masker, writer: deps.writer });
  // The log store gets ready (SQLite's writing thread starts) while the hosts connect.
  deps.writer.warm();
  const notes = [...input.notes];

  // A rollback goes to the release before the live one as it is now, not as it was when asked: a deploy that
  // ran in between moved "live" (and may have pruned the release chosen then).
  if (deploy.kind === 'rollback') {
    const found = await store.deploys.rollbackTarget(deploy.app, deploy.environment);
    if (!found) {
      await endDeploy(deps, deploy, 'failed', `nothing to roll back to in ${deploy.app}/${deploy.environment} any more`, []);
      return;
    }
    if (found.target.releaseId !== deploy.releaseId) {
      const target = { ref: found.target.ref, sha: found.target.sha, releaseId: found.target.releaseId };
      await store.deploys.retarget(deploy.id, target);
      notes.push(`target chosen when it started: the release of #${found.target.id} (${shortSha(found.target.sha)}), since #${found.current.id} is live now`);
      deploy = { ...deploy, ...target };
    }
  }

  // For a deploy that waited in the queue, what is live now may be what the deploy ahead of it shipped.
  const live = (await store.deploys.current(deploy.app, deploy.environment))?.sha ?? null;
  if (live !== deploy.previousSha) await store.deploys.setPreviousSha(deploy.id, live);
  // When the shipped commit was made, where DORA lead time starts: looked up beside the deploy, not before it.
  // A deploy cancelled before it began looks nothing up.
  const lookups = deploy.kind === 'deploy' && !signal.aborted;
  const commitTime = lookups && !deploy.commitAt ? recordCommitTime(deps, plan, deploy) : Promise.resolve();
  // What ships: the commits between the live SHA and this one; a slow compare never holds the deploy long.
  let commits: CommitList | null = null;
  if (lookups && live && live !== deploy.sha) {
    const listed = await within(
      deps.revisions.commits(plan, live, deploy.sha, 10).catch((err: Error) => err),
      COMMITS_WAIT_MS,
    );
    if (listed === undefined) notes.push(`commit list unavailable: no answer within ${COMMITS_WAIT_MS / 1000}s`);
    else if (listed instanceof Error) notes.push(`commit list unavailable: ${listed.message}`);
    else commits = listed;
  }
  events.publish({
    type: 'started',
    deployId: deploy.id,
    deploy: { ...deploy, previousSha: live },
    info: { hostCount: deploy.hosts.length, commits, previousSha: live, notes },
  });
  log.system(null, `#${deploy.id} ${deployTitle(deploy)}: ${deploy.hosts.length} host(s), release ${deploy.releaseId}, requested by ${deploy.requester.name}`);

  // Hosts by stage, as planned when the deploy was asked for.
  const stages = new Map<number, FullDeploy['hosts']>();
  for (const h of deploy.hosts) stages.set(h.stage, [...(stages.get(h.stage) ?? []), h]);
  const stageList = [...stages.entries()].sort((a, b) => a[0] - b[0]).map(([, hosts]) => hosts);
  const transport = deps.transportFor(plan, log);
  const outcomes = new Map<number, HostOutcome>();
  const total = deploy.hosts.length;
  const limit = pLimit(Math.max(1, plan.concurrency));
  const hostDeps = { deploys: store.deploys, events, maskText: (text: string) => deps.masker.text(text) };
  let done = 0;
  let failures = 0;
  let stopReason: string | null = null;

  for (const [index, stage] of stageList.entries()) {
    if (stopReason || signal.aborted) break;
    const canary = stageList.length > 1 && index === 0;
    await Promise.all(
      stage.map((row) =>
        limit(async () => {
          if (stopReason || signal.aborted) return;
          const outcome = await runHost(hostDeps, { deploy, row, plan, transport, log, signal });
          outcomes.set(row.id, outcome);
          done++;
          if (outcome.state === 'failed') {
            failures++;
            if (canary) stopReason ??= `canary ${row.host} failed (${outcome.reason})`;
            else if (failures > plan.maxFailures) stopReason ??= `${row.host}: ${outcome.reason}`;
          }
          events.publish({
            type: 'progress',
            deployId: deploy.id,
            done,
            total,
            failed: failures,
            ...(outcome.state === 'failed' ? { failure: { host: row.host, reason: outcome.reason ?? 'failed' } } : {}),
          });
        }),
      ),
    );
  }

  const stopped = signal.aborted ? input.stopped() : null;
  let state: FinalDeployState = stopped ? stopped.state : stopReason ? 'failed' : 'succeeded';
  let error = stopped ? stopped.error : stopReason;
  await store.deploys.skipPendingHosts(deploy.id, state === 'succeeded' || state === 'failed' ? 'skipped' : 'cancelled');

  const switched = deploy.hosts.filter((h) => outcomes.get(h.id)?.switched);
  const switchAllBack = async () => {
    if (switched.length > 0) log.system(null, `switching ${switched.length} host(s) back to their previous release`);
    await Promise.all(
      switched.map((row) => limit(() => switchBack(hostDeps, { row, plan, transport, log, previous: outcomes.get(row.id)?.previous ?? null }))),
    );
  };
  // validate: the new release is watched for a window before the deploy counts as succeeded (a rollback,
  // going back to a release that already ran, is not).
  const settings = deploy.kind === 'deploy' ? plan.envConfig.validate : undefined;
  let validation: ValidationOutcome | undefined;
  if (state === 'succeeded' && settings && switched.length > 0) {
    const v = await validatePhase(deps, {
      deploy,
      plan,
      hosts: switched,
      transport,
      log,
      signal,
      settings,
      stopped: input.stopped,
      onValidating: input.onValidating,
    });
    ({ state, error, validation } = v);
    // Automatic rollback: every switched host goes back, whatever rollback_on_failure says (it is the point).
    if (v.rollBack) await switchAllBack();
  } else if (state !== 'succeeded' && plan.rollbackOnFailure) {
    // A deploy that did not succeed leaves no host on its release: switch the ones that moved back.
    await switchAllBack();
  }
  const failedHosts = deploy.hosts.filter((h) => outcomes.get(h.id)?.state === 'failed').map((h) => h.host);
  if (state === 'succeeded' && failedHosts.length > 0) log.system(null, `${failedHosts.length} host(s) failed, within max_failures ${plan.maxFailures}`);
  log.system(null, `#${deploy.id} ${state}${error ? `: ${error}` : ''}`);
  await within(commitTime, COMMIT_TIME_GRACE_MS);
  await endDeploy(deps, deploy, state, error, failedHosts, validation);
  logger.info({ deployId: deploy.id, state, error, validation }, 'deploy ended');
}

interface PhaseInput extends Omit<ValidationInput, 'events'> {
  stopped: DeployRunInput['stopped'];
  onValidating: DeployRunInput['onValidating'];
}

/**
 * running → validating → the window (validation.ts) → how the deploy ends: passed → succeeded; failed →
 * failed "rolled back: validation failed on web-3 (HTTP 502)" with rollBack; stopped by a cancel (or a rollback
 * taking precedence) → succeeded with validation 'cancelled' (the release is kept); stopped by a graceful stop
 * → interrupted, hosts left as they are.
 */
async function validatePhase(
  deps: DeployRunDeps,
  input: PhaseInput,
): Promise<{ state: FinalDeployState; error: string | null; validation?: ValidationOutcome; rollBack: boolean }> {
  const { deploy, hosts, settings, log } = input;
  const { events, store } = deps;
  if (!(await store.deploys.startValidation(deploy.id, deps.owner))) {
    // Ended or taken elsewhere meanwhile (found stale): endDeploy learns it and keeps that state.
    return { state: 'succeeded', error: null, rollBack: false };
  }
  input.onValidating?.();
  events.publish({ type: 'state', deployId: deploy.id, state: 'validating' });
  const what = settings.url ? settings.url : `\`${settings.check}\``;
  events.publish({
    type: 'note',
    deployId: deploy.id,
    text: `🔎 #${deploy.id} validating on ${hosts.length} host${hosts.length === 1 ? '' : 's'} for ${formatDuration(settings.for)} (every ${formatDuration(settings.every)}: ${what}); more than ${settings.max_failures} failure${settings.max_failures === 1 ? '' : 's'} on a host rolls every host back`,
  });
  const r = await runValidation({ ...input, events });
  if (r.outcome === 'passed') {
    events.publish({
      type: 'note',
      deployId: deploy.id,
      text: `✅ #${deploy.id} validation passed: ${r.rounds} rounds on ${hosts.length} host${hosts.length === 1 ? '' : 's'}`,
    });
    return { state: 'succeeded', error: null, validation: 'passed', rollBack: false };
  }
  if (r.outcome === 'failed') {
    const reason = `validation failed on ${r.host} (${r.reason})`;
    log.system(null, `✗ ${reason}: rolling every switched host back`);
    events.publish({
      type: 'note',
      deployId: deploy.id,
      text: `⏪ #${deploy.id} ${reason}: switching ${hosts.length} host${hosts.length === 1 ? '' : 's'} back to the previous release`,
    });
    return { state: 'failed', error: `rolled back: ${reason}`, validation: 'failed', rollBack: true };
  }
  const stop = input.stopped();
  if (stop.state === 'interrupted') {
    const error = `${stop.error} (during validation: hosts left on release ${deploy.releaseId}, not rolled back)`;
    return { state: 'interrupted', error, rollBack: false };
  }
  const kept = `validation ${stop.error} after ${r.rounds} round${r.rounds === 1 ? '' : 's'}: release ${deploy.releaseId} stays on ${hosts.length} host${hosts.length === 1 ? '' : 's'} (not counted as validated)`;
  log.system(null, kept);
  events.publish({ type: 'note', deployId: deploy.id, text: `🛑 #${deploy.id} ${kept}` });
  return { state: 'succeeded', error: null, validation: 'cancelled', rollBack: false };
}

/**
 * Records the final state (after every line is stored) while this instance still owns the deploy, frees its
 * lock and publishes the end. A lost race (someone else ended it: recovery found it stale) is logged, not
 * overwritten. Returns whether it won.
 */
export async function endDeploy(
  deps: DeployRunDeps,
  deploy: FullDeploy,
  state: FinalDeployState,
  error: string | null,
  failedHosts: string[],
  validation?: ValidationOutcome,
): Promise<boolean> {
  await deps.writer.drain();
  // lock_after_rollback: a rollback means something is wrong; nobody deploys over it until someone unlocks.
  // The automatic rollback of a failed validation window is a rollback too.
  const autoRolledBack = state === 'failed' && validation === 'failed';
  const rolledBack = (state === 'succeeded' && deploy.kind === 'rollback') || autoRolledBack;
  const reason = autoRolledBack ? AUTO_ROLLBACK_LOCK_REASON : rollbackLockReason(deploy.requester.name);
  const keepLock = rolledBack && lockAfterRollback(deps.config, deploy) ? reason : undefined;
  // The final state and the lock in one write (see Deploys.end): a stop between them must not strand the lock.
  const { won, keptLock } = await deps.store.deploys.end(deploy.id, state, error, {
    owner: deps.owner,
    ...(validation ? { validation } : {}),
    ...(keepLock ? { keepLock } : {}),
  });
  if (!won) {
    deps.logger.warn({ deployId: deploy.id, state }, 'deploy was already ended elsewhere (found stale?): its state is kept');
    return false;
  }
  if (keptLock) {
    deps.events.publish({
      type: 'note',
      deployId: deploy.id,
      text: `🔒 ${deploy.app}/${deploy.environment} stays locked: ${reason} (\`unlock ${deploy.app}/${deploy.environment}\`)`,
    });
  }
  deps.events.publish({ type: 'state', deployId: deploy.id, state, error });
  const final = await deps.store.deploys.get(deploy.id);
  if (final) deps.events.publish({ type: 'ended', deployId: deploy.id, deploy: final, failedHosts });
  return true;
}

/** The reason of the lock an automatic rollback (failed validation) leaves, held by the deploy's requester. */
export const AUTO_ROLLBACK_LOCK_REASON = 'rolled back automatically (validation failed): unlock when fixed';

/** The reason of the lock a successful rollback leaves: 'rolled back by alice: unlock when fixed'. */
export function rollbackLockReason(name: string): string {
  return `rolled back by ${name}: unlock when fixed`;
}

/** The environment's lock_after_rollback (default true; own keys only, as everywhere config is looked up). */
function lockAfterRollback(config: Readonly<Config>, deploy: Pick<FullDeploy, 'app' | 'environment'>): boolean {
  const app = Object.hasOwn(config.apps, deploy.app) ? config.apps[deploy.app] : undefined;
  const env = app && Object.hasOwn(app.environments, deploy.environment) ? app.environments[deploy.environment] : undefined;
  return env?.lock_after_rollback ?? true;
}

/** Deploy.commitAt ← the committer date of the deployed SHA (GitHub or git). Never throws. */
async function recordCommitTime(deps: DeployRunDeps, plan: Plan, deploy: FullDeploy): Promise<void> {
  try {
    const at = await deps.revisions.commitTime(plan, deploy.sha);
    if (at) await deps.store.deploys.setCommitAt(deploy.id, at);
  } catch (err) {
    deps.logger.warn({ err, deployId: deploy.id }, 'commit time unknown: lead time will count from the request');
  }
}

/** The value of `promise` if it settles within `ms`, else undefined (it goes on, unwaited). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.catch(() => undefined),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
