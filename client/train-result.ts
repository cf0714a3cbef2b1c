/**
 * A train's final status, however its workflow ended: a released train completes with it; an
 * unreleased one fails carrying it (workflows/train-outcome.ts); a cancelled one is asked for it.
 */
import { ApplicationFailure, CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TrainStatus } from '../domain/train.js';
import { statusQuery } from '../workflows/messages.js';
import { TRAIN_OUTCOME_PREFIX } from '../workflows/train-outcome.js';

export async function trainResult(handle: WorkflowHandle): Promise<TrainStatus> {
  try {
    return (await handle.result()) as TrainStatus;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    if (cause instanceof ApplicationFailure && cause.type?.startsWith(TRAIN_OUTCOME_PREFIX) && cause.details?.[0]) return cause.details[0] as TrainStatus;
    if (cause instanceof CancelledFailure) return handle.query(statusQuery);
    throw err;
  }
}
