/**
 * The local transport: the same plan, run on the bot's own machine (`transport: local`, the demo app).
 * Each script is `/bin/sh -c <script>` in its own process group, so a timeout or cancel kills everything it
 * started. Scripts get a clean environment (PATH, HOME, locale and the SHEPHERD_* variables), never the bot's
 * own, which holds chat and GitHub tokens.
 *
 *   const session = await new LocalTransport().connect(host, 10_000);
 */
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { PlannedHost } from './plan.js';
import { deliver, type RunRequest, type RunResult, type Session, type Transport } from './transport.js';

const PASSED_THROUGH = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

export class LocalTransport implements Transport {
  constructor(private readonly killGraceMs = 5000) {}

  async connect(_host: PlannedHost, _connectTimeoutMs: number): Promise<Session> {
    return new LocalSession(this.killGraceMs);
  }
}

class LocalSession implements Session {
  constructor(private readonly killGraceMs: number) {}

  run(request: RunRequest): Promise<RunResult> {
    return new Promise((done) => {
      const result: RunResult = { code: null, signal: null, timedOut: false, cancelled: false };
      if (request.signal?.aborted) {
        result.cancelled = true;
        done(result);
        return;
      }
      const base: Record<string, string> = {};
      for (const k of PASSED_THROUGH) if (process.env[k] !== undefined) base[k] = process.env[k] as string;
      const cwd = request.cwd ? (request.cwd.startsWith('~/') ? resolve(homedir(), request.cwd.slice(2)) : resolve(request.cwd)) : undefined;
      const child = spawn('/bin/sh', ['-c', request.script], { cwd, env: { ...base, ...request.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const timers: NodeJS.Timeout[] = [];
      const killGroup = (signal: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, signal);
        } catch {}
      };
      const stop = () => {
        killGroup('SIGTERM');
        timers.push(setTimeout(() => killGroup('SIGKILL'), this.killGraceMs));
      };
      const onAbort = () => {
        result.cancelled = true;
        stop();
      };
      request.signal?.addEventListener('abort', onAbort, { once: true });
      if (request.timeoutMs) {
        timers.push(
          setTimeout(() => {
            result.timedOut = true;
            stop();
          }, request.timeoutMs),
        );
      }
      child.stdout.on('data', (chunk: Buffer) => deliver(request, 'stdout', chunk, child.stdout));
      child.stderr.on('data', (chunk: Buffer) => deliver(request, 'stderr', chunk, child.stderr));
      child.on('error', (err) => {
        result.error = `could not start /bin/sh: ${err.message}`;
      });
      child.on('close', (code, signal) => {
        for (const t of timers) clearTimeout(t);
        request.signal?.removeEventListener('abort', onAbort);
        // The shell is gone; anything it left running in its group goes too.
        if (result.timedOut || result.cancelled) killGroup('SIGKILL');
        result.code = code;
        result.signal = signal;
        done(result);
      });
    });
  }

  async close(): Promise<void> {}
}
