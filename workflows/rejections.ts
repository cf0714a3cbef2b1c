/**
 * The one way a workflow refuses a message (an update's validator, or its handler when the state
 * changed since): a non-retryable application failure of type REJECTED, carrying the rule's words.
 * Clients show the message; the `temporal` CLI and the UI show "(type: REJECTED, retryable: false)"
 * instead of a generic, retryable Error.
 */
import { ApplicationFailure } from '@temporalio/workflow';

export const REJECTED = 'REJECTED';

export function rejected(problem: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(problem, REJECTED);
}

export function rejectIf(problem: string | undefined): void {
  if (problem) throw rejected(problem);
}
