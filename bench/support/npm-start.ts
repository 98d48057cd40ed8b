/**
 * Starting Shepherd in a benchmark as users do: Node's arguments of `npm start` as package.json says them (the
 * compiled build, scripts/start.mjs), with the build made fresh first, so no instance pays for (or races on)
 * building it at its start.
 *
 *   await freshBuild((why) => console.log(`building (${why})`));
 *   spawn(process.execPath, npmStartArgs(), { cwd: ROOT });
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, staleness } from '../../scripts/build.mjs';

export const ROOT = join(import.meta.dirname, '..', '..');

/** Node's arguments of `npm start` (e.g. `--liftoff-only scripts/start.mjs`). */
export function npmStartArgs(): string[] {
  const start: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const [cmd, ...args] = start.split(/\s+/);
  if (cmd !== 'node') throw new Error(`npm start is "${start}", not node: update bench/support/npm-start.ts`);
  return args;
}

/** Node's own options in `npm start` (e.g. `--liftoff-only --max-semi-space-size=8`): what a benchmark's bot runs with. */
export function npmStartNodeOptions(): string[] {
  const args = npmStartArgs();
  const script = args.findIndex((a) => !a.startsWith('-'));
  return script < 0 ? args : args.slice(0, script);
}

/** Builds when a source is newer than the build (what `npm start` would do first); says why through `say`. */
export async function freshBuild(say: (why: string) => void = () => {}): Promise<void> {
  const stale = staleness();
  if (!stale) return;
  say(stale);
  await build();
}
