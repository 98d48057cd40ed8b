/**
 * The four DORA figures (the ones the State of DevOps reports track) per app and environment, from the deploy
 * history alone. A pure function: the caller loads the deploys, so it is table-tested without a database.
 *
 * - Deploy frequency: successful deploys (kind "deploy"; rollbacks ship no change) per day over the window.
 * - Lead time for changes: commit time → deploy success. Deploy.commitAt holds the commit time when the
 *   deployer knew it (GitHub); without it the deploy request time stands in, and `fromCommit` says how many
 *   figures really start at the commit.
 * - Change failure rate: changes that failed, or succeeded and were then rolled back (a rollback asked for
 *   before the next successful deploy), over all finished changes (succeeded + failed; cancelled and
 *   interrupted deploys shipped nothing and are left out).
 * - Time to restore: from a failure (a failed deploy ending, or a rolled-back change going live) to the next
 *   successful deploy or rollback in that app and environment; failures in a row are one incident. A deploy
 *   that failed its validation window was switched back by Shepherd itself: its incident runs from when it
 *   went live (the window's start) to that automatic rollback (the deploy's end).
 *
 *   const groups = computeDora(deploys, { now: new Date(), weeks: 12 });
 */

export interface DeployFact {
  id: number;
  app: string;
  environment: string;
  kind: string;
  state: string;
  createdAt: Date;
  finishedAt: Date | null;
  commitAt?: Date | null;
  /** `validate:`: when the release went live on every host and the checks began; how the window ended. */
  validationStartedAt?: Date | null;
  validation?: string | null;
}

export interface WeekFigures {
  start: Date;
  deploys: number;
  leadTimeMs: number | null;
  failed: number;
  total: number;
  restoreMs: number | null;
}

export interface DoraGroup {
  app: string;
  environment: string;
  deploys: number;
  deploysPerDay: number;
  leadTime: { medianMs: number | null; count: number; fromCommit: number };
  changeFailure: { failed: number; total: number; rate: number | null };
  timeToRestore: { medianMs: number | null; count: number; openSince: Date | null };
  weeks: WeekFigures[];
}

export interface DoraReport {
  from: Date;
  to: Date;
  days: number;
  groups: DoraGroup[];
}

const DAY = 86_400_000;
const WEEK = 7 * DAY;

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Change {
  deploy: DeployFact;
  failed: boolean;
}

interface Incident {
  start: Date;
  end: Date | null;
}

/** Walks one app/environment's history in time order and labels changes and incidents. */
function analyse(history: DeployFact[]): { changes: Change[]; incidents: Incident[] } {
  const changes: Change[] = [];
  const incidents: Incident[] = [];
  let lastGood: Change | null = null;
  let open: Incident | null = null;
  const fail = (at: Date) => {
    if (!open) {
      open = { start: at, end: null };
      incidents.push(open);
    }
  };
  for (const d of history) {
    if (d.kind === 'rollback') {
      // Asking for a rollback says the change that is live is bad: it failed from when it went live.
      if (lastGood && !lastGood.failed) {
        lastGood.failed = true;
        fail(lastGood.deploy.validationStartedAt ?? lastGood.deploy.finishedAt ?? d.createdAt);
      }
      lastGood = null;
      if (d.state === 'succeeded' && open) {
        (open as Incident).end = d.finishedAt ?? d.createdAt;
        open = null;
      }
      continue;
    }
    if (d.state !== 'succeeded' && d.state !== 'failed') continue;
    const change: Change = { deploy: d, failed: d.state === 'failed' };
    changes.push(change);
    if (change.failed && d.validation === 'failed' && d.validationStartedAt) {
      // Live from the window's start until the automatic rollback ended it; the change before it serves again.
      if (!open) incidents.push({ start: d.validationStartedAt, end: d.finishedAt ?? d.createdAt });
    } else if (change.failed) {
      fail(d.finishedAt ?? d.createdAt);
    } else {
      lastGood = change;
      if (open) {
        (open as Incident).end = d.finishedAt ?? d.createdAt;
        open = null;
      }
    }
  }
  return { changes, incidents };
}

/** `deploys`: every deploy that may matter (the caller may pass more than the window; older ones are ignored). */
export function computeDora(deploys: readonly DeployFact[], options: { now: Date; weeks?: number }): DoraReport {
  const weeks = options.weeks ?? 12;
  const to = options.now;
  const from = new Date(to.getTime() - weeks * WEEK);
  const inWindow = (at: Date) => at >= from && at <= to;
  const weekOf = (at: Date) => Math.min(weeks - 1, Math.floor((at.getTime() - from.getTime()) / WEEK));

  const byGroup = new Map<string, DeployFact[]>();
  for (const d of deploys) {
    const key = `${d.app}\u0000${d.environment}`;
    const list = byGroup.get(key) ?? [];
    list.push(d);
    byGroup.set(key, list);
  }

  const groups: DoraGroup[] = [];
  for (const history of byGroup.values()) {
    const order = (d: DeployFact) => (d.finishedAt ?? d.createdAt).getTime();
    history.sort((a, b) => order(a) - order(b) || a.id - b.id);
    const { changes, incidents } = analyse(history);
    const week: WeekFigures[] = Array.from({ length: weeks }, (_, i) => ({
      start: new Date(from.getTime() + i * WEEK),
      deploys: 0,
      leadTimeMs: null,
      failed: 0,
      total: 0,
      restoreMs: null,
    }));
    const leadByWeek: number[][] = week.map(() => []);
    const restoreByWeek: number[][] = week.map(() => []);
    const leads: number[] = [];
    let fromCommit = 0;
    let failed = 0;
    let total = 0;
    let deployCount = 0;

    for (const c of changes) {
      const at = c.deploy.finishedAt ?? c.deploy.createdAt;
      if (!inWindow(at)) continue;
      const w = week[weekOf(at)]!;
      total++;
      w.total++;
      if (c.failed) {
        failed++;
        w.failed++;
        continue;
      }
      deployCount++;
      w.deploys++;
      const start = c.deploy.commitAt ?? c.deploy.createdAt;
      if (start <= at) {
        const lead = at.getTime() - start.getTime();
        leads.push(lead);
        leadByWeek[weekOf(at)]!.push(lead);
        if (c.deploy.commitAt) fromCommit++;
      }
    }
    const restores: number[] = [];
    let openSince: Date | null = null;
    for (const incident of incidents) {
      if (!incident.end) {
        if (incident.start <= to) openSince = incident.start;
        continue;
      }
      if (!inWindow(incident.end)) continue;
      const ms = incident.end.getTime() - incident.start.getTime();
      restores.push(ms);
      restoreByWeek[weekOf(incident.end)]!.push(ms);
    }
    week.forEach((w, i) => {
      w.leadTimeMs = median(leadByWeek[i]!);
      w.restoreMs = median(restoreByWeek[i]!);
    });
    const first = history[0]!;
    if (total === 0 && restores.length === 0 && !openSince) continue;
    groups.push({
      app: first.app,
      environment: first.environment,
      deploys: deployCount,
      deploysPerDay: deployCount / (weeks * 7),
      leadTime: { medianMs: median(leads), count: leads.length, fromCommit },
      changeFailure: { failed, total, rate: total ? failed / total : null },
      timeToRestore: { medianMs: median(restores), count: restores.length, openSince },
      weeks: week,
    });
  }
  groups.sort((a, b) => a.app.localeCompare(b.app) || a.environment.localeCompare(b.environment));
  return { from, to, days: weeks * 7, groups };
}
