/** Starting and observing trains in workflow tests. */
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { expect } from 'vitest';
import { ledgerId, trainId } from '../../domain/ids.js';
import { ENVIRONMENTS, isFinal, type Stage, type TrainInput, type TrainPolicy, type TrainStatus } from '../../domain/train.js';
import { statusQuery } from '../../workflows/messages.js';
import { pollUntil, PollTimeout, queryUntil } from './poll.js';

export const DAY = 24 * 3_600_000;

/** The time-skipping test server or the dev server (test/helpers/temporal.ts): a client and the server's clock. */
export interface TestServer {
  client: Client;
  currentTimeMs(): Promise<number>;
}

export async function startTrain(
  env: TestServer,
  opts: { service: string; tag: string; taskQueue: string; policy: TrainPolicy; releaseInMs?: number; startedBy?: string; commit?: string },
): Promise<WorkflowHandle> {
  const input: TrainInput = {
    service: opts.service,
    tag: opts.tag,
    commit: opts.commit ?? 'c0ffee0000000000000000000000000000000001',
    policy: { ...opts.policy, service: opts.service },
    startedBy: opts.startedBy ?? 'test',
    // The server's clock, not ours: earlier tests skipped it days ahead.
    releaseAt: (await env.currentTimeMs()) + (opts.releaseInMs ?? 2 * DAY),
  };
  const handle = await env.client.workflow.start('releaseTrain', { workflowId: trainId(opts.service, opts.tag), taskQueue: opts.taskQueue, args: [input] });
  started.push(handle);
  return handle;
}

const started: WorkflowHandle[] = [];

/**
 * Terminates every train started through `startTrain` and the service's ledgers. The time-skipping
 * server does not skip time while any workflow task is outstanding, so a workflow left behind by a
 * test whose worker is gone would stop the clock for every later test.
 */
export async function cleanUp(env: TestServer, service: string): Promise<void> {
  // Only this service's trains: tests of other services may be running beside this one.
  const mine = started.filter((h) => h.workflowId.startsWith(`train/${service}/`));
  started.splice(0, started.length, ...started.filter((h) => !mine.includes(h)));
  const handles = [...mine, ...ENVIRONMENTS.map((e) => env.client.workflow.getHandle(ledgerId(service, e)))];
  // The Java test server's clock can stop for good when a workflow is terminated while one of its
  // activities runs (e.g. the ledger's schedule lookup right after a freeze): let those finish.
  await Promise.all(handles.map((h) => activitiesSettled(h)));
  await Promise.all(handles.map((h) => h.terminate('test finished').catch(() => undefined)));
}

/** Waits (at most `timeoutMs`, then goes on) until the workflow has no activity running. */
export async function activitiesSettled(handle: WorkflowHandle, timeoutMs = 5_000): Promise<void> {
  const pending = () => handle.describe().then((d) => (d.status.name === 'RUNNING' ? (d.raw.pendingActivities?.length ?? 0) : 0), () => 0);
  await pollUntil(`${handle.workflowId} to have no activity running`, async () => (await pending()) === 0, { timeoutMs }).catch((err) => {
    if (!(err instanceof PollTimeout)) throw err;
  });
}

/** Polls the status query (real time; nothing is skipped while we poll) until `done` holds. */
export async function until(handle: WorkflowHandle, done: (s: TrainStatus) => boolean, what: string, timeoutMs = 20_000): Promise<TrainStatus> {
  return queryUntil(handle, statusQuery, done, `${handle.workflowId} to be ${what}`, { timeoutMs, show: (s) => `${s.stage} (${s.waitingFor ?? ''})` });
}

/** The train's final status, read through the query (see ledger.test.ts for why not `result()`). */
export async function finished(handle: WorkflowHandle, timeoutMs?: number): Promise<TrainStatus> {
  return until(handle, (s) => isFinal(s.stage), 'a final stage', timeoutMs);
}

export async function reach(handle: WorkflowHandle, stage: Stage, timeoutMs?: number): Promise<TrainStatus> {
  return until(handle, (s) => s.stage === stage, stage, timeoutMs);
}

/** The validator's message of a rejected update; fails the test when the update was accepted. */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    return (err as WorkflowUpdateFailedError).cause?.message ?? '';
  }
  throw new Error('the update was accepted');
}

export const stages = (s: TrainStatus) => s.stages.map((r) => r.stage);
