/**
 * Starting Shepherd in a benchmark as users do: Node's arguments of `npm start` as package.json says them (the
 * compiled build, scripts/start.mjs), with the build made fresh first, so no instance pays for (or races on)
 * building it at its start.
 *
 *   await freshBuild((why) => console.log(`building (${why})`));
 *   spawn(process.execPath, npmStartArgs(), { cwd: ROOT });
 */
import { join } from 'node:path';
import { build, staleness } from '../../scripts/build.mjs';

export { npmStartArgs, npmStartNodeOptions } from './node-options.js';

export const ROOT = join(import.meta.dirname, '..', '..');

/** Builds when a source is newer than the build (what `npm start` would do first); says why through `say`. */
export async function freshBuild(say: (why: string) => void = () => {}): Promise<void> {
  const stale = staleness();
  if (!stale) return;
  say(stale);
  await build();
}
