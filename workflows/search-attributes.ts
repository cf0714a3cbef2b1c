/**
 * Search attributes that make trains findable in the Temporal UI and `temporal workflow list`.
 * The dev server registers them at start (`--search-attribute`); `trainyard setup` does it for a
 * cluster Trainyard did not start.
 */
import { defineSearchAttributeKey } from '@temporalio/common';

export const SERVICE = defineSearchAttributeKey('TrainyardService', 'KEYWORD');
export const TAG = defineSearchAttributeKey('TrainyardTag', 'KEYWORD');
export const STAGE = defineSearchAttributeKey('TrainyardStage', 'KEYWORD');
/** `running`, `waiting` (for a time, a lock or a person) or the final stage. */
export const STATUS = defineSearchAttributeKey('TrainyardStatus', 'KEYWORD');
/** The environment the train is working on (or ended in). */
export const ENVIRONMENT = defineSearchAttributeKey('TrainyardEnvironment', 'KEYWORD');

export const ALL_SEARCH_ATTRIBUTES = [SERVICE, TAG, STAGE, STATUS, ENVIRONMENT];
