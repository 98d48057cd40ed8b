/**
 * A real Shepherd process (`node --import tsx src/main.ts`) with the terminal chat on piped stdin, for tests
 * that need several processes on one database, signals, or a crash.
 *
 *   const bot = startBotProcess({ SHEPHERD_CONFIG: cfg, DATABASE_URL: url });
 *   bot.say('deploy slow'); await bot.waitFor(/queued behind/); bot.child.kill('SIGTERM'); await bot.exited;
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { vi } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

export interface BotProcess {
  child: ChildProcess;
  /** Everything it printed (stdout and stderr). */
  output(): string;
  /** Types a line into its terminal chat. */
  say(line: string): void;
  /** Waits until its output matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

export function startBotProcess(env: Record<string, string>): BotProcess {
  // node itself (not npx/npm) so that signals hit the bot and nothing in between.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    say: (line) => child.stdin?.write(`${line}\n`),
    waitFor: (pattern, timeoutMs = 60_000) => vi.waitFor(() => expect(out).toMatch(pattern), { timeout: timeoutMs, interval: 50 }),
    exited,
  };
}

/** Ends a process group started by a step that outlived its bot (SIGKILL leaves it behind). */
export function killGroup(pid: number | null): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}

function expect(value: string) {
  return {
    toMatch(pattern: RegExp) {
      if (!pattern.test(value)) throw new Error(`output does not match ${pattern}:\n${value.slice(-2000)}`);
    },
  };
}
