/**
 * The daily pre-release schedules (`trainyard-prerelease-<service>`): one Temporal Schedule per
 * service with `prerelease: { schedule: { days, at } }`, running `cutPreRelease` at that local time
 * (Mon–Fri by default). The plan is data (`planPreReleaseSchedules`); `upsertPreReleaseSchedules`
 * makes the cluster match it, like client/schedules.ts does for cuts (whose prefix differs, so
 * neither deletes the other's schedules).
 */
import { ScheduleOverlapPolicy, type Client, type DayOfWeek, type ScheduleOptions } from '@temporalio/client';
import { parseClock } from '../domain/calendar.js';
import type { TrainyardConfig } from '../domain/config.js';
import { SCHEDULE } from '../domain/ids.js';
import { preReleaseCutId } from '../domain/prerelease.js';
import { preReleaseConfigSchema, type PreReleaseConfig } from '../domain/prerelease-config.js';
import type { PreReleaseCutRequest } from '../workflows/preRelease.js';
import { syncSchedules, type UpsertResult } from './schedule-sync.js';

export const PRERELEASE_SCHEDULE_PREFIX = 'trainyard-prerelease-';

const DAY_NAMES: Record<string, DayOfWeek> = { mon: 'MONDAY', tue: 'TUESDAY', wed: 'WEDNESDAY', thu: 'THURSDAY', fri: 'FRIDAY', sat: 'SATURDAY', sun: 'SUNDAY' };

export interface PlannedPreReleaseSchedule {
  scheduleId: string;
  service: string;
  /** For people: "mon,tue,wed,thu,fri at 09:00 UTC". */
  describe: string;
  options: ScheduleOptions;
}

/** The service's `prerelease` settings, once the fragment is mounted in the config schema. */
function preReleaseOf(service: TrainyardConfig['services'][string]): PreReleaseConfig | undefined {
  const raw = (service as { prerelease?: unknown }).prerelease;
  return raw === undefined ? undefined : preReleaseConfigSchema.parse(raw);
}

export function planPreReleaseSchedules(config: TrainyardConfig): PlannedPreReleaseSchedule[] {
  return Object.entries(config.services).flatMap(([service, s]) => {
    const pre = preReleaseOf(s);
    if (!pre) return [];
    const clock = parseClock(pre.schedule.at) ?? { hour: 0, minute: 0 };
    const scheduleId = `${PRERELEASE_SCHEDULE_PREFIX}${service}`;
    const args: [PreReleaseCutRequest] = [{ service, startedBy: SCHEDULE }];
    const options: ScheduleOptions = {
      scheduleId,
      spec: {
        calendars: [{ dayOfWeek: pre.schedule.days.map((d) => DAY_NAMES[d] as DayOfWeek), hour: clock.hour, minute: clock.minute, comment: `daily pre-release of ${service}` }],
        timezone: s.release.timeZone,
      },
      action: { type: 'startWorkflow', workflowType: 'cutPreRelease', workflowId: preReleaseCutId(service), taskQueue: config.temporal.taskQueue, args },
      // Never two cuts of one service at once; an outage of up to a day still makes that day's pre-release.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      state: { note: 'Managed by Trainyard from its config (prerelease.schedule); pause here to skip pre-releases.' },
    };
    return [{ scheduleId, service, describe: `${pre.schedule.days.join(',')} at ${pre.schedule.at} ${s.release.timeZone}`, options }];
  });
}

/** Creates, updates (keeping an operator's pause and note) and deletes the pre-release schedules. */
export function upsertPreReleaseSchedules(client: Client, config: TrainyardConfig): Promise<UpsertResult> {
  return syncSchedules(client, planPreReleaseSchedules(config), PRERELEASE_SCHEDULE_PREFIX);
}
