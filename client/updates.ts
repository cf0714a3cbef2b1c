/**
 * The one way the CLI sends an operator's update and reads its refusal. A validator's or handler's
 * refusal becomes "<verb> rejected: <rule>"; an update to a workflow that has ended — which the SDK
 * reports as a bare "workflow execution already completed" — says how it ended and what to do instead.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type UpdateDefinition, type WorkflowHandle } from '@temporalio/client';
import { parseTrainId } from '../domain/ids.js';
import { isFinal, type TrainStatus } from '../domain/train.js';
import { statusQuery } from '../workflows/messages.js';
import { Rejected } from './commands.js';

/** The rule that refused an update, or undefined when `err` is no refusal. */
export function rejectionOf(err: unknown): string | undefined {
  return err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : undefined;
}

/** What to do instead, by the kind of workflow (its id's first segment, domain/ids.ts). */
function insteadFor(workflowId: string): string {
  const kind = workflowId.split('/')[0];
  const train = parseTrainId(workflowId);
  if (train) return `it takes no more actions: \`trainyard start ${train.service}\` cuts the next train; \`trainyard changelog ${train.tag}\` still regenerates its notes`;
  if (kind === 'prerelease') return 'the next pre-release comes with its schedule (`trainyard schedules list`); `trainyard prerelease status` shows the current one';
  if (kind === 'flag') return '`trainyard flag start` rolls the flag out again';
  if (kind === 'stage') return 'a worker starts the follower again when it starts; `trainyard stage status` shows it';
  if (kind === 'preview') return 'a new push to the pull request, or reopening it, creates a new preview';
  return 'start a new one';
}

/** Why an update found no running workflow: it ended (how, when) or never existed. */
export async function whyNotRunning(handle: WorkflowHandle): Promise<string> {
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return `there is no workflow ${handle.workflowId}`;
    throw err;
  }
  let how = description.status.name.toLowerCase().replace(/_/g, ' ');
  if (parseTrainId(handle.workflowId)) {
    // A train's own account of its end (released, aborted, superseded…) beats the run's status.
    const stage = await handle
      .query(statusQuery)
      .then((s: TrainStatus) => (isFinal(s.stage) ? s.stage : undefined))
      .catch(() => undefined);
    if (stage) how = stage;
  }
  const at = description.closeTime ? ` at ${description.closeTime.toISOString().replace(/\.\d+Z$/, 'Z')}` : '';
  return `${handle.workflowId} has ended (${how}${at}); ${insteadFor(handle.workflowId)}`;
}

/** Sends `def` and returns its result; a refusal or an ended workflow becomes a Rejected that says why. */
export async function sendUpdate<Ret, Args extends [unknown, ...unknown[]]>(handle: WorkflowHandle, def: UpdateDefinition<Ret, Args>, args: Args, verb: string): Promise<Ret> {
  try {
    return await handle.executeUpdate(def, { args });
  } catch (err) {
    const why = rejectionOf(err);
    if (why !== undefined) throw new Rejected(`${verb} rejected: ${why}`);
    if (err instanceof WorkflowNotFoundError) throw new Rejected(`${verb} rejected: ${await whyNotRunning(handle)}`);
    throw err;
  }
}
