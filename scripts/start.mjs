/**
 * `npm start`: runs the compiled build (scripts/build.mjs) of src/main.ts. When a source file is newer than the
 * build (a `git pull`, an edit, a fresh clone whose install skipped the build), it builds first, so old code
 * never runs silently; checking costs a stat per source file, building about a second.
 *
 *   node scripts/start.mjs          # what `npm start` runs
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { build, currentBuild, DIST, staleness } from './build.mjs';

let current = currentBuild();
const stale = staleness(current);
if (stale) {
  process.stderr.write(`shepherd: building (${stale})...\n`);
  await build();
  current = currentBuild();
}
await import(pathToFileURL(join(DIST, current.entry)).href);
