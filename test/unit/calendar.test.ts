import { describe, expect, it } from 'vitest';
import { daysBefore, describeTime, nextLocalTime, nextReleaseTime, releaseDate, type ReleaseCalendar } from '../../domain/calendar.js';

const ny: ReleaseCalendar = { timeZone: 'America/New_York', days: ['mon', 'tue', 'wed', 'thu'], time: '11:00', minLeadHours: 12 };
const at = (iso: string) => Date.parse(iso);

describe('release calendar', () => {
  it('releases at 11:00 New York time on the next release day after the lead time', () => {
    // Tuesday 2024-10-01 15:00 EDT: the next slot at least 12 h away is Wednesday 11:00 EDT (15:00Z).
    expect(new Date(nextReleaseTime(at('2024-10-01T19:00:00Z'), ny)).toISOString()).toBe('2024-10-02T15:00:00.000Z');
  });

  it('skips days that are not release days', () => {
    // Thursday 2024-10-03 15:00 EDT → Monday 2024-10-07 11:00 EDT.
    expect(new Date(nextReleaseTime(at('2024-10-03T19:00:00Z'), ny)).toISOString()).toBe('2024-10-07T15:00:00.000Z');
  });

  it('stays at 11:00 local across the end of DST (EDT → EST)', () => {
    // DST ends Sunday 2024-11-03. Cut on Friday 2024-11-01 (EDT); the release is Monday 11:00 EST = 16:00Z.
    expect(new Date(nextReleaseTime(at('2024-11-01T19:00:00Z'), ny)).toISOString()).toBe('2024-11-04T16:00:00.000Z');
  });

  it('stays at 11:00 local across the start of DST (EST → EDT)', () => {
    // DST starts Sunday 2025-03-09. Cut Friday 2025-03-07 (EST); release Monday 11:00 EDT = 15:00Z.
    expect(new Date(nextReleaseTime(at('2025-03-07T20:00:00Z'), ny)).toISOString()).toBe('2025-03-10T15:00:00.000Z');
  });

  it('names the release date in the calendar zone, not UTC', () => {
    // 2024-10-02 23:30 in New York is already the 3rd in UTC.
    expect(releaseDate(at('2024-10-03T03:30:00Z'), 'America/New_York')).toBe('2024-10-02');
  });

  it('cuts on the day before each release day (Monday releases are cut on Sunday)', () => {
    expect(daysBefore(['mon', 'tue', 'wed', 'thu'])).toEqual(['mon', 'tue', 'wed', 'sun']);
    expect(daysBefore(['sat'])).toEqual(['fri']);
  });

  it('finds the next local time for the E2E window, today or tomorrow', () => {
    // 2024-10-01 23:00 EDT (03:00Z on the 2nd): the next 02:00 EDT is 06:00Z on the 2nd.
    expect(new Date(nextLocalTime(at('2024-10-02T03:00:00Z'), 'America/New_York', '02:00')).toISOString()).toBe('2024-10-02T06:00:00.000Z');
    expect(new Date(nextLocalTime(at('2024-10-02T07:00:00Z'), 'America/New_York', '02:00')).toISOString()).toBe('2024-10-03T06:00:00.000Z');
  });
});

describe('describeTime', () => {
  it("shows a time in the service's zone with the zone's name and its offset", () => {
    const at = Date.parse('2026-12-03T16:00:00Z');
    expect(describeTime(at, 'America/New_York')).toBe('2026-12-03 11:00 EST (UTC-05:00)');
    expect(describeTime(Date.parse('2026-07-01T15:00:00Z'), 'America/New_York')).toBe('2026-07-01 11:00 EDT (UTC-04:00)');
    expect(describeTime(at, 'UTC')).toBe('2026-12-03 16:00 UTC');
    expect(describeTime(at, 'Asia/Kolkata')).toBe('2026-12-03 21:30 GMT+5:30 (UTC+05:30)');
  });
});
