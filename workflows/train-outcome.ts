/**
 * How a train's workflow ends, so the Temporal UI tells a release from the rest: a released train
 * completes with its status; one that ended otherwise fails with a non-retryable ApplicationFailure
 * typed by its outcome (`TRAIN_ROLLED_BACK`, `TRAIN_FAILED`, `TRAIN_EXPIRED`, `TRAIN_ABORTED`,
 * `TRAIN_SUPERSEDED`) whose message says why and whose details carry the final status; a train
 * whose workflow was cancelled (not aborted through the `abort` update) ends Canceled.
 * `client/train-result.ts` turns either back into the train's status.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type { TrainStatus } from '../domain/train.js';

export const TRAIN_OUTCOME_PREFIX = 'TRAIN_';

export function outcomeType(stage: string): string {
  return `${TRAIN_OUTCOME_PREFIX}${stage.toUpperCase().replaceAll('-', '_')}`;
}

/** Throws: the train did not release. `cancelled`: the cancellation of the workflow itself. */
export function endUnreleased(status: TrainStatus, cancelled?: unknown): never {
  if (cancelled) throw cancelled;
  const why = status.error ?? status.stages.at(-1)?.note;
  throw ApplicationFailure.create({
    type: outcomeType(status.stage),
    message: `train ${status.tag} ended ${status.stage}${why ? `: ${why}` : ''}; it was not released`,
    nonRetryable: true,
    details: [status],
  });
}
