/**
 * Freeze windows on an injected clock, in two zones, across a weekend, across midnight and in the weeks
 * the clocks change: a window keeps its wall-clock times, so its instants move with DST.
 */
import { describe, expect, it } from 'vitest';
import { parseTime } from '../../src/duration.js';
import { activeFreeze, type ConfigFreeze, parseWeekly, upcomingFreezes } from '../../src/policy/freeze-window.js';
import { formatClock, fromWall, isTimeZone, toWall } from '../../src/zoned-time.js';

const weekend: ConfigFreeze = { environments: ['production'], weekly: 'fri 16:00 - mon 08:00', reason: 'weekend' };
const night: ConfigFreeze = { environments: ['staging'], weekly: 'tue 22:00 - wed 06:00', reason: 'backups' };
const holidays: ConfigFreeze = { environments: ['production'], from: '2026-12-23 00:00', until: '2027-01-02 00:00', reason: 'holidays' };

function at(freezes: ConfigFreeze[], environment: string, iso: string, timezone: string) {
  return activeFreeze({ freezes, stored: [], environment, now: new Date(iso), timezone });
}

describe('weekly windows in Europe/Berlin', () => {
  const zone = 'Europe/Berlin';
  // Week of 2026-12-04 (Friday), CET = UTC+1.
  it.each([
    ['Friday 15:59 local', '2026-12-04T14:59:00Z', null],
    ['Friday 16:00 local', '2026-12-04T15:00:00Z', '2026-12-07T07:00:00.000Z'],
    ['Saturday noon', '2026-12-05T11:00:00Z', '2026-12-07T07:00:00.000Z'],
    ['Sunday just before midnight', '2026-12-06T22:59:00Z', '2026-12-07T07:00:00.000Z'],
    ['Monday 07:59 local', '2026-12-07T06:59:00Z', '2026-12-07T07:00:00.000Z'],
    ['Monday 08:00 local', '2026-12-07T07:00:00Z', null],
    ['Wednesday', '2026-12-09T10:00:00Z', null],
  ])('%s', (_label, now, until) => {
    const f = at([weekend], 'production', now, zone);
    expect(f?.until?.toISOString() ?? null).toBe(until);
    if (f) expect(f).toMatchObject({ reason: 'weekend', source: 'config' });
  });

  it('holds only the environments it names', () => {
    expect(at([weekend], 'staging', '2026-12-05T11:00:00Z', zone)).toBeNull();
  });

  it('says the end as a local clock time', () => {
    const now = new Date('2026-12-05T11:00:00Z');
    const f = at([weekend], 'production', now.toISOString(), zone);
    expect(formatClock(f!.until!, now, zone)).toBe('mon 08:00');
    expect(formatClock(f!.until!, new Date('2026-12-07T05:00:00Z'), zone)).toBe('today 08:00');
  });

  it('crosses midnight inside the week', () => {
    expect(at([night], 'staging', '2026-12-08T20:59:00Z', zone)).toBeNull(); // tue 21:59
    expect(at([night], 'staging', '2026-12-08T21:00:00Z', zone)?.until?.toISOString()).toBe('2026-12-09T05:00:00.000Z');
    expect(at([night], 'staging', '2026-12-08T23:30:00Z', zone)?.until?.toISOString()).toBe('2026-12-09T05:00:00.000Z'); // wed 00:30
    expect(at([night], 'staging', '2026-12-09T05:00:00Z', zone)).toBeNull();
  });

  it('keeps local times in the week summer time ends (Sunday 2026-10-25)', () => {
    // Friday 16:00 is still CEST (UTC+2); Monday 08:00 is already CET (UTC+1).
    expect(at([weekend], 'production', '2026-10-23T13:59:00Z', zone)).toBeNull();
    const f = at([weekend], 'production', '2026-10-23T14:00:00Z', zone);
    expect(f?.until?.toISOString()).toBe('2026-10-26T07:00:00.000Z');
    expect(at([weekend], 'production', '2026-10-25T01:30:00Z', zone)?.until?.toISOString()).toBe('2026-10-26T07:00:00.000Z'); // the repeated hour
    expect(at([weekend], 'production', '2026-10-26T06:59:00Z', zone)).not.toBeNull();
    expect(at([weekend], 'production', '2026-10-26T07:00:00Z', zone)).toBeNull();
  });

  it('keeps local times in the week summer time starts (Sunday 2026-03-29)', () => {
    // Friday 16:00 CET = 15:00Z; Monday 08:00 CEST = 06:00Z.
    expect(at([weekend], 'production', '2026-03-27T14:59:00Z', zone)).toBeNull();
    expect(at([weekend], 'production', '2026-03-27T15:00:00Z', zone)?.until?.toISOString()).toBe('2026-03-30T06:00:00.000Z');
    expect(at([weekend], 'production', '2026-03-30T05:59:00Z', zone)).not.toBeNull();
    expect(at([weekend], 'production', '2026-03-30T06:00:00Z', zone)).toBeNull();
  });
});

