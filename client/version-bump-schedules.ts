/**
 * Temporal Schedules of the version bumps: each (component, consumer) bump starts every
 * `intervalMinutes` (the seed: hourly). The plan is data, like client/schedules.ts; ids have their
 * own prefix so the cut schedules' clean-up never deletes them (and this one never deletes cuts).
 */
import { ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { planOfBump, type VersionBumpConfig } from '../domain/version-bump-config.js';
import { bumpId, type BumpInput } from '../domain/version-bump.js';
import { syncSchedules, type UpsertResult } from './schedule-sync.js';

export const BUMP_SCHEDULE_PREFIX = 'trainyard-bump-';

export function bumpScheduleId(component: string, consumer: string): string {
  return `${BUMP_SCHEDULE_PREFIX}${component}-${consumer}`;
}

export interface PlannedBumpSchedule {
  scheduleId: string;
  workflowId: string;
  describe: string;
  options: ScheduleOptions;
}

export function planVersionBumpSchedules(bumps: VersionBumpConfig[], taskQueue: string): PlannedBumpSchedule[] {
  return bumps.map((b) => {
    const scheduleId = bumpScheduleId(b.component, b.consumer);
    const workflowId = bumpId(b.component, b.consumer);
    const args: [BumpInput] = [{ plan: planOfBump(b), startedBy: 'schedule' }];
    const options: ScheduleOptions = {
      scheduleId,
      spec: { intervals: [{ every: `${b.intervalMinutes}m` }] },
      action: { type: 'startWorkflow', workflowType: 'versionBump', workflowId, taskQueue, args },
      // A bump waiting for its pipeline or a person is never joined by a second; a missed hour is made up once.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${b.intervalMinutes}m` },
      state: { note: 'Managed by Trainyard from its config (versionBumps); pause here to stop bumps for a while.' },
    };
    return { scheduleId, workflowId, describe: `every ${b.intervalMinutes} min: ${b.component} into ${b.consumer}`, options };
  });
}

/** Makes the cluster's bump schedules match the plan; an operator's pause survives a config change. */
export function upsertVersionBumpSchedules(client: Client, bumps: VersionBumpConfig[], taskQueue: string): Promise<UpsertResult> {
  return syncSchedules(client, planVersionBumpSchedules(bumps, taskQueue), BUMP_SCHEDULE_PREFIX);
}
