/**
 * Messages of the environment ledger, and the ones it sends to trains. Names are part of the
 * product: `temporal workflow update --name freeze` works as `trainyard freeze` does.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Operator } from '../domain/config.js';
import type { DeploymentRecord, FreezeView, LedgerConfig, LedgerState, LockRequest, RollbackRequest } from '../domain/ledger.js';
import type { ChangelogCommand, CutCommand, CutScheduleCommand, CutScheduleOutcome, CutStarted, RevertCommand, RevertOutcome } from '../domain/service-actions.js';
import type { ChangelogSummary } from '../domain/train.js';
import type { EnvironmentName } from '../domain/train.js';

export interface FreezeRequest {
  by: string;
  reason: string;
  /** ISO time or epoch ms at which the freeze ends by itself. */
  until?: string | number;
}

export interface Subscription {
  trainId: string;
  /** The service's operators as the train's policy has them (the ledger enforces the same rights). */
  operators?: Operator[];
}

export const requestLockSignal = defineSignal<[LockRequest]>('requestLock');
export const releaseLockSignal = defineSignal<[{ trainId: string; deployments: DeploymentRecord[] }]>('releaseLock');
/** A hotfix train freezes the environment for everyone else until it releases its lock. */
export const hotfixFreezeSignal = defineSignal<[{ trainId: string; tag: string; by: string }]>('hotfixFreeze');
/** A failed rollback freezes the environment until a person unfreezes it (not owned by the train). */
export const incidentFreezeSignal = defineSignal<[{ by: string; reason: string }]>('incidentFreeze');
/** The service's config for this ledger (operators, freeze windows, zone); sent with every message. */
export const configureSignal = defineSignal<[LedgerConfig]>('configure');
/** Read the service's config again (operators, freeze windows) from the worker; no payload. */
export const reloadConfigSignal = defineSignal<[]>('reloadConfig');
export const subscribeSignal = defineSignal<[Subscription]>('subscribe');
export const freezeUpdate = defineUpdate<FreezeView, [FreezeRequest]>('freeze');
export const unfreezeUpdate = defineUpdate<FreezeView, [{ by: string; reason: string }]>('unfreeze');
/**
 * Rolls the environment back to a verified earlier version (`to`, default the previous one): the
 * validator checks the `rollback` right and the target; the answer names the rollback workflow.
 */
export const rollbackUpdate = defineUpdate<{ rollbackId: string; tag: string }, [RollbackRequest]>('rollback');
/**
 * Service actions, on the production ledger only (domain/service-actions.ts): cut a train
 * (`start` right; a hotfix: `hotfix`), open revert pull requests (`revert`), pause, unpause
 * (`freeze`) or trigger (`start`) the cut schedule. Validators refuse before anything is written.
 */
export const cutUpdate = defineUpdate<CutStarted, [CutCommand]>('cut');
export const revertUpdate = defineUpdate<{ results: RevertOutcome[] }, [RevertCommand]>('revert');
export const cutScheduleUpdate = defineUpdate<CutScheduleOutcome, [CutScheduleCommand]>('cutSchedule');
/** Regenerates the notes of an ended train (`promote` right): the train can no longer take its own update. */
export const changelogUpdate = defineUpdate<ChangelogSummary, [ChangelogCommand]>('changelog');
export const ledgerQuery = defineQuery<LedgerState & { frozen: FreezeView }>('ledger');

/** Ledger → train: the lock is yours; `stable` is the version to roll back to. */
export const lockGrantedSignal = defineSignal<[{ environment: EnvironmentName; stable?: { tag: string; commit: string } }]>('lockGranted');
/** Ledger → train: your request waits, and why (the lock is held, or the environment is frozen). */
export const lockQueuedSignal = defineSignal<[{ environment: EnvironmentName; why: string }]>('lockQueued');
/** Ledger → train: the environment's freeze state changed. */
export const freezeChangedSignal = defineSignal<[{ environment: EnvironmentName; freeze: FreezeView }]>('freezeChanged');
