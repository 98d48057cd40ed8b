/**
 * The `ha` benchmark's breakdown of live-line lag: for each line a viewer saw live, where the time went between
 * the host printing it and the viewer parsing it, from the probes' files (bench/support/line-probe.mjs, one per
 * instance) and what the viewer saw (the host's clock in the text, A's receive time `at` in the frame). A leg can
 * be negative: A marks a batch stored when its loop sees the INSERT return, and B may have been woken (the NOTIFY
 * goes out with the commit) or have read it before.
 *
 *   const legs = lineLegs(seen, { A: readProbe('a.jsonl'), B: readProbe('b.jsonl') });
 *   printLegs(legs);
 */
import { existsSync, readFileSync } from 'node:fs';
import { ms, percentile, printTable } from './section.js';

/** A line as its viewer saw it. */
export interface SeenLine {
  deployId: number;
  seq: number;
  /** Instance the viewer was connected to. */
  viewer: string;
  printed: number;
  /** When the running instance got it from ssh (the frame's `at`). */
  received: number;
  parsed: number;
}

type ProbeRecord =
  | { t: number; leg: 'stored' | 'notified'; d: [number, number][] }
  | { t: number; leg: 'read'; deployId: number; after: number; last: number }
  | { t: number; leg: 'sent'; deployId: number; first: number; last: number }
  | { t: number; leg: 'loop'; p50: number; p99: number; max: number };

export function readProbe(file: string): ProbeRecord[] {
  if (!existsSync(file)) return [];
  const out: ProbeRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as ProbeRecord);
    } catch {
      // a line cut by SIGKILL
    }
  }
  return out;
}

export const LEGS = [
  'host print → A got it (ssh, A busy)',
  'A got it → A saw it stored (batch, INSERT)',
  'A saw it stored → B woken (NOTIFY, B busy)',
  'B woken → B read back (0: carried)',
  'B read back → frame written',
  'frame written → parsed (viewer)',
] as const;

export interface Legs {
  /** Per line: the six legs in ms (NaN where a probe saw nothing), and the total. */
  rows: { legs: number[]; total: number; carried: boolean }[];
  /** Per instance: the event loop's delay (ms) in each 250 ms window. */
  loop: Map<string, { p99: number[]; max: number[] }>;
}

/** First time at which `covers(record)` holds, over records sorted by time. */
function first<T extends { t: number }>(records: readonly T[], covers: (r: T) => boolean): number {
  for (const r of records) if (covers(r)) return r.t;
  return Number.NaN;
}

export function lineLegs(seen: readonly SeenLine[], probes: Record<string, ProbeRecord[]>): Legs {
  const stored = new Map<number, { t: number; seq: number }[]>();
  const byInstance = new Map<
    string,
    { notified: Map<number, { t: number; seq: number }[]>; read: Map<number, ProbeRecord[]>; sent: Map<number, ProbeRecord[]> }
  >();
  const loop: Legs['loop'] = new Map();
  const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => {
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  };
  for (const [name, records] of Object.entries(probes)) {
    const mine = { notified: new Map(), read: new Map(), sent: new Map() };
    byInstance.set(name, mine);
    const l = { p99: [] as number[], max: [] as number[] };
    loop.set(name, l);
    for (const r of [...records].sort((a, b) => a.t - b.t)) {
      if (r.leg === 'stored') for (const [id, seq] of r.d) push(stored, id, { t: r.t, seq });
      else if (r.leg === 'notified') for (const [id, seq] of r.d) push(mine.notified, id, { t: r.t, seq });
      else if (r.leg === 'read' || r.leg === 'sent') push(mine[r.leg], r.deployId, r);
      else if (r.leg === 'loop') {
        l.p99.push(r.p99);
        l.max.push(r.max);
      }
    }
  }
  const rows = seen.map((s) => {
    const at = byInstance.get(s.viewer);
    const tStored = first(stored.get(s.deployId) ?? [], (r) => r.seq >= s.seq);
    // Any notification up to its seq or beyond comes after its batch's commit (A may see that commit later still).
    const tNotified = first(at?.notified.get(s.deployId) ?? [], (r) => r.seq >= s.seq);
    const tRead = first(at?.read.get(s.deployId) ?? [], (r) => r.leg === 'read' && r.after < s.seq && s.seq <= r.last);
    const tSent = first(at?.sent.get(s.deployId) ?? [], (r) => r.leg === 'sent' && r.first <= s.seq && s.seq <= r.last);
    // Woken by the NOTIFY, or read before it came (the 1 s sweep, or a wake-up for an earlier batch).
    const tWoken = Number.isNaN(tNotified) ? tRead : Number.isNaN(tRead) ? tNotified : Math.min(tNotified, tRead);
    // Carried in the NOTIFY (no read before it was written): its read leg is nil.
    const carried = !(tRead <= tSent);
    const marks = [s.printed, s.received, tStored, tWoken, carried ? tWoken : tRead, tSent, s.parsed];
    const legs = LEGS.map((_, i) => (marks[i + 1] as number) - (marks[i] as number));
    return { legs, total: s.parsed - s.printed, carried };
  });
  return { rows, loop };
}

/** Per leg: p50 and p99 over all lines, and its mean share among the slowest 1 % of lines (where the tail waits). */
export function printLegs({ rows, loop }: Legs): void {
  if (rows.length === 0) return;
  const cut = percentile(
    rows.map((r) => r.total),
    99,
  );
  const tail = rows.filter((r) => r.total >= cut);
  const mean = (xs: number[]) => {
    const ok = xs.filter((x) => !Number.isNaN(x));
    return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : Number.NaN;
  };
  const table: string[][] = [['leg (ms)', 'p50', 'p99', `mean in slowest 1 % (${tail.length} lines ≥ ${ms(cut)})`]];
  LEGS.forEach((name, i) => {
    const xs = rows.map((r) => r.legs[i] as number).filter((x) => !Number.isNaN(x));
    table.push([name, ms(percentile(xs, 50)), ms(percentile(xs, 99)), ms(mean(tail.map((r) => r.legs[i] as number)))]);
  });
  table.push([
    'total',
    ms(
      percentile(
        rows.map((r) => r.total),
        50,
      ),
    ),
    ms(cut),
    ms(mean(tail.map((r) => r.total))),
  ]);
  const unmatched = rows.filter((r) => r.legs.some((x) => Number.isNaN(x))).length;
  printTable(table);
  console.log(`  ${rows.filter((r) => r.carried).length} of ${rows.length} lines came in their NOTIFY, the others were read back from the database`);
  if (unmatched) console.log(`  (${unmatched} of ${rows.length} lines lack a probe mark: the killed instance's last writes)`);
  const loopRows: string[][] = [['event-loop delay (ms, 250 ms windows)', 'p50 of window p99', 'p99 of window p99', 'max']];
  for (const [name, l] of loop) if (l.p99.length) loopRows.push([name, ms(percentile(l.p99, 50)), ms(percentile(l.p99, 99)), ms(Math.max(...l.max))]);
  printTable(loopRows);
}
