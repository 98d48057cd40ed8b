/**
 * Compiles Shepherd (src/, commands/, the generated Prisma client) into one JavaScript build under dist/, so
 * `npm start` runs plain JavaScript instead of compiling TypeScript at every start (tsx). Runs on install
 * (postinstall), and `npm start` runs it again whenever a source file is newer than the build (scripts/start.mjs),
 * so a stale build never runs. Dependencies stay in node_modules; dynamic imports (Slack, IRC, GitHub,
 * PostgreSQL, ...) become chunks loaded only when the configuration uses them.
 *
 *   node scripts/build.mjs          # → dist/<build>/main.js, dist/current.json names it
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DIST = join(ROOT, 'dist');
const CURRENT = join(DIST, 'current.json');
/** Builds kept beside the current one: a bot started from an older build may still load its lazy chunks. */
const KEEP = 3;

/**
 * What `current.json` says: the entry to import and every file the build was made from (ROOT-relative), or
 * null when there is no build.
 */
export function currentBuild() {
  try {
    return JSON.parse(readFileSync(CURRENT, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Why `build` cannot run as is (none yet, a source gone, or a source changed since it was made), or null when
 * it is fresh. Besides its inputs, this script and package.json (dependencies, scripts) count as sources.
 *
 *   staleness(currentBuild()) // 'src/bot.ts changed'
 */
export function staleness(build = currentBuild(), root = ROOT) {
  if (!build) return 'no build yet';
  for (const input of [...build.inputs, 'scripts/build.mjs', 'package.json']) {
    let mtime;
    try {
      mtime = statSync(join(root, input)).mtimeMs;
    } catch {
      return `${input} is gone`;
    }
    if (mtime > build.builtAt) return `${input} changed`;
  }
  return null;
}

/** Compiles into a new dist/<build>/ and then points current.json at it (a rename: readers never see half a build). */
export async function build() {
  mkdirSync(DIST, { recursive: true });
  const { build: esbuild } = await import('esbuild');
  const builtAt = Date.now();
  const name = `build-${builtAt}-${process.pid}`;
  const outdir = join(DIST, name);
  const result = await esbuild(esbuildOptions({ main: join(ROOT, 'scripts/start-entry.ts') }, outdir));
  const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.includes('node_modules'));
  const tmp = `${CURRENT}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ entry: `${name}/main.js`, builtAt, inputs }, null, 1));
  renameSync(tmp, CURRENT);
  prune(name);
  return { outdir, inputs };
}

/**
 * How the build compiles, for other entries compiled the same way (the `logs` benchmark runs its bot so, as
 * `npm start` would).
 *
 *   await esbuild.build(esbuildOptions({ logs: 'bench/logs.ts' }, '/tmp/out'));
 */
export function esbuildOptions(entryPoints, outdir) {
  return {
    entryPoints,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir,
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceUrls(outdir)],
  };
}

/**
 * Code that finds files relative to itself (`new URL('../../prisma/migrations', import.meta.url)`) must find
 * them from the build as from the sources: each module's import.meta.url is its source file's URL.
 */
function sourceUrls(outdir) {
  return {
    name: 'source-urls',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
        if (args.path.includes('node_modules')) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const rel = relative(outdir, args.path).split('\\').join('/');
        return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'ts' };
      });
    },
  };
}

/** Removes all but the newest KEEP builds (and temp files of builds that died half-way). */
function prune(current) {
  const builds = readdirSync(DIST)
    .filter((n) => n.startsWith('build-') && n !== current)
    .sort((a, b) => Number(b.split('-')[1]) - Number(a.split('-')[1]));
  for (const old of builds.slice(KEEP - 1)) rmSync(join(DIST, old), { recursive: true, force: true });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const { outdir, inputs } = await build();
  process.stderr.write(`shepherd: built ${relative(ROOT, outdir)} from ${inputs.length} files in ${Math.round(performance.now() - started)} ms\n`);
}
