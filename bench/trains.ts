/** Starting trains and their ledgers in the bench, and waiting for them, without test helpers. */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ledgerId, trainId } from '../domain/ids.js';
import { initialLedger, type LedgerState } from '../domain/ledger.js';
import { isFinal, type Stage, type TrainInput, type TrainPolicy, type TrainStatus } from '../domain/train.js';
import type { LedgerInput } from '../workflows/environmentLedger.js';
import { statusQuery } from '../workflows/messages.js';
import { SERVICE } from '../workflows/search-attributes.js';
import { TRAIN_QUEUE } from './events.js';

export const DAY = 86_400_000;
export const BENCH_COMMIT = 'c0ffee0000000000000000000000000000000001';
const COMMIT = BENCH_COMMIT;

/** A service with E2E and smoke tests in both environments, anyone may act (no operator list). */
export function benchPolicy(service: string): TrainPolicy {
  return {
    service,
    tagFormat: '{service}/v{yyyy}.{MM}.{dd}.{n}',
    release: { timeZone: 'America/New_York', days: ['mon', 'tue', 'wed', 'thu'], time: '11:00', minLeadHours: 12 },
    decisionDeadlineHours: 72,
    hasE2E: true,
    smoke: { staging: true, production: true },
  };
}

export function tagOf(service: string): string {
  return `${service}/v2026.01.05.1`;
}

export async function startTrain(client: Client, service: string, releaseAt: number): Promise<WorkflowHandle> {
  const tag = tagOf(service);
  const input: TrainInput = { service, tag, commit: COMMIT, policy: benchPolicy(service), startedBy: 'bench', releaseAt };
  return client.workflow.start('releaseTrain', { workflowId: trainId(service, tag), taskQueue: TRAIN_QUEUE, args: [input] });
}

/**
 * Starts a service's production ledger knowing one verified version, as for any service that has
 * released before: the train then gets its rollback target with the lock and reads no version.
 */
export async function startProductionLedger(client: Client, service: string): Promise<WorkflowHandle> {
  const state: LedgerState = {
    ...initialLedger(service, 'production'),
    deployments: [{ tag: `${service}/v0`, commit: COMMIT, trainId: `train/${service}/${service}/v0`, at: Date.now(), outcome: 'verified', by: 'bench' }],
  };
  const input: LedgerInput = { service, environment: 'production', state };
  return client.workflow.start('environmentLedger', {
    workflowId: ledgerId(service, 'production'),
    taskQueue: TRAIN_QUEUE,
    args: [input],
    typedSearchAttributes: [{ key: SERVICE, value: service }],
  });
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls a train's status query until it is in `stage`. */
export async function reach(handle: WorkflowHandle, stage: Stage, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await handle.query(statusQuery);
    if (status.stage === stage) return;
    if (Date.now() > deadline) throw new Error(`${handle.workflowId} stayed in ${status.stage} (${status.waitingFor ?? ''}), expected ${stage}`);
    await sleep(50);
  }
}

/** Polls a train's status query until it has ended; returns its final status. */
export async function finalStage(handle: WorkflowHandle, timeoutMs = 120_000): Promise<TrainStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await handle.query(statusQuery);
    if (isFinal(status.stage)) return status;
    if (Date.now() > deadline) throw new Error(`${handle.workflowId} did not end (stage ${status.stage}: ${status.waitingFor ?? ''})`);
    await sleep(200);
  }
}

/** Waits until `count` running trains are in `stage`, by the TrainyardStage search attribute. */
export async function reachAll(client: Client, stage: Stage, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const query = `TrainyardStage = "${stage}" AND ExecutionStatus = "Running"`;
  for (;;) {
    const { count: n } = await client.workflow.count(query);
    if (n >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${n} of ${count} trains reached ${stage} within ${timeoutMs} ms; ${await stragglers(client, stage)}`);
    await sleep(500);
  }
}

/** What the first few trains not in `stage` are doing, for the error message. */
async function stragglers(client: Client, stage: Stage): Promise<string> {
  const found: string[] = [];
  const query = `WorkflowType = "releaseTrain" AND ExecutionStatus = "Running" AND TrainyardStage != "${stage}"`;
  for await (const w of client.workflow.list({ query })) {
    const status = await client.workflow.getHandle(w.workflowId).query(statusQuery).catch((err: Error) => ({ stage: '?', waitingFor: err.message }));
    found.push(`${w.workflowId} is in ${status.stage} (${status.waitingFor ?? ''})`);
    if (found.length >= 3) break;
  }
  return found.length > 0 ? found.join('; ') : 'no running train is elsewhere (visibility lag?)';
}

/**
 * Runs `fn` over `items` with at most `limit` at once. After a failure no new item starts, and the
 * first error is thrown once every call in flight has settled (so no call outlives its connection).
 */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const errors: unknown[] = [];
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && errors.length === 0) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (err) {
        errors.push(err);
      }
    }
  });
  await Promise.all(lanes);
  if (errors.length > 0) throw errors[0];
  return results;
}
