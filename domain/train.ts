/**
 * A release train's state and the decisions about it, as plain JSON and pure functions.
 * The workflow wires messages and activities to these; the tests call them directly.
 */
import type { ReleaseCalendar } from './calendar.js';
import type { Operator } from './config.js';
import { describeFreeze, type FreezeView } from './ledger.js';
import type { ProductionHold } from './production-order.js';
import type { StepPolicy } from './steps.js';
import { refNameProblem } from './tags.js';
import { authorisationProblem } from './rights.js';

export { authorisationProblem, operatorsLocation, type OperatorPolicy } from './rights.js';

export const ENVIRONMENTS = ['staging', 'production'] as const;
export type EnvironmentName = (typeof ENVIRONMENTS)[number];

/** What a train needs to decide; derived from the service's config when the train is cut. */
export interface TrainPolicy extends StepPolicy {
  service: string;
  tagFormat: string;
  release: ReleaseCalendar;
  operators?: Operator[];
  /** Where the operators are declared (`services.<name>.operators of <config file>`), for refusals. */
  operatorsIn?: string;
  decisionDeadlineHours: number;
  hasE2E: boolean;
  /** Local time (`HH:mm`, release zone) at which E2E runs; right after staging when absent. */
  e2eAt?: string;
  smoke: Record<EnvironmentName, boolean>;
  /** Base URL of the Temporal Web UI, for links. */
  uiUrl?: string;
}

export interface TrainInput {
  service: string;
  tag: string;
  commit: string;
  policy: TrainPolicy;
  /** Who started the train (operator name or `schedule`). */
  startedBy: string;
  /** When to promote to production (epoch ms); computed from the calendar by the cut. */
  releaseAt: number;
  /** A hotfix train: built from `fromTag` with chosen commits; freezes production for others. */
  hotfix?: { fromTag: string; picks: string[] };
}

export type Stage =
  | 'cut'
  | 'staging'
  | 'awaiting-e2e'
  | 'e2e'
  | 'awaiting-release'
  | 'awaiting-decision'
  | 'awaiting-lock'
  | 'production'
  | 'rolling-back'
  | 'released'
  | 'rolled-back'
  | 'failed'
  | 'aborted'
  | 'superseded'
  | 'expired';

export const FINAL_STAGES: readonly Stage[] = ['released', 'rolled-back', 'failed', 'aborted', 'superseded', 'expired'];

export interface StageRecord {
  stage: Stage;
  startedAt: number;
  endedAt?: number;
  note?: string;
}

export interface OperatorAction {
  kind: 'promote' | 'abort' | 'retryDeploy' | 'rerunE2E' | 'regenerateChangelog' | 'supersede';
  by: string;
  reason: string;
  at: number;
  overrideFreeze?: boolean;
  /** A promote over production's version, which the train does not contain: that version's tag. */
  overrideBackwards?: string;
}

export interface CheckOutcome {
  passed: boolean;
  summary: string;
  url?: string;
}

/** What the train knows of its published changelog (the notes live on the forge). */
export interface ChangelogSummary {
  url: string;
  fromTag?: string;
  commits: number;
  truncated: boolean;
}

export interface TrainStatus {
  trainId: string;
  service: string;
  tag: string;
  commit: string;
  stage: Stage;
  startedBy: string;
  releaseAt: number;
  /** The release calendar's zone: how times are shown to people. */
  timeZone: string;
  stages: StageRecord[];
  e2e?: CheckOutcome;
  changelog?: ChangelogSummary;
  actions: OperatorAction[];
  /** Versions (tags) known to be running, as the train saw them. */
  versions: { staging?: string; production?: string; previousProduction?: string };
  /** What the train waits for now, in words, when it waits. */
  waitingFor?: string;
  /** Freeze state of each environment, as its ledger last told the train. */
  freezes: Partial<Record<EnvironmentName, FreezeView>>;
  /** Set while the train waits for `retryDeploy` after a deploy's retries were exhausted. */
  failedDeploy?: { environment: EnvironmentName; error: string };
  /**
   * Set while the train waits instead of deploying to production, because production runs a version
   * its commit does not contain (see domain/production-order.ts).
   */
  productionHold?: ProductionHold;
  error?: string;
}