describe('weekly windows in America/New_York', () => {
  const zone = 'America/New_York';
  it('reads the same schedule on New York clocks (EST = UTC-5)', () => {
    expect(at([weekend], 'production', '2026-12-04T20:59:00Z', zone)).toBeNull(); // fri 15:59
    expect(at([weekend], 'production', '2026-12-04T21:00:00Z', zone)?.until?.toISOString()).toBe('2026-12-07T13:00:00.000Z');
    // Saturday night in New York is already Sunday in UTC.
    expect(at([weekend], 'production', '2026-12-06T03:00:00Z', zone)).not.toBeNull();
    expect(at([weekend], 'production', '2026-12-07T13:00:00Z', zone)).toBeNull();
    // The same instant is outside Berlin's window (Monday 14:00 there).
    expect(at([weekend], 'production', '2026-12-07T12:59:00Z', 'Europe/Berlin')).toBeNull();
    expect(at([weekend], 'production', '2026-12-07T12:59:00Z', zone)).not.toBeNull();
  });

  it('keeps local times in the week daylight time ends (Sunday 2026-11-01)', () => {
    // Friday 16:00 EDT = 20:00Z; Monday 08:00 EST = 13:00Z.
    expect(at([weekend], 'production', '2026-10-30T19:59:00Z', zone)).toBeNull();
    expect(at([weekend], 'production', '2026-10-30T20:00:00Z', zone)?.until?.toISOString()).toBe('2026-11-02T13:00:00.000Z');
    expect(at([weekend], 'production', '2026-11-02T12:59:00Z', zone)).not.toBeNull();
    expect(at([weekend], 'production', '2026-11-02T13:00:00Z', zone)).toBeNull();
  });

  it('crosses midnight', () => {
    expect(at([night], 'staging', '2026-12-09T04:00:00Z', zone)?.until?.toISOString()).toBe('2026-12-09T11:00:00.000Z'); // tue 23:00 local
  });
});

