/**
 * Wall-clock time in a named IANA zone (shepherd.yml `timezone`), with Intl only: read an instant's local
 * date and time there, turn a local date and time back into an instant (DST-correct), and print clock times
 * the way chat says them ("mon 09:00").
 *
 *   const at = fromWall({ year: 2026, month: 12, day: 7, hour: 8, minute: 0 }, 'Europe/Berlin');
 *   formatClock(at, now, 'Europe/Berlin') // 'mon 08:00'
 */

/** A local date and time; month 1..12, weekday 0 (sunday) .. 6. */
export interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** The machine's zone: the default when shepherd.yml names none. */
export function machineTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** true for a zone Intl knows ('Europe/Berlin', 'UTC'); false for 'Mars/Base' or ''. */
export function isTimeZone(zone: string): boolean {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The local date and time of `at` in `zone`, with its weekday. */
export function toWall(at: Date, zone: string): Wall & { weekday: number; second: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute!, second: parts.second! };
  return { ...wall, weekday: new Date(Date.UTC(wall.year, wall.month - 1, wall.day)).getUTCDay() };
}

/** How far `zone` is ahead of UTC at `at`, in ms (Berlin in winter: 3_600_000). */
function offsetAt(at: number, zone: string): number {
  const w = toWall(new Date(at), zone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(at / 1000) * 1000;
}

/**
 * The instant a local date and time in `zone` names. A time skipped by a DST change (02:30 on the spring
 * day in Berlin) is read with the offset before the change, i.e. it lands an hour later (03:30); a repeated
 * time (autumn) is its first occurrence.
 */
export function fromWall(wall: Wall, zone: string): Date {
  const guess = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  const before = offsetAt(guess - 86_400_000, zone);
  const after = offsetAt(guess + 86_400_000, zone);
  // Try the earlier offset first (the first occurrence of a repeated hour), then the later one.
  for (const offset of before >= after ? [before, after] : [after, before]) {
    const at = guess - offset;
    if (offsetAt(at, zone) === offset) return new Date(at);
  }
  return new Date(guess - before);
}

/** The local calendar date `days` after `wall`'s (month and year roll over). */
export function addDays(wall: Wall, days: number): Wall {
  const d = new Date(Date.UTC(wall.year, wall.month - 1, wall.day + days));
  return { ...wall, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** '09:00' of `at` in `zone`. */
export function formatHm(at: Date, zone: string): string {
  const w = toWall(at, zone);
  return `${pad(w.hour)}:${pad(w.minute)}`;
}

/** '2026-12-23 00:00' of `at` in `zone`. */
export function formatDateTime(at: Date, zone: string): string {
  const w = toWall(at, zone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}`;
}

/**
 * A clock time for chat, in `zone`: 'today 18:00', 'mon 09:00' within the coming week, else
 * '2027-01-02 00:00'.
 */
export function formatClock(at: Date, now: Date, zone: string): string {
  const a = toWall(at, zone);
  const n = toWall(now, zone);
  const days = Math.round((Date.UTC(a.year, a.month - 1, a.day) - Date.UTC(n.year, n.month - 1, n.day)) / 86_400_000);
  if (days === 0) return `today ${pad(a.hour)}:${pad(a.minute)}`;
  if (days > 0 && days < 7) return `${WEEKDAYS[a.weekday]} ${pad(a.hour)}:${pad(a.minute)}`;
  return formatDateTime(at, zone);
}

/** 'HH:MM' → minutes after midnight; null when it is not a clock time. */
export function parseHm(text: string): number | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const [h, min] = [Number(m[1]), Number(m[2])];
  return h > 23 || min > 59 ? null : h * 60 + min;
}

/** 'fri', 'friday', 'Mon' → 5, 5, 1; null otherwise. */
export function parseWeekday(text: string): number | null {
  const s = text.trim().toLowerCase();
  const i = WEEKDAYS.findIndex(
    (d) => s.length >= 3 && ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'][WEEKDAYS.indexOf(d)]!.startsWith(s),
  );
  return i < 0 ? null : i;
}
