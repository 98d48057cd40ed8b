/**
 * What a benchmark section is, and the small helpers every section uses to report figures the same way.
 * bench/run.ts lists the sections; adding one is an import and a line there.
 *
 *   export const irc: BenchSection = { name: 'irc', summary: 'IRC round trips through ngircd', run: async () => { ... } };
 */
export interface BenchSection {
  /** What `npm run bench -- <name>` selects. */
  name: string;
  /** One line shown before the section runs. */
  summary: string;
  /** Runs the measurements and prints them; throws when it cannot measure (the runner reports it and goes on). */
  run(): Promise<void>;
}

/** The p-th percentile (0..100) by nearest rank; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** '12.3' for small values, '1234' for large ones. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value < 100 ? value.toFixed(1) : value.toFixed(0);
}

/** How many times slower (>1) or faster (<1) `ours` is than `theirs`. */
export function ratio(ours: number, theirs: number): string {
  if (!Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0) return '—';
  return `${(ours / theirs).toFixed(2)}×`;
}

/** 'ok' or 'MISSED' against an upper bound. */
export function verdict(value: number, max: number): string {
  return Number.isFinite(value) && value <= max ? 'ok' : 'MISSED';
}

/** Prints rows as aligned columns; the first row is the header. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const [n, row] of rows.entries()) {
    console.log(`  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ')}`);
    if (n === 0) console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  }
}