describe('dated windows and stored freezes', () => {
  it('holds from..until in the zone', () => {
    expect(at([holidays], 'production', '2026-12-22T22:59:00Z', 'Europe/Berlin')).toBeNull();
    expect(at([holidays], 'production', '2026-12-22T23:00:00Z', 'Europe/Berlin')?.until?.toISOString()).toBe('2027-01-01T23:00:00.000Z');
    expect(at([holidays], 'production', '2027-01-01T23:00:00Z', 'Europe/Berlin')).toBeNull();
    expect(at([holidays], 'production', '2026-12-23T04:59:00Z', 'America/New_York')).toBeNull();
  });

  it('prefers the freeze that ends last, and one without end over all', () => {
    const now = new Date('2026-12-26T12:00:00Z'); // a Saturday inside the holidays
    const both = activeFreeze({ freezes: [weekend, holidays], stored: [], environment: 'production', now, timezone: 'Europe/Berlin' });
    expect(both?.reason).toBe('holidays');
    const stored = [{ environment: 'production', reason: 'incident', until: null, by: 'boss' }];
    expect(activeFreeze({ freezes: [weekend, holidays], stored, environment: 'production', now, timezone: 'Europe/Berlin' })).toEqual({
      reason: 'incident',
      until: null,
      source: 'chat',
      by: 'boss',
    });
    const expired = [{ environment: 'production', reason: 'old', until: new Date('2026-12-26T11:00:00Z') }];
    expect(activeFreeze({ freezes: [], stored: expired, environment: 'production', now, timezone: 'UTC' })).toBeNull();
  });

  it('lists the freezes starting within a week', () => {
    const now = new Date('2026-12-01T12:00:00Z'); // a Tuesday
    const next = upcomingFreezes({ freezes: [weekend, holidays], now, timezone: 'Europe/Berlin' });
    expect(next.map((f) => [f.reason, f.from.toISOString(), f.until.toISOString()])).toEqual([
      ['weekend', '2026-12-04T15:00:00.000Z', '2026-12-07T07:00:00.000Z'],
    ]);
    const later = upcomingFreezes({ freezes: [weekend, holidays], now: new Date('2026-12-20T12:00:00Z'), timezone: 'Europe/Berlin' });
    expect(later.map((f) => f.reason)).toEqual(['holidays', 'weekend']);
  });
});

describe('the time module', () => {
  it('reads weekly schedules and rejects nonsense', () => {
    expect(parseWeekly('fri 16:00 - mon 08:00')).toEqual({ startDay: 5, startMinute: 960, endDay: 1, endMinute: 480 });
    expect(parseWeekly('Friday 16:00 – Monday 8:00')).toEqual({ startDay: 5, startMinute: 960, endDay: 1, endMinute: 480 });
    for (const bad of ['fri 16:00', 'fri 25:00 - mon 08:00', 'frx 16:00 - mon 08:00', 'mon 08:00 - mon 08:00', '']) expect(parseWeekly(bad)).toBeNull();
  });

  it('turns local times into instants across DST gaps and repeats', () => {
    expect(fromWall({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, 'Europe/Berlin').toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(fromWall({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, 'Europe/Berlin').toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(toWall(new Date('2026-12-06T23:30:00Z'), 'Europe/Berlin')).toMatchObject({ weekday: 1, hour: 0, minute: 30 });
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Base')).toBe(false);
  });

  it('parses chat times in the configured zone (parseTime, shared with oncall)', () => {
    const now = new Date('2026-12-01T12:00:00Z'); // Tuesday 13:00 in Berlin, 07:00 in New York
    expect(parseTime('mon 09:00', now, 'Europe/Berlin')?.toISOString()).toBe('2026-12-07T08:00:00.000Z');
    expect(parseTime('mon 09:00', now, 'America/New_York')?.toISOString()).toBe('2026-12-07T14:00:00.000Z');
    expect(parseTime('12:00', now, 'Europe/Berlin')?.toISOString()).toBe('2026-12-02T11:00:00.000Z'); // past today: tomorrow
    expect(parseTime('12:00', now, 'America/New_York')?.toISOString()).toBe('2026-12-01T17:00:00.000Z');
    expect(parseTime('2026-12-23 00:00', now, 'Europe/Berlin')?.toISOString()).toBe('2026-12-22T23:00:00.000Z');
    expect(parseTime('tomorrow 9:00', now, 'UTC')?.toISOString()).toBe('2026-12-02T09:00:00.000Z');
    expect(parseTime('2h', now, 'UTC')?.toISOString()).toBe('2026-12-01T14:00:00.000Z');
    expect(parseTime('2026-02-30', now, 'UTC')).toBeNull();
    expect(parseTime('someday', now, 'UTC')).toBeNull();
  });
});
