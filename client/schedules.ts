/**
 * Temporal Schedules from the config: the day-before cut of each service. The plan is data
 * (`planSchedules`); `upsertSchedules` makes the cluster match it: creates, updates, and deletes the
 * Trainyard schedules no longer in the config. Idempotent; run when a worker starts.
 */
import { ScheduleOverlapPolicy, type Client, type DayOfWeek, type ScheduleOptions } from '@temporalio/client';
import { daysBefore, parseClock } from '../domain/calendar.js';
import type { TrainyardConfig } from '../domain/config.js';
import { cutId, cutScheduleId, SCHEDULE, SCHEDULE_PREFIX } from '../domain/ids.js';
import type { CutRequest } from '../workflows/cutRelease.js';
import { upsertPreReleaseSchedules } from './prerelease-schedules.js';
import { syncSchedules, type UpsertResult } from './schedule-sync.js';
import { upsertVersionBumpSchedules } from './version-bump-schedules.js';

export type { UpsertResult } from './schedule-sync.js';

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
    const scheduleId = cutScheduleId(service);
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

/**
 * The day-before cut schedules. The plan's fingerprint travels in the action's memo: a schedule
 * whose fingerprint matches is left untouched. (An update must resend the schedule's pause state, so
 * writing an unchanged schedule could race an operator's pause or unpause.)
 */
export function upsertSchedules(client: Client, config: TrainyardConfig): Promise<UpsertResult> {
  return syncSchedules(client, planSchedules(config), SCHEDULE_PREFIX);
}

/**
 * Every schedule the config implies: the day-before cuts, and the other processes' schedules (each
 * kind manages its own id prefix, so one never deletes another's).
 */
export async function upsertAllSchedules(client: Client, config: TrainyardConfig): Promise<UpsertResult> {
  const cuts = await upsertSchedules(client, config);
  const prereleases = await upsertPreReleaseSchedules(client, config);
  const bumps = await upsertVersionBumpSchedules(client, config.versionBumps, config.temporal.taskQueue);
  return {
    created: [...cuts.created, ...prereleases.created, ...bumps.created],
    updated: [...cuts.updated, ...prereleases.updated, ...bumps.updated],
    unchanged: [...cuts.unchanged, ...prereleases.unchanged, ...bumps.unchanged],
    deleted: [...cuts.deleted, ...prereleases.deleted, ...bumps.deleted],
  };
}
