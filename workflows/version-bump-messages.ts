/**
 * The version bump's messages. `resolved` is an update: its validator refuses a bad or unauthorised
 * request before it reaches history, and the caller hears why.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { BumpStatus } from '../domain/version-bump.js';

export interface ResolvedRequest {
  by: string;
  reason: string;
}

/** A person addressed the failure (a revert or fix in the component, a fixed master): look again now. */
export const resolvedUpdate = defineUpdate<BumpStatus, [ResolvedRequest]>('resolved');
/** Plain JSON: stage, the request, its pipeline, what the bump waits for, the history of attempts. */
export const bumpStatusQuery = defineQuery<BumpStatus>('status');
