/**
 * Messages of the `flagRollout` workflow (id `flag/<name>`). The names are part of the product:
 * `trainyard flag approve` sends the same `approve` update as `temporal workflow update --name approve`.
 * Every operator action is an update whose validator rejects bad or unauthorised input before it
 * is written to history.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { FlagState } from '../domain/flag-rollout.js';
import type { ApproveRequest, FlagRequest } from '../domain/flag-requests.js';

/** A maintainer approves Opt-in once acceptance testing passed; dashboard, alerts and runbook links must be known. */
export const approveFlagUpdate = defineUpdate<FlagState, [ApproveRequest]>('approve');
/** Move to the next status now, test again after a breach or a stage rollback, or retry a failed driver. */
export const advanceFlagUpdate = defineUpdate<FlagState, [FlagRequest]>('advance');
/** Stop automatic progress (no new test, no boundary) until `resume`. */
export const pauseFlagUpdate = defineUpdate<FlagState, [FlagRequest]>('pause');
export const resumeFlagUpdate = defineUpdate<FlagState, [FlagRequest]>('resume');
/** Go back one status (Opt-out → Opt-in → Ready-for-testing, flag disabled where needed) and hold. */
export const rollbackStageFlagUpdate = defineUpdate<FlagState, [FlagRequest]>('rollbackStage');
/** End the rollout: a running soak is cancelled and the flag is disabled everywhere. */
export const abortFlagUpdate = defineUpdate<FlagState, [FlagRequest]>('abort');
export const flagStatusQuery = defineQuery<FlagState>('status');
