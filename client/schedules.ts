/**
 * Temporal Schedules from the config: the day-before cut of each service. The plan is data
 * (`planSchedules`); `upsertSchedules` makes the cluster match it: creates, updates, and deletes the
 * Trainyard schedules no longer in the config. Idempotent; run when a worker starts.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type DayOfWeek, type ScheduleOptions } from '@temporalio/client';
import { daysBefore, parseClock } from '../domain/calendar.js';
import type { TrainyardConfig } from '../domain/config.js';
import { cutId, SCHEDULE } from '../domain/ids.js';
import type { CutRequest } from '../workflows/cutRelease.js';

/** Every schedule Trainyard manages has this prefix; others are left alone. */
export const SCHEDULE_PREFIX = 'trainyard-cut-';

const DAY_NAMES: Record<string, DayOfWeek> = {
  mon: 'MONDAY',
  tue: 'TUESDAY',
  wed: 'WEDNESDAY',
  thu: 'THURSDAY',
  fri: 'FRIDAY',
  sat: 'SATURDAY',
  sun: 'SUNDAY',
};

export interface PlannedSchedule {
  scheduleId: string;
  service: string;
  /** For people: "sun,mon,tue,wed at 15:00 America/New_York". */
  describe: string;
  options: ScheduleOptions;
}

export function planSchedules(config: TrainyardConfig): PlannedSchedule[] {
  return Object.entries(config.services).flatMap(([service, s]) => {
    if (!s.cut) return [];
    const clock = parseClock(s.cut.at) ?? { hour: 0, minute: 0 };
    const days = daysBefore(s.release.days);
    const scheduleId = `${SCHEDULE_PREFIX}${service}`;
    const args: [CutRequest] = [{ service, startedBy: SCHEDULE }];
    const options: ScheduleOptions = {
      scheduleId,
      spec: {
        calendars: [{ dayOfWeek: days.map((d) => DAY_NAMES[d] as DayOfWeek), hour: clock.hour, minute: clock.minute, comment: `cut of ${service} the day before a release` }],
        timezone: s.release.timeZone,
      },
      action: { type: 'startWorkflow', workflowType: 'cutRelease', workflowId: cutId(service), taskQueue: config.temporal.taskQueue, args },
      // Never two cuts of one service at once; a worker or server outage of up to a day still cuts.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      state: { note: 'Managed by Trainyard from its config; pause here to skip cuts, edit the config to change them.' },
    };
    return [{ scheduleId, service, describe: `${days.join(',')} at ${s.cut.at} ${s.release.timeZone}`, options }];
  });
}

export interface UpsertResult {
  created: string[];
  updated: string[];
  deleted: string[];
}

async function exists(client: Client, scheduleId: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(scheduleId).describe();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

export async function upsertSchedules(client: Client, config: TrainyardConfig): Promise<UpsertResult> {
  const result: UpsertResult = { created: [], updated: [], deleted: [] };
  const planned = planSchedules(config);
  for (const { scheduleId, options } of planned) {
    if (await exists(client, scheduleId)) {
      // Keep the paused state and its note: an operator's pause survives a worker restart.
      await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: options.policies }));
      result.updated.push(scheduleId);
    } else {
      await client.schedule.create(options);
      result.created.push(scheduleId);
    }
  }
  const wanted = new Set(planned.map((p) => p.scheduleId));
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(SCHEDULE_PREFIX) && !wanted.has(s.scheduleId)) {
      await client.schedule.getHandle(s.scheduleId).delete();
      result.deleted.push(s.scheduleId);
    }
  }
  return result;
}
