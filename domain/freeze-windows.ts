/**
 * Recurring freeze windows from the config ("no production deploys Friday 16:00 to Monday", "the
 * year-end freeze"), in the service's IANA time zone. Pure: the ledger asks whether a window is
 * active now and when the answer next changes, and sets a durable timer for that.
 */
import { DateTime } from 'luxon';
import { WEEKDAYS, parseClock, type Weekday } from './calendar.js';

export interface FreezeWindow {
  reason: string;
  /** Days the window recurs on (all days when absent). */
  days?: Weekday[];
  /** Local start and end time, `HH:mm`; an end before the start runs past midnight. */
  from?: string;
  to?: string;
  /** A date range instead (inclusive, `YYYY-MM-DD`). */
  dates?: { from: string; to: string };
  environments: ('staging' | 'production')[];
}

interface Instance {
  start: number;
  end: number;
  reason: string;
}

/** How many days ahead the ledger looks for the next change; it looks again when it wakes. */
const HORIZON_DAYS = 8;

function dayInstances(w: FreezeWindow, zone: string, day: DateTime): Instance[] {
  if (w.dates) return [];
  const weekday = WEEKDAYS[day.weekday - 1] as Weekday;
  if (w.days && !w.days.includes(weekday)) return [];
  const from = parseClock(w.from ?? '00:00') ?? { hour: 0, minute: 0 };
  const start = day.set({ hour: from.hour, minute: from.minute });
  const to = w.to ? parseClock(w.to) : undefined;
  let end = to ? day.set({ hour: to.hour, minute: to.minute }) : day.plus({ days: 1 });
  if (end <= start) end = end.plus({ days: 1 });
  return [{ start: start.toMillis(), end: end.toMillis(), reason: w.reason }];
}

function instances(windows: FreezeWindow[], zone: string, environment: string, now: number): Instance[] {
  const today = DateTime.fromMillis(now, { zone }).startOf('day');
  const found: Instance[] = [];
  for (const w of windows) {
    if (!w.environments.includes(environment as 'staging' | 'production')) continue;
    if (w.dates) {
      const start = DateTime.fromISO(w.dates.from, { zone }).startOf('day');
      const end = DateTime.fromISO(w.dates.to, { zone }).startOf('day').plus({ days: 1 });
      if (start.isValid && end.isValid) found.push({ start: start.toMillis(), end: end.toMillis(), reason: w.reason });
      continue;
    }
    for (let d = -1; d <= HORIZON_DAYS; d++) found.push(...dayInstances(w, zone, today.plus({ days: d })));
  }
  return found;
}

/** The window freezing `environment` at `now`, with the time its instance ends. */
export function windowFreezeAt(windows: FreezeWindow[], zone: string, environment: string, now: number): { reason: string; until: number } | undefined {
  const active = instances(windows, zone, environment, now).filter((i) => i.start <= now && now < i.end);
  if (active.length === 0) return undefined;
  const last = active.reduce((a, b) => (b.end > a.end ? b : a));
  return { reason: last.reason, until: last.end };
}

/** When a window of `environment` next starts or ends after `now` (within the horizon). */
export function nextWindowChange(windows: FreezeWindow[], zone: string, environment: string, now: number): number | undefined {
  let next: number | undefined;
  for (const i of instances(windows, zone, environment, now)) {
    for (const t of [i.start, i.end]) if (t > now && (next === undefined || t < next)) next = t;
  }
  return next;
}
