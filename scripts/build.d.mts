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
export function stalenessAsync(build?: BuildRecord | null, root?: string): Promise<string | null>;
export function build(): Promise<{ outdir: string; inputs: string[] }>;
/** The esbuild plugin that keeps each module's import.meta.url its source file's URL (for files found relative to it). */
export function sourceUrls(outdir: string): import('esbuild').Plugin;
export function esbuildOptions(entryPoints: Record<string, string>, outdir: string): import('esbuild').BuildOptions & { metafile: true };
