/**
 * The activities a workflow may call, as types only: workflows import this file with `import type`,
 * so no activity implementation (or Node built-in) can reach the workflow sandbox.
 */
import type { LedgerConfig, LockRequest } from '../domain/ledger.js';
import type { CommitRelation } from '../domain/production-order.js';
import type { CutScheduleAction, CutScheduleOutcome } from '../domain/service-actions.js';
import type { ActiveTrain } from '../domain/train-slots.js';
import type { StepPolicy } from '../domain/steps.js';
import type { ChangelogSummary, CheckOutcome, EnvironmentName, TrainPolicy } from '../domain/train.js';
import type { Subscription } from '../workflows/ledger-messages.js';

export interface DeployRequest {
  service: string;
  environment: EnvironmentName;
  tag: string;
  commit: string;
  trainId: string;
}

/** What a deploy step answers. */
export interface DeployOutcome {
  summary: string;
  url?: string;
  /**
   * A later attempt found the tag already running at the environment's version URL and did not run
   * the driver again (activities/deploy/once.ts); `summary` says so and where it read it.
   */
  alreadyRunning?: boolean;
}

export interface CheckRequest {
  service: string;
  /** `e2e` runs the service's E2E suite against staging; `smoke` the environment's smoke check. */
  check: 'smoke' | 'e2e';
  environment: EnvironmentName;
  tag: string;
  commit: string;
  trainId: string;
}

export type TrainEvent =
  | 'cut'
  | 'operator-action'
  | 'frozen'
  | 'unfrozen'
  | 'changelog'
  | 'superseded'
  | 'deployed'
  | 'check-failed'
  | 'awaiting-decision'
  | 'promoted'
  | 'released'
  | 'rolled-back'
  | 'rollback-started'
  | 'rollback-failed'
  | 'failed'
  | 'aborted'
  | 'expired';

export interface Notification {
  service: string;
  /** The train (or ledger) the event is about. */
  trainId: string;
  event: TrainEvent;
  text: string;
}

export type LedgerSignal = { service: string; environment: EnvironmentName } & (
  | { signal: 'requestLock'; payload: LockRequest }
  | { signal: 'subscribe'; payload: Subscription }
  | { signal: 'hotfixFreeze'; payload: { trainId: string; tag: string; by: string } }
);

export interface RollbackStart extends StepPolicy {
  service: string;
  environment: EnvironmentName;
  tag: string;
  commit: string;
  by: string;
  reason: string;
}

export interface TrainActivities {
  /** Signal-with-start of the environment ledger. */
  signalLedger(req: LedgerSignal): Promise<void>;
  /** The decision-relevant part of a service's config (no driver settings, no secrets). */
  trainPolicy(req: { service: string }): Promise<TrainPolicy>;
  /** What a ledger takes from its service's config (operators, freeze windows); UNKNOWN_SERVICE if none. */
  ledgerConfig(req: { service: string }): Promise<LedgerConfig>;
  /** Opens the revert of a merged pull request (idempotent per number); the revert request. */
  revertChange(req: { service: string; pr: number }): Promise<{ number: number; url: string }>;
  /**
   * Pauses, unpauses or triggers the service's cut schedule; `note` is the schedule's note. Not done
   * (and why) when already paused, not paused, or paused by a freeze.
   */
  controlCutSchedule(req: { service: string; action: CutScheduleAction; note: string }): Promise<CutScheduleOutcome>;
  /** The commit a ref (branch, tag or sha) points at; the default branch's head when `ref` is absent. */
  resolveCommit(req: { service: string; ref?: string }): Promise<string>;
  listReleaseTags(req: { service: string }): Promise<string[]>;
  /** How `head` relates to `base` on the service's forge (`ahead`: head contains base). */
  compareCommits(req: { service: string; base: string; head: string }): Promise<CommitRelation>;
  /**
   * The service's running trains with their release slots: those the visibility store lists, and
   * those of `trainIds` (found without it, e.g. the trains of the slot's tags) that run.
   */
  activeTrains(req: { service: string; trainIds: string[] }): Promise<ActiveTrain[]>;
  /** Idempotent: the same tag at the same commit succeeds; at another commit it is TAG_CONFLICT. */
  createReleaseTag(req: { service: string; tag: string; commit: string; message: string }): Promise<{ created: boolean }>;
  /** Branches `branch` from `fromTag` and cherry-picks `picks`; returns the commit to tag. */
  prepareHotfix(req: { service: string; branch: string; fromTag: string; picks: string[] }): Promise<string>;
  /**
   * Pauses the service's cut schedule while production is frozen (note: why), and unpauses it when
   * the freeze ends, unless a person paused it for another reason. No schedule: nothing to do.
   */
  pauseCutSchedule(req: { service: string; frozen: boolean; why: string }): Promise<void>;
  /** Whether a workflow (a lock holder) is still running; false when it ended or never existed. */
  workflowRunning(req: { workflowId: string }): Promise<boolean>;
  /** Asks a train to stand down for its re-tag; its validator's refusal is REJECTED. */
  supersedeTrain(req: { trainId: string; by: string; reason: string; newTag: string }): Promise<void>;
  /** Builds the changelog since the last production version and publishes it as release notes. */
  publishChangelog(req: { service: string; tag: string; previousTag?: string }): Promise<ChangelogSummary>;
  deploy(req: DeployRequest): Promise<DeployOutcome>;
  /** Starts the rollback workflow of an environment (idempotent per target); returns its id. */
  startRollback(req: RollbackStart): Promise<string>;
  runCheck(req: CheckRequest): Promise<CheckOutcome>;
  /** The tag running in an environment as the target itself reports it; null when unknown. */
  readDeployedVersion(req: { service: string; environment: EnvironmentName }): Promise<string | null>;
  notify(req: Notification): Promise<void>;
  /** Marks the moment `tag` became active in `environment` in the environment's monitoring. */
  annotate(req: { service: string; environment: EnvironmentName; tag: string; trainId: string; at: number }): Promise<void>;
}