/** A train before its first stage; the workflow enters `cut` at once. */
export function initialStatus(trainId: string, input: TrainInput): TrainStatus {
  return {
    trainId,
    service: input.service,
    tag: input.tag,
    commit: input.commit,
    stage: 'cut',
    startedBy: input.startedBy,
    releaseAt: input.releaseAt,
    timeZone: input.policy.release.timeZone,
    stages: [],
    actions: [],
    versions: {},
    freezes: {},
  };
}

/** Moves the train to `stage`, closing the current stage record. Mutates and returns `status`. */
export function enterStage(status: TrainStatus, stage: Stage, now: number, note?: string): TrainStatus {
  const current = status.stages[status.stages.length - 1];
  if (current && current.endedAt === undefined) current.endedAt = now;
  status.stage = stage;
  status.waitingFor = undefined;
  const record: StageRecord = { stage, startedAt: now };
  if (note !== undefined) record.note = note;
  if (FINAL_STAGES.includes(stage)) record.endedAt = now;
  status.stages.push(record);
  return status;
}

export function isFinal(stage: Stage): boolean {
  return FINAL_STAGES.includes(stage);
}

/** The train's status for searching: `running`, `waiting`, or how it ended. */
export function statusOf(stage: Stage): string {
  if (isFinal(stage)) return stage;
  return stage.startsWith('awaiting-') ? 'waiting' : 'running';
}

/** The environment a train in `stage` works on; the previous one while it waits. */
export function environmentOf(stage: Stage, previous: EnvironmentName | undefined): EnvironmentName | undefined {
  if (stage === 'staging' || stage === 'e2e') return 'staging';
  if (['production', 'rolling-back', 'released', 'rolled-back'].includes(stage)) return 'production';
  return previous;
}

/** Reasons and identities end up in history and notifications: keep them bounded. */
export const MAX_REASON_LENGTH = 2_000;
export const MAX_OPERATOR_LENGTH = 100;

export interface OperatorRequest {
  by: string;
  reason: string;
  /** Promote through a production freeze (needs the override-freeze right). */
  overrideFreeze?: boolean;
  /**
   * Deploy although production runs a version this train does not contain (only while the train is
   * held for that; needs the rollback right, since it removes changes from production as a rollback does).
   */
  overrideBackwards?: boolean;
}

export interface ChangelogRequest extends OperatorRequest {
  /** Start the changelog from this tag instead of the last production version. */
  previousTag?: string;
}

export interface SupersedeRequest extends OperatorRequest {
  /** The tag of the train that replaces this one. */
  newTag: string;
}

/** The optional fields each kind of operator request may carry, besides `by` and `reason`. */
type FieldKind = 'string' | 'boolean' | 'string|number';
const FIELD_CHECKS: Record<FieldKind, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  boolean: (v) => typeof v === 'boolean',
  'string|number': (v) => typeof v === 'string' || typeof v === 'number',
};
/** Longest value of an optional field (a tag, a time): anything longer is not one. */
const MAX_FIELD_LENGTH = 300;

/**
 * The shape every operator request shares: a bounded `by` and `reason`, and only the optional
 * fields named in `optional`, each of its type. Unknown fields are refused, because whatever an
 * update carries is written to history (`temporal workflow update --input` can send anything).
 */
