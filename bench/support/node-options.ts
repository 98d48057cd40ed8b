/**
 * Node's arguments of `npm start` as package.json says them, read without importing the build (the benches that
 * bundle themselves must not carry scripts/build.mjs: see bench/sse.ts).
 *
 *   npmStartArgs()        // ['--liftoff-only', '--max-semi-space-size=8', 'scripts/start.mjs']
 *   npmStartNodeOptions() // ['--liftoff-only', '--max-semi-space-size=8']
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** Node's arguments of `npm start` (e.g. `--liftoff-only scripts/start.mjs`). */
export function npmStartArgs(): string[] {
  const start: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const [cmd, ...args] = start.split(/\s+/);
  if (cmd !== 'node') throw new Error(`npm start is "${start}", not node: update bench/support/node-options.ts`);
  return args;
}

/** Node's own options in `npm start` (e.g. `--liftoff-only --max-semi-space-size=8`): what a benchmark's bot runs with. */
export function npmStartNodeOptions(): string[] {
  const args = npmStartArgs();
  const script = args.findIndex((a) => !a.startsWith('-'));
  return script < 0 ? args : args.slice(0, script);
}
