/**
 * How the engine reaches a host: open a session once, run many scripts on it, close it. The ssh transport
 * runs them through OpenSSH on the host; the local transport on the bot's own machine (the demo app).
 *
 *   const session = await transport.connect(host, 10_000);
 *   const r = await session.run({ script: 'npm ci', cwd: '/srv/web/releases/x', env, timeoutMs: 600_000 });
 *   if (r.code !== 0) ...; await session.close();
 */
import type { PlannedHost } from './plan.js';

export type OutputStream = 'stdout' | 'stderr';

export interface RunRequest {
  /** A shell script: a step from shepherd.yml, or a command Shepherd built with quote(). Never chat text. */
  script: string;
  /** Working directory on the host (`~/` allowed). */
  cwd?: string | undefined;
  /** Exported to the script; values are data, never parsed by the shell. */
  env?: Record<string, string> | undefined;
  /** The script (and everything it started) is killed after this long. */
  timeoutMs?: number | undefined;
  /** Aborting kills the script (and everything it started). */
  signal?: AbortSignal | undefined;
  /** Output as it arrives. A returned promise pauses reading until it resolves (backpressure). */
  onOutput?: ((stream: OutputStream, chunk: Buffer) => void | Promise<void>) | undefined;
}

export interface RunResult {
  /** Exit code; null when killed by a signal or the connection dropped. */
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  /** Set when the run could not complete for a reason other than the script (connection lost). */
  error?: string | undefined;
}

export interface Session {
  run(request: RunRequest): Promise<RunResult>;
  close(): Promise<void>;
}

export interface Transport {
  /** Fails (rejects) within connectTimeoutMs when the host cannot be reached or refuses us. */
  connect(host: PlannedHost, connectTimeoutMs: number): Promise<Session>;
}

/** A result as one short phrase for logs and chat: 'exit code 2', 'timed out after 5s', 'cancelled'. */
export function describeResult(result: RunResult, timeoutMs?: number): string {
  if (result.cancelled) return 'cancelled';
  if (result.timedOut) return `timed out${timeoutMs ? ` after ${Math.round(timeoutMs / 100) / 10}s` : ''}`;
  if (result.error) return result.error;
  if (result.code !== null) return `exit code ${result.code}`;
  return `killed by signal ${result.signal ?? '?'}`;
}

/** Feeds a chunk to onOutput and pauses `source` while a returned promise is pending. */
export function deliver(request: RunRequest, stream: OutputStream, chunk: Buffer, source: { pause(): unknown; resume(): unknown }): void {
  const wait = request.onOutput?.(stream, chunk);
  if (wait && typeof (wait as Promise<void>).then === 'function') {
    source.pause();
    void (wait as Promise<void>).then(
      () => source.resume(),
      () => source.resume(),
    );
  }
}
