/**
 * Freeze windows, pure: which freeze holds an environment at a given instant, and which start soon. Weekly
 * windows ("fri 16:00 - mon 08:00") and dated ones ("2026-12-23 00:00" .. "2027-01-02 00:00") from
 * shepherd.yml are read in the configured zone, so a window keeps its wall-clock times across DST changes;
 * freezes set in chat are stored instants.
 *
 *   activeFreeze({ freezes: config.freezes, stored, environment: 'production', now, timezone: 'Europe/Berlin' })
 *   // { reason: 'weekend', until: <mon 08:00 Berlin>, source: 'config' }
 */
import { addDays, fromWall, parseHm, parseWeekday, toWall } from '../zoned-time.js';

/** A freeze as shepherd.yml gives it (`freezes:` at the top level). */
export interface ConfigFreeze {
  environments: readonly string[];
  weekly?: string | undefined;
  from?: string | undefined;
  until?: string | undefined;
  reason: string;
}

/** A freeze set in chat and stored (only those still in force are passed in). */
export interface StoredFreeze {
  environment: string;
  reason: string;
  until: Date | null;
  /** Who set it, for messages. */
  by?: string | undefined;
}

export interface ActiveFreeze {
  reason: string;
  /** When it ends; null: until someone runs `unfreeze`. */
  until: Date | null;
  source: 'config' | 'chat';
  by?: string | undefined;
}

export interface UpcomingFreeze {
  environments: readonly string[];
  reason: string;
  from: Date;
  until: Date;
}

/** A weekly window: start and end as weekday (0 = sunday) and minutes after midnight. */
export interface WeeklyWindow {
  startDay: number;
  startMinute: number;
  endDay: number;
  endMinute: number;
}

/** 'fri 16:00 - mon 08:00' (also with – or —) → a WeeklyWindow; null when unreadable or empty. */
export function parseWeekly(text: string): WeeklyWindow | null {
  const m = /^\s*([a-z]+)\s+(\d{1,2}:\d{2})\s*[-–—]\s*([a-z]+)\s+(\d{1,2}:\d{2})\s*$/i.exec(text);
  if (!m) return null;
  const [startDay, startMinute, endDay, endMinute] = [parseWeekday(m[1]!), parseHm(m[2]!), parseWeekday(m[3]!), parseHm(m[4]!)];
  if (startDay === null || startMinute === null || endDay === null || endMinute === null) return null;
  if (startDay === endDay && startMinute === endMinute) return null;
  return { startDay, startMinute, endDay, endMinute };
}

const WEEK = 7 * 1440;

/** The next instant after `now` that is `day` at `minute` local time (today counts if still ahead). */
function nextAt(day: number, minute: number, now: Date, zone: string): Date {
  const today = toWall(now, zone);
  let ahead = (day - today.weekday + 7) % 7;
  if (ahead === 0 && minute <= today.hour * 60 + today.minute) ahead = 7;
  return fromWall({ ...addDays(today, ahead), hour: Math.floor(minute / 60), minute: minute % 60 }, zone);
}

/** Whether `now` is inside the weekly window, read on the local clock. */
function insideWeekly(w: WeeklyWindow, now: Date, zone: string): boolean {
  const wall = toWall(now, zone);
  const at = wall.weekday * 1440 + wall.hour * 60 + wall.minute;
  const start = w.startDay * 1440 + w.startMinute;
  const end = w.endDay * 1440 + w.endMinute;
  // A window that wraps the week's end (sat → mon) is the complement of the one from end to start.
  return start < end ? at >= start && at < end : (at - start + WEEK) % WEEK < (end - start + WEEK) % WEEK;
}

/** '2026-12-23 00:00' (or a bare date, midnight) in `zone` → the instant. */
export function parseLocalDateTime(text: string, zone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{1,2}:\d{2}))?$/.exec(text.trim());
  if (!m) return null;
  const minute = m[4] === undefined ? 0 : parseHm(m[4]);
  if (minute === null) return null;
  return fromWall({ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: Math.floor(minute / 60), minute: minute % 60 }, zone);
}

/** The window of one configured freeze in force at `now`, as [from, until]; null when it is not in force. */
function configWindowAt(f: ConfigFreeze, now: Date, zone: string): { until: Date } | null {
  if (f.weekly) {
    const w = parseWeekly(f.weekly);
    return w && insideWeekly(w, now, zone) ? { until: nextAt(w.endDay, w.endMinute, now, zone) } : null;
  }
  const from = f.from ? parseLocalDateTime(f.from, zone) : null;
  const until = f.until ? parseLocalDateTime(f.until, zone) : null;
  return from && until && from <= now && now < until ? { until } : null;
}

/**
 * The freeze that holds `environment` at `now`, or null. When several hold, the one that ends last wins
 * (a freeze without end beats every other), since that is when deploys can go again.
 */
export function activeFreeze(input: {
  freezes: readonly ConfigFreeze[];
  stored: readonly StoredFreeze[];
  environment: string;
  now: Date;
  timezone: string;
}): ActiveFreeze | null {
  const { environment, now, timezone } = input;
  const found: ActiveFreeze[] = [];
  for (const f of input.freezes) {
    if (!f.environments.includes(environment)) continue;
    const w = configWindowAt(f, now, timezone);
    if (w) found.push({ reason: f.reason, until: w.until, source: 'config' });
  }
  for (const s of input.stored) {
    if (s.environment !== environment || (s.until !== null && s.until <= now)) continue;
    found.push({ reason: s.reason, until: s.until, source: 'chat', by: s.by });
  }
  const ends = (f: ActiveFreeze) => f.until?.getTime() ?? Number.POSITIVE_INFINITY;
  return found.reduce<ActiveFreeze | null>((best, f) => (best === null || ends(f) > ends(best) ? f : best), null);
}

/** Configured freezes that start after `now` and within `withinMs` (default a week), soonest first. */
export function upcomingFreezes(input: { freezes: readonly ConfigFreeze[]; now: Date; timezone: string; withinMs?: number }): UpcomingFreeze[] {
  const { now, timezone } = input;
  const horizon = now.getTime() + (input.withinMs ?? 7 * 86_400_000);
  const out: UpcomingFreeze[] = [];
  for (const f of input.freezes) {
    let from: Date | null = null;
    let until: Date | null = null;
    if (f.weekly) {
      const w = parseWeekly(f.weekly);
      if (!w) continue;
      from = nextAt(w.startDay, w.startMinute, now, timezone);
      until = nextAt(w.endDay, w.endMinute, from, timezone);
    } else {
      from = f.from ? parseLocalDateTime(f.from, timezone) : null;
      until = f.until ? parseLocalDateTime(f.until, timezone) : null;
    }
    if (from && until && from > now && from.getTime() <= horizon) out.push({ environments: f.environments, reason: f.reason, from, until });
  }
  return out.sort((a, b) => a.from.getTime() - b.from.getTime());
}