export function requestProblem(req: unknown, optional: Record<string, FieldKind> = {}): string | undefined {
  if (!req || typeof req !== 'object' || Array.isArray(req)) return 'expected {"by": "<operator>", "reason": "<why>"}';
  const r = req as Record<string, unknown>;
  if (typeof r.by !== 'string' || r.by.trim() === '') return 'an operator name ("by") is required';
  if (r.by.length > MAX_OPERATOR_LENGTH) return `operator name is longer than ${MAX_OPERATOR_LENGTH} characters`;
  if (typeof r.reason !== 'string' || r.reason.trim() === '') return 'a reason is required: say why (it is recorded and notified)';
  if (r.reason.length > MAX_REASON_LENGTH) return `reason is longer than ${MAX_REASON_LENGTH} characters; link to a document instead`;
  for (const [key, value] of Object.entries(r)) {
    if (key === 'by' || key === 'reason') continue;
    const kind = optional[key];
    const allowed = ['by', 'reason', ...Object.keys(optional)].join(', ');
    if (!kind) return `unknown field "${key.slice(0, 40)}"; this request takes ${allowed}`;
    if (value === undefined) continue;
    if (!FIELD_CHECKS[kind](value)) return `"${key}" must be a ${kind.replace('|', ' or ')}`;
    if (typeof value === 'string' && value.length > MAX_FIELD_LENGTH) return `"${key}" is longer than ${MAX_FIELD_LENGTH} characters`;
  }
  return undefined;
}

/** The `promote` update's validator: why this promote must be rejected, or undefined. */
export function promoteProblem(status: TrainStatus, policy: TrainPolicy, req: OperatorRequest): string | undefined {
  const bad = requestProblem(req, { overrideFreeze: 'boolean', overrideBackwards: 'boolean' });
  if (bad) return bad;
  if (isFinal(status.stage)) return `train ${status.trainId} has ended (${status.stage}); start a new train`;
  if (['production', 'rolling-back'].includes(status.stage)) return `train ${status.trainId} is already in ${status.stage}`;
  if (status.productionHold) return heldPromoteProblem(status, status.productionHold, policy, req);
  if (req.overrideBackwards) {
    return `train ${status.trainId} is not held by the production check; overrideBackwards is for a train that waits because production runs a version it does not contain`;
  }
  if (status.actions.some((a) => a.kind === 'promote')) return `train ${status.trainId} was already promoted`;
  if (status.failedDeploy) return `train ${status.trainId} waits for retryDeploy or abort after a failed deploy to ${status.failedDeploy.environment}`;
  // Whether this operator may promote at all comes before whether production lets anyone now.
  const denied = authorisationProblem(policy, req.by, 'promote');
  if (denied) return denied;
  const freeze = status.freezes.production;
  if (freeze?.frozen && freeze.ownerTrainId !== status.trainId && !req.overrideFreeze) {
    return `production is ${describeFreeze(freeze, policy.release.timeZone)}; the train goes on by itself when it is unfrozen, or an operator with the override-freeze right can promote with overrideFreeze`;
  }
  return req.overrideFreeze ? authorisationProblem(policy, req.by, 'override-freeze') : undefined;
}

/**
 * A promote of a train held because production runs a version it does not contain: only with
 * overrideBackwards, by an operator who may also roll production back (it removes changes as a
 * rollback does), and with override-freeze rights when it also asks to pass a freeze.
 */
function heldPromoteProblem(status: TrainStatus, hold: ProductionHold, policy: TrainPolicy, req: OperatorRequest): string | undefined {
  if (!req.overrideBackwards) {
    return `train ${status.trainId} waits: ${hold.why}; re-tag from a newer commit, abort, or promote with overrideBackwards (--override-backwards) and a reason to deploy it anyway`;
  }
  if (req.overrideFreeze) {
    const problem = authorisationProblem(policy, req.by, 'override-freeze');
    if (problem) return problem;
  }
  return authorisationProblem(policy, req.by, 'rollback') ?? authorisationProblem(policy, req.by, 'promote');
}

