/**
 * What a benchmark section is, and the small helpers every section uses to report figures the same way.
 * bench/run.ts lists the sections; adding one is an import and a line there. A section prints its own tables
 * and records its headline figures with figure(): a full run ends with one summary table of every figure, its
 * baseline, the ratio and the goal.
 *
 *   export const irc: BenchSection = { name: 'irc', summary: 'IRC round trips through ngircd', run: async () => { ... } };
 *   figure({ name: 'first reply p50', value: 13.9, unit: 'ms', baseline: { name: 'Hubot', value: 2.1 }, goal: { ratio: 2 } });
 */
export interface BenchSection {
  /** What `npm run bench -- <name>` selects. */
  name: string;
  /** One line shown before the section runs. */
  summary: string;
  /** Runs the measurements and prints them; throws when it cannot measure (the runner reports it and goes on). */
  run(): Promise<void>;
}

/** One headline figure of a section, for the summary table. */
export interface Figure {
  /** Filled in by the runner: the section that was running. */
  section?: string;
  name: string;
  value: number;
  unit: string;
  /** What the figure is compared with, measured in the same run. */
  baseline?: { name: string; value: number };
  /** Upper bounds: on the value itself, and/or on value / baseline. */
  goal?: { max?: number; ratio?: number };
  /** A short remark (how it was measured, e.g. 'CPU time, steadier than wall time on a busy machine'). */
  note?: string;
}

const figures: Figure[] = [];
let current: string | undefined;

/** Records a figure of the section now running. */
export function figure(f: Figure): void {
  figures.push({ ...f, section: f.section ?? current ?? '?' });
}

/** The runner says which section runs (figures are filed under it). */
export function runningSection(name: string | undefined): void {
  current = name;
}

/** Every figure recorded so far. */
export function recordedFigures(): readonly Figure[] {
  return figures;
}

function goalText(f: Figure): string {
  const parts: string[] = [];
  if (f.goal?.ratio !== undefined) parts.push(`≤ ${f.goal.ratio}×`);
  if (f.goal?.max !== undefined) parts.push(`≤ ${f.goal.max} ${f.unit}`.trim());
  return parts.join(', ');
}

/** 'ok', 'MISSED' or '' (no goal) for a figure. */
export function figureVerdict(f: Figure): string {
  if (!f.goal) return '';
  const okMax = f.goal.max === undefined || (Number.isFinite(f.value) && f.value <= f.goal.max);
  const okRatio = f.goal.ratio === undefined || (f.baseline !== undefined && f.baseline.value > 0 && f.value / f.baseline.value <= f.goal.ratio);
  return okMax && okRatio ? 'ok' : 'MISSED';
}

function value(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '—';
  const n = Number.isInteger(v) ? String(v) : ms(v);
  return unit ? `${n} ${unit}` : n;
}

/** The summary table of every recorded figure: section, figure, value, baseline, ratio, goal, verdict. */
export function printSummary(list: readonly Figure[] = figures): void {
  if (list.length === 0) return;
  console.log('\n== summary: every figure of this run next to its baseline (same machine, same run) ==');
  printTable([
    ['section', 'figure', 'value', 'baseline', 'ratio', 'goal', ''],
    ...list.map((f) => [
      f.section ?? '?',
      f.name,
      value(f.value, f.unit),
      f.baseline ? `${value(f.baseline.value, f.unit)} (${f.baseline.name})` : '',
      f.baseline ? ratio(f.value, f.baseline.value) : '',
      goalText(f),
      figureVerdict(f),
    ]),
  ]);
  const notes = list.filter((f) => f.note);
  for (const f of notes) console.log(`  ${f.section} / ${f.name}: ${f.note}`);
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
