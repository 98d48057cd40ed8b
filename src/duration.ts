/**
 * Durations and points in time as people type them in chat and in shepherd.yml.
 * parseDuration('1h30m') === 5_400_000; parseTime('18:00', now) is today 18:00 (tomorrow if past).
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** '90s', '30m', '1h30m', '2d' → milliseconds; null when it is not a duration. */
export function parseDuration(text: string): number | null {
  const s = text.trim().toLowerCase();
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(s)) return null;
  let total = 0;
  for (const [, n, unit] of s.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(n) * UNIT_MS[unit as string]!;
  return total > 0 && Number.isSafeInteger(total) ? total : null;
}

/** 5_400_000 → '1h30m'; 0 → '0s'. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 2).join('');
}

/**
 * A point in time: 'HH:MM' (the next such time), an ISO date or date-time ('2026-11-23', '2026-11-23T09:00',
 * '2026-11-23 09:00'), 'tomorrow [HH:MM]', a weekday ('friday 18:00', the next one), or a duration from now ('2h'). Local time zone. null if unreadable.
 */
export function parseTime(text: string, now: Date): Date | null {
  const s = text.trim().toLowerCase();
  const d = parseDuration(s);
  if (d !== null) return new Date(now.getTime() + d);
  const hm = /^(\d{1,2}):(\d{2})$/.exec(s);
  if (hm) {
    const [h, m] = [Number(hm[1]), Number(hm[2])];
    if (h > 23 || m > 59) return null;
    const t = new Date(now);
    t.setHours(h, m, 0, 0);
    if (t.getTime() <= now.getTime()) t.setDate(t.getDate() + 1);
    return t;
  }
  const tm = /^tomorrow(?:\s+(\d{1,2}):(\d{2}))?$/.exec(s);
  if (tm) {
    const t = new Date(now);
    t.setDate(t.getDate() + 1);
    const [h, m] = [Number(tm[1] ?? 9), Number(tm[2] ?? 0)];
    if (h > 23 || m > 59) return null;
    t.setHours(h, m, 0, 0);
    return t;
  }
  const wd = /^(mon|tue|wed|thu|fri|sat|sun)[a-z]*(?:\s+(\d{1,2}):(\d{2}))?$/.exec(s);
  if (wd) {
    const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].indexOf(wd[1] as string);
    const [h, m] = [Number(wd[2] ?? 9), Number(wd[3] ?? 0)];
    if (h > 23 || m > 59) return null;
    const t = new Date(now);
    t.setHours(h, m, 0, 0);
    t.setDate(t.getDate() + ((day - t.getDay() + 7) % 7));
    if (t.getTime() <= now.getTime()) t.setDate(t.getDate() + 7);
    return t;
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2}))?$/.exec(s);
  if (iso) {
    const [y, mo, da, h, mi] = [1, 2, 3, 4, 5].map((i) => Number(iso[i] ?? 0)) as [number, number, number, number, number];
    const t = new Date(y, mo - 1, da, h, mi, 0, 0);
    if (t.getFullYear() !== y || t.getMonth() !== mo - 1 || t.getDate() !== da || h > 23 || mi > 59) return null;
    return t;
  }
  return null;
}