export function abortProblem(status: TrainStatus, policy: TrainPolicy, req: OperatorRequest): string | undefined {
  const bad = requestProblem(req);
  if (bad) return bad;
  if (isFinal(status.stage)) return `train ${status.trainId} has already ended (${status.stage})`;
  return authorisationProblem(policy, req.by, 'abort');
}

export function retryDeployProblem(status: TrainStatus, policy: TrainPolicy, req: OperatorRequest): string | undefined {
  const bad = requestProblem(req);
  if (bad) return bad;
  if (!status.failedDeploy) return `train ${status.trainId} has no failed deploy to retry (stage: ${status.stage})`;
  return authorisationProblem(policy, req.by, 'promote');
}

/**
 * `beforeRelease`: the train can re-run a failed E2E while it waits for its release time (trains
 * started before that change only after the release time, at the gate).
 */
export function rerunE2EProblem(status: TrainStatus, policy: TrainPolicy, req: OperatorRequest, options: { beforeRelease?: boolean } = {}): string | undefined {
  const bad = requestProblem(req);
  if (bad) return bad;
  if (!policy.hasE2E) return `service ${policy.service} has no E2E configured`;
  if (status.productionHold) return `train ${status.trainId} is past its gate and waits because ${status.productionHold.why}; E2E would not change that`;
  const waiting = status.stage === 'awaiting-decision' || (options.beforeRelease === true && status.stage === 'awaiting-release');
  if (!waiting || !status.e2e || status.e2e.passed) {
    return `train ${status.trainId} is not waiting after failed E2E (stage: ${status.stage})`;
  }
  return authorisationProblem(policy, req.by, 'promote');
}

export function regenerateChangelogProblem(status: TrainStatus, policy: TrainPolicy, req: ChangelogRequest): string | undefined {
  const bad = requestProblem(req, { previousTag: 'string' });
  if (bad) return bad;
  if (req.previousTag !== undefined) {
    const problem = refNameProblem(req.previousTag);
    if (problem) return `previousTag "${req.previousTag.slice(0, 80)}" ${problem}`;
  }
  if (isFinal(status.stage)) return `train ${status.trainId} has ended (${status.stage})`;
  return authorisationProblem(policy, req.by, 'promote');
}

/** A re-tag replaces a train before production; once production is touched, roll back instead. */
export function supersedeProblem(status: TrainStatus, policy: TrainPolicy, req: SupersedeRequest): string | undefined {
  const bad = requestProblem(req, { newTag: 'string' });
  if (bad) return bad;
  if (typeof req.newTag !== 'string') return 'the new tag ("newTag") is required';
  if (isFinal(status.stage)) return `train ${status.trainId} has already ended (${status.stage})`;
  if (['production', 'rolling-back'].includes(status.stage) || status.versions.production === status.tag) {
    return `train ${status.trainId} has reached production; roll back (trainyard rollback) instead of re-tagging`;
  }
  const problem = refNameProblem(req.newTag);
  if (problem) return `new tag "${req.newTag.slice(0, 80)}" ${problem}`;
  // Replacing the release candidate is a cut: the `start` right.
  return authorisationProblem(policy, req.by, 'start');
}

export type GateDecision = { kind: 'promote'; why: string } | { kind: 'wait'; why: string };

/**
 * The production gate. Promotes when an operator said so, or at the release time when E2E passed;
 * otherwise the train waits for a person.
 */
export function gateDecision(input: { promotedBy?: string; e2e?: CheckOutcome; releaseTimeReached: boolean; hasE2E: boolean }): GateDecision {
  if (input.promotedBy) return { kind: 'promote', why: `promoted by ${input.promotedBy}` };
  if (!input.releaseTimeReached) return { kind: 'wait', why: 'the release time' };
  if (!input.hasE2E) return { kind: 'promote', why: 'release time reached (no E2E configured)' };
  if (input.e2e?.passed) return { kind: 'promote', why: 'release time reached and E2E passed' };
  return { kind: 'wait', why: 'a release manager to promote (E2E failed) or abort' };
}
