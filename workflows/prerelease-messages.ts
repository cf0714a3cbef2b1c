/**
 * Messages of a pre-release (`prerelease/<service>/<tag>`). The names are part of the product: the
 * `trainyard deploy` CLI uses these definitions; the same names work from `temporal workflow update`
 * and the Temporal UI. Every operator action is an update whose validator rejects a bad or
 * unauthorised request before anything reaches history.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { PreReleaseStatus, PrRequest } from '../domain/prerelease.js';
import type { OperatorRequest } from '../domain/train.js';

/** Let a pull request through the QA gate without its approval label, with a reason (`promote` right). */
export const waiveUpdate = defineUpdate<PreReleaseStatus, [PrRequest]>('waive');
/** An SRE acknowledges that a pull request's environment variable change is done in production. */
export const acknowledgeEnvUpdate = defineUpdate<PreReleaseStatus, [PrRequest]>('acknowledgeEnv');
/** Read the pull requests' labels again now instead of at the next poll. */
export const recheckUpdate = defineUpdate<PreReleaseStatus, [{ by: string; reason?: string }]>('recheck');
/** The 1-click deploy: mark the pre-release latest and deploy it to production (gate open, `promote` right). */
export const deployUpdate = defineUpdate<PreReleaseStatus, [OperatorRequest]>('deploy');
export const preReleaseStatusQuery = defineQuery<PreReleaseStatus>('status');
