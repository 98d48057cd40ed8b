/** Types of scripts/build.mjs (see there). */
export interface BuildRecord {
  /** The entry to import, relative to dist/. */
  entry: string;
  /** When the build started (ms since the epoch): a source modified after this makes it stale. */
  builtAt: number;
  /** The source files it was made from, relative to the repository root. */
  inputs: string[];
}
export const DIST: string;
export function currentBuild(): BuildRecord | null;
export function staleness(build?: BuildRecord | null, root?: string): string | null;
export function build(): Promise<{ outdir: string; inputs: string[] }>;
export function esbuildOptions(entryPoints: Record<string, string>, outdir: string): import('esbuild').BuildOptions & { metafile: true };
