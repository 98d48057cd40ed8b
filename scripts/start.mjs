/**
 * `npm start`: runs the compiled build (scripts/build.mjs) of src/main.ts. When a source file is newer than the
 * build (a `git pull`, an edit, a fresh clone whose install skipped the build), it builds first, so old code
 * never runs silently. The check (a stat per source file, on the thread pool) overlaps with loading the build;
 * the build is started (main()) only once it is known to be fresh. Building takes a few seconds.
 *
 *   node scripts/start.mjs          # what `npm start` runs
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, currentBuild, DIST, stalenessAsync } from './build.mjs';

/** The build's entry module (scripts/start-entry.ts): importing it starts nothing, main() does. */
const load = (record) => import(pathToFileURL(join(DIST, record.entry)).href);

let current = currentBuild();
// A build that cannot even load (a package it imports is gone) is stale anyway; if it is fresh, that error shows.
const loading = current ? load(current).catch((err) => ({ failed: err })) : undefined;
const stale = await stalenessAsync(current);
let entry = await loading;
if (stale) {
  process.stderr.write(`shepherd: building (${stale})...\n`);
  await build();
  current = currentBuild();
  entry = await load(current);
} else if (entry?.failed) {
  throw entry.failed;
}
await entry.main();
