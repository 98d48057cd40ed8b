import { describe, expect, it } from 'vitest';
import { barChart } from '../../src/web/charts.js';
import { computeDora, type DeployFact, median } from '../../src/web/dora.js';

const NOW = new Date('2026-11-22T12:00:00Z');
const H = 3_600_000;
const D = 24 * H;
const at = (daysAgo: number, hour: number, minute = 0) => new Date(NOW.getTime() - daysAgo * D + (hour - 12) * H + minute * 60_000);

let id = 0;
function deploy(o: Partial<DeployFact> & Pick<DeployFact, 'state' | 'finishedAt'>): DeployFact {
  return {
    id: ++id,
    app: 'web',
    environment: 'production',
    kind: 'deploy',
    createdAt: new Date((o.finishedAt ?? NOW).getTime() - 10 * 60_000),
    commitAt: null,
    ...o,
  };
}

describe('DORA metrics from deploy history', () => {
  const history: DeployFact[] = [
    deploy({ state: 'succeeded', finishedAt: at(30, 10) }), // before the window
    deploy({ state: 'succeeded', finishedAt: at(10, 10, 10), commitAt: at(10, 8) }), // lead 2h10m from commit
    deploy({ state: 'failed', finishedAt: at(9, 12) }), // incident starts
    deploy({ state: 'succeeded', finishedAt: at(9, 13), createdAt: at(9, 12, 50) }), // restores after 1h; lead 10m from request
    deploy({ state: 'succeeded', finishedAt: at(3, 10), commitAt: at(3, 9) }), // ... then rolled back
    deploy({ kind: 'rollback', state: 'succeeded', createdAt: at(3, 11), finishedAt: at(3, 11, 5) }), // restores after 1h5m
    deploy({ state: 'cancelled', finishedAt: at(2, 10) }), // shipped nothing
    deploy({ state: 'failed', finishedAt: at(1, 10) }), // still failing now
    deploy({ state: 'running', finishedAt: null, createdAt: at(0, 11) }),
    deploy({ app: 'api', environment: 'staging', state: 'succeeded', finishedAt: at(4, 10), commitAt: at(5, 10) }),
  ];
  const report = computeDora(history, { now: NOW, weeks: 2 });
  const web = report.groups.find((g) => g.app === 'web')!;

  it('one group per app and environment, sorted', () => {
    expect(report.groups.map((g) => `${g.app}/${g.environment}`)).toEqual(['api/staging', 'web/production']);
    expect(report.days).toBe(14);
  });

  it('deploy frequency counts successful changes in the window (not rollbacks, not rolled-back changes)', () => {
    expect(web.deploys).toBe(2);
    expect(web.deploysPerDay).toBeCloseTo(2 / 14);
  });

  it('lead time: commit → success when the commit time is known, else request → success', () => {
    expect(web.leadTime).toEqual({ medianMs: (2 * H + 10 * 60_000 + 10 * 60_000) / 2, count: 2, fromCommit: 1 });
    const api = report.groups.find((g) => g.app === 'api')!;
    expect(api.leadTime).toEqual({ medianMs: D, count: 1, fromCommit: 1 });
  });

  it('change failure rate: failed or rolled back over finished changes', () => {
    expect(web.changeFailure).toEqual({ failed: 3, total: 5, rate: 0.6 });
  });

  it('time to restore: failure → next success, with the open incident reported', () => {
    expect(web.timeToRestore).toEqual({ medianMs: (H + H + 5 * 60_000) / 2, count: 2, openSince: at(1, 10) });
  });

  it('weekly buckets for the graphs', () => {
    expect(web.weeks.map((w) => [w.deploys, w.failed, w.total])).toEqual([
      [2, 1, 3],
      [0, 2, 2],
    ]);
    expect(web.weeks[0]!.restoreMs).toBe(H);
    expect(web.weeks[1]!.restoreMs).toBe(H + 5 * 60_000);
    expect(web.weeks[1]!.leadTimeMs).toBeNull();
  });

  it('no finished deploy, no group', () => {
    expect(computeDora([deploy({ state: 'running', finishedAt: null })], { now: NOW }).groups).toEqual([]);
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
  });

  it('validation: an automatic rollback is a failed change restored when it ended; a rolled-back validated change failed from going live', () => {
    const facts: DeployFact[] = [
      deploy({ state: 'succeeded', finishedAt: at(5, 10), validation: 'passed', validationStartedAt: at(5, 9, 55) }),
      // Live at 11:00, its check failed, every host back at 11:03: one failure, restored in 3 minutes, nothing open.
      deploy({ state: 'failed', finishedAt: at(4, 11, 3), validation: 'failed', validationStartedAt: at(4, 11) }),
      // Went live at 12:00 (validation started), validated at 12:05, rolled back by hand at 12:30.
      deploy({ state: 'succeeded', finishedAt: at(3, 12, 5), validation: 'passed', validationStartedAt: at(3, 12) }),
      deploy({ kind: 'rollback', state: 'succeeded', createdAt: at(3, 12, 25), finishedAt: at(3, 12, 30) }),
    ];
    const group = computeDora(facts, { now: NOW, weeks: 2 }).groups[0]!;
    expect(group.changeFailure).toMatchObject({ failed: 2, total: 3 });
    expect(group.deploys).toBe(1);
    expect(group.timeToRestore).toMatchObject({ count: 2, openSince: null });
    expect(group.timeToRestore.medianMs).toBe((3 * 60_000 + 30 * 60_000) / 2);
  });

  it('draws bars as inline SVG with escaped labels and a marker for empty weeks', () => {
    const svg = barChart({ title: 'a <b> chart', values: [2, null, 4], labels: ['w1', 'w2', 'w3'], format: String }).toString();
    expect(svg).toContain('aria-label="a &lt;b&gt; chart"');
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain('<title>w2: no data</title>');
    expect(svg).toContain('max 4');
  });
});
