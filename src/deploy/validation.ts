/**
 * The validation window after a deploy switched every host (`validate:` of its environment): a round of
 * checks on every switched host every `every`, for `for`. A check is the environment's `check` command, run on
 * the host through the deploy's own transport (in `current`, SHEPHERD_* values exported quoted, as steps get
 * them), or its `url` fetched with `{host}` filled in. A host whose checks fail more than `max_failures` times
 * ends the window `failed`; the caller switches every host back (deploy-run.ts). Each round is published
 * (DeployEvents `validation`) and logged; nothing here touches the database.
 *
 *   const r = await runValidation({ deploy, plan, hosts, transport, log, events, signal, settings });
 *   if (r.outcome === 'failed') reason = `validation failed on ${r.host} (${r.reason})`;
 */
import pLimit from 'p-limit';
import { type ValidateConfig, validationUrl } from '../config.js';
import { formatDuration } from '../duration.js';
import type { FullDeploy } from '../store/deploys.js';
import type { DeployEvents } from './events.js';
import { plannedHost } from './host-run.js';
import type { DeployLog } from './log-pipeline.js';
import type { Plan } from './plan.js';
import { describeResult, type Session, type Transport } from './transport.js';

/** A check without its own `timeout` gets one interval, but never less than this (a busy host is not a dead one). */
export const MIN_CHECK_TIMEOUT_MS = 5_000;

export type ValidationResult =
  | { outcome: 'passed'; rounds: number }
  /** `host` failed more than max_failures times; `reason` is its last failure ("HTTP 502"). */
  | { outcome: 'failed'; rounds: number; host: string; reason: string; at: Date }
  /** The signal stopped it (cancel, a rollback taking precedence, a graceful stop). */
  | { outcome: 'stopped'; rounds: number };

/** One round as published: who failed this round, and how often each has failed in the window so far. */
export interface ValidationRound {
  round: number;
  /** Rounds in a full window: floor(for / every) + 1 (one at the start, one at the end). */
  rounds: number;
  hosts: number;
  failing: { host: string; reason: string; failures: number }[];
  maxFailures: number;
}

export interface ValidationInput {
  deploy: FullDeploy;
  plan: Plan;
  /** The hosts that switched to the new release: the ones checked, and the ones switched back on failure. */
  hosts: FullDeploy['hosts'];
  transport: Transport;
  log: DeployLog;
  events: DeployEvents;
  signal: AbortSignal;
  settings: ValidateConfig;
}

/** One host's check, reused round after round (a command check keeps its session open). */
interface HostCheck {
  /** null when it passed, else why it failed ("HTTP 502", "exit code 1: connection refused"). */
  run(round: number): Promise<string | null>;
  close(): Promise<void>;
}

export function checkTimeoutMs(settings: Pick<ValidateConfig, 'every' | 'timeout'>): number {
  return settings.timeout ?? Math.max(settings.every, MIN_CHECK_TIMEOUT_MS);
}

/** Rounds in a full window: one at the start, then one every `every` until `for` has passed. */
export function windowRounds(settings: Pick<ValidateConfig, 'for' | 'every'>): number {
  return Math.floor(settings.for / settings.every) + 1;
}

