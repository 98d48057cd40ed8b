/**
 * One host of a deploy: connect, new release directory, steps, healthcheck, switch `current`, prune; or for a
 * rollback, switch to an existing release. Records the host's state through the lifecycle and publishes it.
 * Never throws: every way out is an outcome.
 *
 *   const outcome = await runHost({ deploys, events }, { deploy, row, plan, transport, log, signal });
 */
import type { Deploys, FullDeploy, HostState } from '../store/deploys.js';
import type { DeployEvents } from './events.js';
import { HostKeyRefused } from './host-keys.js';
import type { DeployLog } from './log-pipeline.js';
import type { Plan, PlannedHost } from './plan.js';
import { HostReleases } from './releases.js';
import { describeResult, type Session, type Transport } from './transport.js';

export interface HostOutcome {
  state: Extract<HostState, 'succeeded' | 'failed' | 'cancelled'>;
  reason: string | null;
  switched: boolean;
  previous: string | null;
}

export interface HostRunDeps {
  deploys: Deploys;
  events: DeployEvents;
  /** Masks a failing step's text before it is quoted in the reason (cut after masking, not before). */
  maskText?: (text: string) => string;
}

export interface HostRunInput {
  deploy: FullDeploy;
  row: FullDeploy['hosts'][number];
  plan: Plan;
  transport: Transport;
  log: DeployLog;
  signal: AbortSignal;
}

export async function runHost(deps: HostRunDeps, { deploy, row, plan, transport, log, signal }: HostRunInput): Promise<HostOutcome> {
  const { deploys, events } = deps;
  const host = row.host;
  const outcome: HostOutcome = { state: 'failed', reason: null, switched: false, previous: null };
  // The finally block records `outcome`, so every exit path updates it rather than returning a copy.
  const cancelled = (reason: string) => Object.assign(outcome, { state: 'cancelled' as const, reason });
  await deploys.updateHost(row.id, { state: 'running', startedAt: new Date() });
  events.publish({ type: 'host', deployId: deploy.id, host, state: 'running' });
  const out = log.host(host);
  let session: Session | undefined;
  try {
    log.system(host, `connecting (${plan.transport})`);
    try {
      session = await transport.connect(plannedHost(row), plan.connectTimeoutMs);
    } catch (err) {
      // A refused host key is its own reason ("host key of ... changed ..."), not a connection problem.
      outcome.reason = err instanceof HostKeyRefused ? err.message : `cannot connect: ${(err as Error).message}`;
      return outcome;
    }
    if (signal.aborted) return cancelled('cancelled');
    const releases = new HostReleases(session, plan.deployTo, plan.stepTimeoutMs, signal);

    if (deploy.kind === 'rollback') {
      outcome.previous = await releases.currentRelease();
      await deploys.updateHost(row.id, { previousRelease: outcome.previous });
      if (outcome.previous === deploy.releaseId) {
        log.system(host, `already on release ${deploy.releaseId}`);
        outcome.state = 'succeeded';
        return outcome;
      }
      if (!(await releases.exists(deploy.releaseId))) {
        outcome.reason = `release ${deploy.releaseId} is no longer on this host`;
        return outcome;
      }
    } else {
      const prepared = await releases.prepare(deploy.releaseId);
      if (!prepared.ok) {
        outcome.reason = prepared.reason;
        return outcome;
      }
      outcome.previous = prepared.previous;
      await deploys.updateHost(row.id, { previousRelease: prepared.previous });
      const env = {
        SHEPHERD_APP: deploy.app,
        SHEPHERD_ENV: deploy.environment,
        SHEPHERD_REF: deploy.ref,
        SHEPHERD_SHA: deploy.sha,
        SHEPHERD_REPO_URL: plan.repoUrl,
        SHEPHERD_RELEASE_DIR: releases.releaseDir(deploy.releaseId),
        SHEPHERD_DEPLOY_ID: String(deploy.id),
        SHEPHERD_HOST: host,
      };
      const steps = [
        ...plan.steps.map((s, i) => ({ script: s, name: `step ${i + 1}/${plan.steps.length}` })),
        ...(plan.healthcheck ? [{ script: plan.healthcheck, name: 'healthcheck' }] : []),
      ];
      for (const step of steps) {
        if (signal.aborted) return cancelled('cancelled');
        log.system(host, `$ ${step.script}`);
        const result = await session.run({
          script: step.script,
          cwd: releases.releaseDir(deploy.releaseId),
          env,
          timeoutMs: plan.stepTimeoutMs,
          signal,
          onOutput: out.onOutput,
        });
        out.end();
        if (result.cancelled) return cancelled(`cancelled during ${step.name}`);
        if (result.code !== 0 || result.timedOut) {
          outcome.reason = `${step.name} ${result.timedOut ? describeResult(result, plan.stepTimeoutMs) : `failed (${describeResult(result)})`}: ${abbreviate(deps.maskText ? deps.maskText(step.script) : step.script)}`;
          log.system(host, `✗ ${outcome.reason}`);
          return outcome;
        }
      }
    }
    // Last chance to stop before anything users see changes.
    if (signal.aborted) return cancelled('cancelled');
    // A deploy removes old releases in the same command (one round trip); a rollback keeps them all.
    const { switched, pruned } =
      deploy.kind === 'deploy'
        ? await releases.switchAndPrune(deploy.releaseId, plan.keepReleases, [deploy.releaseId, outcome.previous])
        : { switched: await releases.switchTo(deploy.releaseId), pruned: null };
    if (!switched.ok) {
      outcome.reason = `could not switch current (${switched.reason})`;
      return outcome;
    }
    outcome.switched = true;
    log.system(host, `current → releases/${deploy.releaseId}`);
    if (pruned && !pruned.ok) log.system(host, `could not remove old releases: ${pruned.reason}`);
    outcome.state = 'succeeded';
    return outcome;
  } catch (err) {
    outcome.reason = `Shepherd failed on this host: ${(err as Error).message}`;
    return outcome;
  } finally {
    out.end();
    await session?.close().catch(() => {});
    if (outcome.reason && outcome.state !== 'succeeded') log.system(host, `✗ ${outcome.reason}`);
    await deploys.updateHost(row.id, { state: outcome.state, error: outcome.reason, finishedAt: new Date() }).catch(() => false);
    events.publish({ type: 'host', deployId: deploy.id, host, state: outcome.state, error: outcome.reason });
  }
}

