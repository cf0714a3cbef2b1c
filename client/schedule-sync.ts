/**
 * Making the cluster's Temporal Schedules match a plan: create what is missing, update what
 * changed (keeping an operator's pause and its note), leave alone what did not, and delete this
 * kind's schedules that the config no longer implies. Each kind of schedule (cuts, pre-releases,
 * version bumps) has its own id prefix, so one kind's clean-up never deletes another's.
 */
import { ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';

/** The memo key under which a schedule's action carries the fingerprint of the plan it was written from. */
const PLAN_MEMO = 'trainyardPlan';

export interface UpsertResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
}

function fingerprint(text: string): string {
  let hash = 0x811c9dc5; // FNV-1a, 32 bits: enough to tell two plans apart
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16);
}

/** The options with the fingerprint of their plan in the action's memo (what `syncSchedules` compares). */
export function fingerprinted(options: ScheduleOptions): ScheduleOptions {
  const plan = fingerprint(JSON.stringify([options.spec, options.action, options.policies]));
  return { ...options, action: { ...options.action, memo: { [PLAN_MEMO]: plan } } };
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

export async function syncSchedules(client: Client, planned: { scheduleId: string; options: ScheduleOptions }[], prefix: string): Promise<UpsertResult> {
  const result: UpsertResult = { created: [], updated: [], unchanged: [], deleted: [] };
  for (const { scheduleId, options: plan } of planned) {
    const options = fingerprinted(plan);
    const current = await currentPlan(client, scheduleId);
    if (current === null) {
      await client.schedule.create(options);
      result.created.push(scheduleId);
    } else if (current === (options.action.memo as Record<string, unknown>)[PLAN_MEMO]) {
      result.unchanged.push(scheduleId);
    } else {
      // Keep the paused state and its note: an operator's pause survives a config change.
      await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: options.policies }));
      result.updated.push(scheduleId);
    }
  }
  const wanted = new Set(planned.map((p) => p.scheduleId));
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(prefix) && !wanted.has(s.scheduleId)) {
      await client.schedule.getHandle(s.scheduleId).delete();
      result.deleted.push(s.scheduleId);
    }
  }
  return result;
}