export async function runValidation(input: ValidationInput): Promise<ValidationResult> {
  const { deploy, plan, hosts, log, events, signal, settings } = input;
  const rounds = windowRounds(settings);
  const timeoutMs = checkTimeoutMs(settings);
  const what = settings.url ? `GET ${settings.url}` : `$ ${settings.check}`;
  log.system(
    null,
    `validating on ${hosts.length} host(s) for ${formatDuration(settings.for)}, every ${formatDuration(settings.every)}: ${what} (more than ${settings.max_failures} failure(s) on a host rolls back)`,
  );
  const checks = new Map(hosts.map((row) => [row.host, settings.url ? urlCheck(row, settings.url, timeoutMs, signal) : commandCheck(input, row, timeoutMs)]));
  const failures = new Map<string, number>();
  const limit = pLimit(Math.max(1, plan.concurrency));
  const started = Date.now();
  let round = 0;
  try {
    for (;;) {
      if (signal.aborted) return { outcome: 'stopped', rounds: round };
      round++;
      const results = await Promise.all(hosts.map((row) => limit(async () => ({ host: row.host, reason: await checks.get(row.host)?.run(round) }))));
      // A check cut short by the stop is no verdict on the host.
      if (signal.aborted) return { outcome: 'stopped', rounds: round - 1 };
      const failing = results
        .filter((r): r is { host: string; reason: string } => typeof r.reason === 'string')
        .map((r) => {
          const count = (failures.get(r.host) ?? 0) + 1;
          failures.set(r.host, count);
          return { host: r.host, reason: r.reason, failures: count };
        });
      for (const f of failing) log.system(f.host, `✗ validation round ${round}: ${f.reason} (failure ${f.failures}, at most ${settings.max_failures} allowed)`);
      log.system(null, `validation round ${round}/${rounds}: ${hosts.length - failing.length}/${hosts.length} host(s) ok`);
      const summary: ValidationRound = { round, rounds, hosts: hosts.length, failing, maxFailures: settings.max_failures };
      events.publish({ type: 'validation', deployId: deploy.id, ...summary });
      const over = failing.find((f) => f.failures > settings.max_failures);
      if (over) return { outcome: 'failed', rounds: round, host: over.host, reason: over.reason, at: new Date() };
      // The next round is due `every` after the start of this window's previous one; past `for`, it passed.
      const due = started + round * settings.every;
      if (due - started > settings.for) return { outcome: 'passed', rounds: round };
      await sleep(due - Date.now(), signal);
    }
  } finally {
    await Promise.allSettled([...checks.values()].map((c) => c.close()));
  }
}

/** `check:` on the host, through the deploy's transport, in `current`; a session kept for the window. */
function commandCheck(input: ValidationInput, row: FullDeploy['hosts'][number], timeoutMs: number): HostCheck {
  const { deploy, plan, transport, signal, settings } = input;
  let session: Session | undefined;
  return {
    async run(round) {
      try {
        session ??= await transport.connect(plannedHost(row), plan.connectTimeoutMs);
      } catch (err) {
        return `cannot connect: ${(err as Error).message}`;
      }
      let last = '';
      const result = await session.run({
        script: settings.check as string,
        cwd: `${plan.deployTo}/current`,
        env: {
          SHEPHERD_APP: deploy.app,
          SHEPHERD_ENV: deploy.environment,
          SHEPHERD_SHA: deploy.sha,
          SHEPHERD_DEPLOY_ID: String(deploy.id),
          SHEPHERD_HOST: row.host,
          SHEPHERD_VALIDATION_ROUND: String(round),
        },
        timeoutMs,
        signal,
        onOutput: (_stream, chunk) => {
          // Only the last line is kept: it says why a check failed ("curl: (22) ... 502").
          const text = chunk.toString('utf8').trim();
          if (text) last = (text.split('\n').pop() ?? '').slice(0, 200);
        },
      });
      if (result.error) {
        // The connection dropped: the next round connects again.
        const dropped = session;
        session = undefined;
        await dropped.close().catch(() => {});
      }
      if (result.code === 0 && !result.timedOut && !result.cancelled) return null;
      return `${describeResult(result, timeoutMs)}${last ? `: ${last}` : ''}`;
    },
    async close() {
      await session?.close().catch(() => {});
    },
  };
}

/** `url:` fetched for the host ({host} filled in); any 2xx or 3xx passes. */
function urlCheck(row: FullDeploy['hosts'][number], template: string, timeoutMs: number, signal: AbortSignal): HostCheck {
  const url = validationUrl(template, plannedHost(row).host);
  return {
    async run() {
      try {
        const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), redirect: 'manual' });
        await res.body?.cancel().catch(() => {});
        return res.status >= 200 && res.status < 400 ? null : `HTTP ${res.status}`;
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        if (e.name === 'TimeoutError') return `no answer within ${formatDuration(timeoutMs)}`;
        if (e.name === 'AbortError') return 'stopped';
        return `cannot connect (${e.cause?.code ?? e.cause?.message ?? e.message})`;
      }
    },
    async close() {},
  };
}

/** Waits `ms` (at least one macrotask), or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
  });
}
