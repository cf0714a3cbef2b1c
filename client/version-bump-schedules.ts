/**
 * Temporal Schedules of the version bumps: each (component, consumer) bump starts every
 * `intervalMinutes` (the seed: hourly). The plan is data, like client/schedules.ts; ids have their
 * own prefix so the cut schedules' clean-up never deletes them (and this one never deletes cuts).
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { planOfBump, type VersionBumpConfig } from '../domain/version-bump-config.js';
import { bumpId, type BumpInput } from '../domain/version-bump.js';

export const BUMP_SCHEDULE_PREFIX = 'trainyard-bump-';
const PLAN_MEMO = 'trainyardPlan';

export function bumpScheduleId(component: string, consumer: string): string {
  return `${BUMP_SCHEDULE_PREFIX}${component}-${consumer}`;
}

export interface PlannedBumpSchedule {
  scheduleId: string;
  workflowId: string;
  describe: string;
  options: ScheduleOptions;
}

function fingerprint(text: string): string {
  let hash = 0x811c9dc5; // FNV-1a: enough to tell two plans apart
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16);
}

export function planVersionBumpSchedules(bumps: VersionBumpConfig[], taskQueue: string): PlannedBumpSchedule[] {
  return bumps.map((b) => {
    const scheduleId = bumpScheduleId(b.component, b.consumer);
    const workflowId = bumpId(b.component, b.consumer);
    const args: [BumpInput] = [{ plan: planOfBump(b), startedBy: 'schedule' }];
    const base: ScheduleOptions = {
      scheduleId,
      spec: { intervals: [{ every: `${b.intervalMinutes}m` }] },
      action: { type: 'startWorkflow', workflowType: 'versionBump', workflowId, taskQueue, args },
      // A bump waiting for its pipeline or a person is never joined by a second; a missed hour is made up once.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${b.intervalMinutes}m` },
      state: { note: 'Managed by Trainyard from its config (versionBumps); pause here to stop bumps for a while.' },
    };
    const plan = fingerprint(JSON.stringify([base.spec, base.action, base.policies]));
    const options = { ...base, action: { ...base.action, memo: { [PLAN_MEMO]: plan } } };
    return { scheduleId, workflowId, describe: `every ${b.intervalMinutes} min: ${b.component} into ${b.consumer}`, options };
  });
}

export interface BumpUpsertResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
}

async function currentPlan(client: Client, scheduleId: string): Promise<unknown> {
  try {
    const described = await client.schedule.getHandle(scheduleId).describe();
    return (described.action as { memo?: Record<string, unknown> }).memo?.[PLAN_MEMO] ?? 'unknown';
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
}

/** Makes the cluster's bump schedules match the plan; an operator's pause survives a config change. */
export async function upsertVersionBumpSchedules(client: Client, bumps: VersionBumpConfig[], taskQueue: string): Promise<BumpUpsertResult> {
  const result: BumpUpsertResult = { created: [], updated: [], unchanged: [], deleted: [] };
  const planned = planVersionBumpSchedules(bumps, taskQueue);
  for (const { scheduleId, options } of planned) {
    const current = await currentPlan(client, scheduleId);
    const wanted = (options.action.memo as Record<string, unknown>)[PLAN_MEMO];
    if (current === null) {
      await client.schedule.create(options);
      result.created.push(scheduleId);
    } else if (current === wanted) {
      result.unchanged.push(scheduleId);
    } else {
      await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: options.policies }));
      result.updated.push(scheduleId);
    }
  }
  const keep = new Set(planned.map((p) => p.scheduleId));
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(BUMP_SCHEDULE_PREFIX) && !keep.has(s.scheduleId)) {
      await client.schedule.getHandle(s.scheduleId).delete();
      result.deleted.push(s.scheduleId);
    }
  }
  return result;
}
