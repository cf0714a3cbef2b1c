/**
 * Temporal Schedules from the config: the day-before cut of each service. The plan is data
 * (`planSchedules`); `upsertSchedules` makes the cluster match it: creates, updates, and deletes the
 * Trainyard schedules no longer in the config. Idempotent; run when a worker starts.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type DayOfWeek, type ScheduleOptions } from '@temporalio/client';
import { daysBefore, parseClock } from '../domain/calendar.js';
import type { TrainyardConfig } from '../domain/config.js';
import { cutId, cutScheduleId, SCHEDULE, SCHEDULE_PREFIX } from '../domain/ids.js';
import type { CutRequest } from '../workflows/cutRelease.js';
import { upsertPreReleaseSchedules } from './prerelease-schedules.js';
import { upsertVersionBumpSchedules } from './version-bump-schedules.js';

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
    return [{ scheduleId, service, describe: `${days.join(',')} at ${s.cut.at} ${s.release.timeZone}`, options: fingerprinted(options) }];
  });
}

/**
 * The plan's fingerprint travels in the action's memo: a schedule whose fingerprint matches is left
 * untouched. (An update must resend the schedule's pause state, so writing an unchanged schedule
 * could race an operator's pause or unpause.)
 */
const PLAN_MEMO = 'trainyardPlan';

function fingerprint(text: string): string {
  let hash = 0x811c9dc5; // FNV-1a, 32 bits: enough to tell two plans apart
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16);
}

function fingerprinted(options: ScheduleOptions): ScheduleOptions {
  const plan = fingerprint(JSON.stringify([options.spec, options.action, options.policies]));
  return { ...options, action: { ...options.action, memo: { [PLAN_MEMO]: plan } } };
}

function planOf(options: ScheduleOptions): unknown {
  return (options.action.memo as Record<string, unknown> | undefined)?.[PLAN_MEMO];
}

export interface UpsertResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
}

/** The fingerprint a schedule was written with; null when there is no such schedule. */
async function currentPlan(client: Client, scheduleId: string): Promise<unknown> {
  try {
    const described = await client.schedule.getHandle(scheduleId).describe();
    return (described.action as { memo?: Record<string, unknown> }).memo?.[PLAN_MEMO] ?? 'unknown';
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
}

export async function upsertSchedules(client: Client, config: TrainyardConfig): Promise<UpsertResult> {
  const result: UpsertResult = { created: [], updated: [], unchanged: [], deleted: [] };
  const planned = planSchedules(config);
  for (const { scheduleId, options } of planned) {
    const current = await currentPlan(client, scheduleId);
    if (current === null) {
      await client.schedule.create(options);
      result.created.push(scheduleId);
    } else if (current === planOf(options)) {
      result.unchanged.push(scheduleId);
    } else {
      // Keep the paused state and its note: an operator's pause survives a config change.
      await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: options.policies }));
      result.updated.push(scheduleId);
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
    unchanged: [...cuts.unchanged, ...bumps.unchanged],
    deleted: [...cuts.deleted, ...prereleases.deleted, ...bumps.deleted],
  };
}