/** A host that switched to a deploy that did not succeed goes back to the release it had. Never throws. */
export async function switchBack(
  deps: HostRunDeps,
  input: { row: FullDeploy['hosts'][number]; plan: Plan; transport: Transport; log: DeployLog; previous: string | null },
): Promise<void> {
  const { row, plan, transport, log, previous } = input;
  const host = row.host;
  let session: Session | undefined;
  try {
    session = await transport.connect(plannedHost(row), plan.connectTimeoutMs);
    const releases = new HostReleases(session, plan.deployTo, plan.stepTimeoutMs);
    const r = await releases.switchBack(previous);
    if (!r.ok) throw new Error(r.reason);
    log.system(host, previous ? `current → releases/${previous} (rolled back)` : 'current removed (there was no release before)');
    await deps.deploys.updateHost(row.id, { state: 'rolled_back' });
    deps.events.publish({ type: 'host', deployId: row.deployId, host, state: 'rolled_back' });
  } catch (err) {
    log.system(host, `✗ could not switch back: ${(err as Error).message}`);
  } finally {
    await session?.close().catch(() => {});
  }
}

/** A stored host row → how to reach it (the label is `host` or `host:port`). */
export function plannedHost(row: { host: string; port: number; user: string | null; stage: number }): PlannedHost {
  let name = row.host.endsWith(`:${row.port}`) ? row.host.slice(0, -`:${row.port}`.length) : row.host;
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  return { label: row.host, host: name, port: row.port, user: row.user ?? undefined, stage: row.stage };
}

/** The first line of a (masked: cutting first could leave a secret too short to be recognised) script, cut to 60. */
function abbreviate(script: string): string {
  const first = script.split('\n')[0] ?? '';
  return first.length > 60 ? `${first.slice(0, 57)}…` : first;
}
