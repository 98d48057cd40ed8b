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
import { readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DIST = join(ROOT, 'dist');
const CURRENT = join(DIST, 'current.json');
/** Builds kept beside the current one: a bot started from an older build may still load its lazy chunks. */
const KEEP = 3;
/**
 * Dependencies compiled into the build instead of loaded from node_modules at run time: the ones loaded before
 * IRC joins (configuration, logger, IRC client). Node resolves, opens and compiles each file of a package
 * separately (yaml, zod and irc-framework with its lodash are hundreds of files); one bundled chunk loads in
 * about half the time. Pure JavaScript only: native addons, Prisma (wasm beside its files) and everything else
 * stay external.
 */
const BUNDLED = ['yaml', 'zod', 'pino', 'irc-framework'];

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
  const sources = sourcesOf(build);
  return verdict(
    build,
    sources,
    sources.map((input) => statSync(join(root, input), { throwIfNoEntry: false })?.mtimeMs),
  );
}

/**
 * The same as staleness, with the stat calls on libuv's thread pool at once: `npm start` checks while it loads
 * the build (scripts/start.mjs), so the two hundred stat calls cost the start next to nothing.
 *
 *   await stalenessAsync(currentBuild()) // null
 */
export async function stalenessAsync(build = currentBuild(), root = ROOT) {
  if (!build) return 'no build yet';
  const sources = sourcesOf(build);
  const mtimes = await Promise.all(
    sources.map((input) =>
      stat(join(root, input)).then(
        (s) => s.mtimeMs,
        () => undefined,
      ),
    ),
  );
  return verdict(build, sources, mtimes);
}

function sourcesOf(build) {
  return [...build.inputs, 'scripts/build.mjs', 'package.json'];
}

/** The first source (in order) that is gone or newer than the build. */
function verdict(build, sources, mtimes) {
  for (let i = 0; i < sources.length; i++) {
    if (mtimes[i] === undefined) return `${sources[i]} is gone`;
    if (mtimes[i] > build.builtAt) return `${sources[i]} changed`;
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
  // Our sources, and the package.json of each bundled package (an upgrade rewrites it, so the build is redone).
  const bundled = new Set(
    Object.keys(result.metafile.inputs)
      .map((p) => p.match(/^(.*?node_modules\/(?:@[^/]+\/)?[^/]+)\//)?.[1])
      .filter(Boolean)
      .map((dir) => `${dir}/package.json`),
  );
  const inputs = [...Object.keys(result.metafile.inputs).filter((p) => !p.includes('node_modules')), ...bundled];
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
    outdir,
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    // CommonJS inside the bundled packages calls require() for Node's own modules.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    plugins: [sourceUrls(outdir), externalPackages(BUNDLED)],
  };
}

/**
 * Code that finds files relative to itself (`new URL('../../prisma/migrations', import.meta.url)`) must find
 * them from the build as from the sources: each module's import.meta.url is its source file's URL.
 */
export function sourceUrls(outdir) {
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

/**
 * Every package import stays an import from node_modules, except the packages named (and whatever they import
 * in turn), which are compiled in.
 */
function externalPackages(bundled) {
  const name = (spec) =>
    spec
      .split('/')
      .slice(0, spec.startsWith('@') ? 2 : 1)
      .join('/');
  return {
    name: 'external-packages',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        if (bundled.includes(name(args.path)) || args.importer.includes('/node_modules/')) return undefined;
        return { path: args.path, external: true };
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
