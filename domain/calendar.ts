/**
 * The release calendar: when production releases go out, in the team's own time zone.
 *
 * Times are epoch milliseconds in and out, so workflow code can pass `Date.now()` (which Temporal
 * makes deterministic) and keep plain numbers in its state. Wall-clock arithmetic is done by Luxon
 * in the configured IANA zone, which is what keeps "11:00 America/New_York" at 11:00 across DST.
 */
import { DateTime } from 'luxon';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface ReleaseCalendar {
  /** IANA zone, e.g. `America/New_York`. */
  timeZone: string;
  /** Days on which production releases go out. */
  days: Weekday[];
  /** Local wall-clock time of the production release, `HH:mm`. */
  time: string;
  /** A release slot closer than this to the cut is skipped: staging and overnight E2E need time. */
  minLeadHours: number;
}

export function timeZoneProblem(zone: string): string | undefined {
  return DateTime.now().setZone(zone).isValid ? undefined : `"${zone}" is not an IANA time zone (e.g. America/New_York)`;
}

export function parseClock(time: string): { hour: number; minute: number } | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time);
  return m ? { hour: Number(m[1]), minute: Number(m[2]) } : undefined;
}

/**
 * The first release slot at least `minLeadHours` after `now`. Searches a bounded number of days so a
 * calendar with no release days cannot loop forever (the config schema rejects that case anyway).
 */
export function nextReleaseTime(now: number, calendar: ReleaseCalendar): number {
  const clock = parseClock(calendar.time);
  if (!clock) throw new Error(`release time "${calendar.time}" is not HH:mm`);
  const earliest = now + calendar.minLeadHours * 3_600_000;
  const start = DateTime.fromMillis(now, { zone: calendar.timeZone }).startOf('day');
  for (let day = 0; day <= 400; day++) {
    const candidate = start.plus({ days: day }).set({ hour: clock.hour, minute: clock.minute, second: 0, millisecond: 0 });
    const weekday = WEEKDAYS[candidate.weekday - 1];
    if (weekday && calendar.days.includes(weekday) && candidate.toMillis() >= earliest) return candidate.toMillis();
  }
  throw new Error('no release day in the next 400 days: the calendar has no release days');
}

/** The release date (`YYYY-MM-DD`, in the calendar's zone) of a release time: it names the tag. */
export function releaseDate(releaseAt: number, timeZone: string): string {
  return DateTime.fromMillis(releaseAt, { zone: timeZone }).toISODate() ?? '';
}

/** Human form for status output and notifications, e.g. `2024-10-02 11:00 EDT (UTC-04:00)`. */
export function describeTime(at: number, timeZone: string): string {
  const local = DateTime.fromMillis(at, { zone: timeZone });
  // The zone's name and its offset: "EST" alone is ambiguous (and many zones have no abbreviation).
  const name = local.toFormat('ZZZZ');
  return name === 'UTC' ? `${local.toFormat('yyyy-MM-dd HH:mm')} UTC` : `${local.toFormat('yyyy-MM-dd HH:mm')} ${name} (UTC${local.toFormat('ZZ')})`;
}

/** The next time at or after `now` when the local clock in `timeZone` reads `time` (`HH:mm`). */
export function nextLocalTime(now: number, timeZone: string, time: string): number {
  const clock = parseClock(time);
  if (!clock) throw new Error(`"${time}" is not HH:mm`);
  const today = DateTime.fromMillis(now, { zone: timeZone }).set({ hour: clock.hour, minute: clock.minute, second: 0, millisecond: 0 });
  return (today.toMillis() >= now ? today : today.plus({ days: 1 })).toMillis();
}

/** The weekdays before the release days (a release on Monday is cut on Sunday). */
export function daysBefore(days: readonly Weekday[]): Weekday[] {
  return WEEKDAYS.filter((_, i) => days.includes(WEEKDAYS[(i + 1) % 7] as Weekday));
}
