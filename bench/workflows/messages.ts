/** Messages of the baseline workflows; the bench sends `go` as the train gets `promote`. */
import { defineSignal, defineUpdate } from '@temporalio/workflow';

/** Same shape as the train's `promote` and the ledger's `unfreeze`: an operator request with a reason. */
export const goUpdate = defineUpdate<string, [{ by: string; reason: string }]>('go');
export const requestSignal = defineSignal<[string]>('request');
export const grantedSignal = defineSignal('granted');
export const freezeChangedSignal = defineSignal<[boolean]>('freezeChanged');
export const endSignal = defineSignal('end');
/** Sent with every lock request, as the train's `signalLedger` sends the service's config. */
export const configureSignal = defineSignal<[object]>('configure');
