/**
 * Durations and points in time as people type them in chat and in shepherd.yml.
 * parseDuration('1h30m') === 5_400_000; parseTime('18:00', now) is today 18:00 (tomorrow if past).
 */
import { addDays, fromWall, machineTimeZone, parseHm, parseWeekday, toWall } from './zoned-time.js';

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
 * '2026-11-23 09:00'), 'tomorrow [HH:MM]', a weekday ('friday 18:00', 'mon 09:00', the next one), or a
 * duration from now ('2h'). Clock times are read in `zone` (shepherd.yml `timezone`; default the machine's),
 * DST-correct. null if unreadable.
 */
export function parseTime(text: string, now: Date, zone: string = machineTimeZone()): Date | null {
  const s = text.trim().toLowerCase().replace(/\s+/g, ' ');
  const d = parseDuration(s);
  if (d !== null) return new Date(now.getTime() + d);
  const today = toWall(now, zone);
  const at = (days: number, hm: string | undefined, fallback = 9 * 60): Date | null => {
    const minutes = hm === undefined ? fallback : parseHm(hm);
    if (minutes === null) return null;
    return fromWall({ ...addDays(today, days), hour: Math.floor(minutes / 60), minute: minutes % 60 }, zone);
  };
  if (/^\d{1,2}:\d{2}$/.test(s)) {
    const t = at(0, s);
    return t && t.getTime() <= now.getTime() ? at(1, s) : t;
  }
  const tm = /^tomorrow(?: (\S+))?$/.exec(s);
  if (tm) return at(1, tm[1]);
  const wd = /^([a-z]+)(?: (\S+))?$/.exec(s);
  const day = wd ? parseWeekday(wd[1] as string) : null;
  if (wd && day !== null) {
    const ahead = (day - today.weekday + 7) % 7;
    const t = at(ahead, wd[2]);
    return t && t.getTime() <= now.getTime() ? at(ahead + 7, wd[2]) : t;
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}:\d{2}))?$/.exec(s);
  if (iso) {
    const [y, mo, da] = [1, 2, 3].map((i) => Number(iso[i])) as [number, number, number];
    const minutes = iso[4] === undefined ? 0 : parseHm(iso[4]);
    const check = new Date(Date.UTC(y, mo - 1, da));
    if (minutes === null || check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== da) return null;
    return fromWall({ year: y, month: mo, day: da, hour: Math.floor(minutes / 60), minute: minutes % 60 }, zone);
  }
  return null;
}
