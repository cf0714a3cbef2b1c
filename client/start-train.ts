/**
 * Which train `npm start` shows: the running one (resumed), else a new one when there never was a
 * train or the branch moved since the last one; an ended train on an unchanged branch stays ended.
 */
import type { Client } from '@temporalio/client';
import { cutId } from '../domain/ids.js';
import type { CutResult } from '../workflows/cutRelease.js';
import { activeTrains, trainStatus } from './trains.js';

export type TrainChoice =
  | { id: string; how: 'resumed' }
  | { id: string; how: 'started'; why: string }
  | { id: string; how: 'ended'; stage: string; commit: string };

/** The service's newest train of any status, or undefined when it never had one. */
async function latestTrain(client: Client, service: string): Promise<string | undefined> {
  let newest: { id: string; start: number } | undefined;
  for await (const wf of client.workflow.list({ query: `WorkflowType = "releaseTrain" AND TrainyardService = "${service}"` })) {
    if (!newest || wf.startTime.getTime() > newest.start) newest = { id: wf.workflowId, start: wf.startTime.getTime() };
  }
  return newest?.id;
}

async function cut(client: Client, service: string, taskQueue: string, why: string): Promise<TrainChoice> {
  const result: CutResult = await client.workflow.execute('cutRelease', {
    workflowId: cutId(service),
    taskQueue,
    args: [{ service, startedBy: 'npm start' }],
  });
  if (!result.trainId) throw new Error(`the cut started no train: ${result.skipped}`);
  return { id: result.trainId, how: 'started', why };
}

/**
 * `branchHead` reads the service's default branch head (the demo's local repository); without it,
 * an ended train is never followed by a cut here.
 */
export async function findOrStartTrain(client: Client, service: string, taskQueue: string, branchHead?: () => string): Promise<TrainChoice> {
  const [running] = await activeTrains(client, service);
  if (running) return { id: running.trainId, how: 'resumed' };
  const latest = await latestTrain(client, service);
  if (!latest) return cut(client, service, taskQueue, `the first train of ${service}`);
  const ended = await trainStatus(client, latest);
  const head = branchHead?.();
  if (head && head !== ended.commit) return cut(client, service, taskQueue, `the branch moved to ${head.slice(0, 12)} since ${ended.tag}`);
  return { id: latest, how: 'ended', stage: ended.stage, commit: ended.commit };
}
