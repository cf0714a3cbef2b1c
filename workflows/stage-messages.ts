/**
 * Messages of the stage follower (`stage/<service>`), shared with the webhook receiver and the CLI.
 * The receiver signals-with-start `stagePush` for every push to the followed branch.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { StagePush, StageStatus } from '../domain/stage.js';
import type { OperatorRequest } from '../domain/train.js';

export const STAGE_WORKFLOW = 'stageFollower';

export const stagePushSignal = defineSignal<[StagePush]>('stagePush');

export const stageStatusQuery = defineQuery<StageStatus>('stageStatus');

/** Deploy the newest candidate again after a failed deploy or smoke check (`promote` right). */
export const stageRetryUpdate = defineUpdate<StageStatus, [OperatorRequest]>('retry');
