/**
 * Operator messages: the names are part of the product. The `trainyard` CLI uses these definitions;
 * the same names work from `temporal workflow update/query` and the Temporal UI.
 *
 * Every operator action is an update, not a signal: its validator rejects a bad or unauthorised
 * request before anything is written to history, and the caller gets the verdict.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ChangelogRequest, OperatorRequest, SupersedeRequest, TrainStatus } from '../domain/train.js';

/** Promote a train to production now, with a reason. */
export const promoteUpdate = defineUpdate<TrainStatus, [OperatorRequest]>('promote');
/** Abort a train: an in-flight deploy or check is cancelled and the train ends as aborted. */
export const abortUpdate = defineUpdate<TrainStatus, [OperatorRequest]>('abort');
/** Try a failed deploy again (after its retries were exhausted and the train waits for a person). */
export const retryDeployUpdate = defineUpdate<TrainStatus, [OperatorRequest]>('retryDeploy');
/** Run the E2E suite again after it failed (the train then promotes at the release time if it passes). */
export const rerunE2EUpdate = defineUpdate<TrainStatus, [OperatorRequest]>('rerunE2E');
/** Build and publish the changelog again, optionally from another previous tag (OVERRIDE_PREVIOUS_TAG). */
export const regenerateChangelogUpdate = defineUpdate<TrainStatus, [ChangelogRequest]>('regenerateChangelog');
/** End this train because a re-tag replaces it (sent by `trainyard tag`); refused once production is touched. */
export const supersedeUpdate = defineUpdate<TrainStatus, [SupersedeRequest]>('supersede');
export const statusQuery = defineQuery<TrainStatus>('status');
