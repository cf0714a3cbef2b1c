/**
 * The environment ledger's state and decisions: one per service and environment, the single writer
 * of "what runs where". It grants the deploy lock (one deployment at a time, first come first
 * served), holds the freeze state, and remembers the deployed versions.
 *
 * Plain JSON and pure functions: the workflow (workflows/environmentLedger.ts) wires messages to
 * these and carries the state across continue-as-new.
 */
import { describeTime } from './calendar.js';
import type { Operator, Right } from './config.js';
import { nextWindowChange, windowFreezeAt, type FreezeWindow } from './freeze-windows.js';
import { authorisationProblem } from './rights.js';
import type { EnvironmentName } from './train.js';

export interface LockRequest {
  trainId: string;
  tag: string;
  requestedAt: number;
  /** A hotfix train, or a promote an admin forced through a freeze: may deploy while frozen. */
  bypassFreeze: boolean;
  /** Why it waits, as last told to the train (so it is told once per change). */
  toldWhy?: string;
}

export interface Freeze {
  by: string;
  reason: string;
  at: number;
  /** Ends by itself at this time (epoch ms); absent: until someone unfreezes. */
  until?: number;
  /** Set by a hotfix train: the freeze ends when that train ends. */
  ownerTrainId?: string;
}

export type DeploymentOutcome = 'verified' | 'failed' | 'rolled-back';

export interface DeploymentRecord {
  tag: string;
  commit: string;
  trainId: string;
  at: number;
  outcome: DeploymentOutcome;
  /** Who caused it: the operator who promoted, or `schedule`. */
  by: string;
  /** What a person should know of it, e.g. that it was deployed over a version it does not contain. */
  note?: string;
}

export interface LedgerState {
  service: string;
  environment: EnvironmentName;
  holder?: LockRequest & { grantedAt: number; checkedAt?: number };
  queue: LockRequest[];
  freeze?: Freeze;
  /** Newest last; capped at MAX_DEPLOYMENTS so the state stays small across continue-as-new. */
  deployments: DeploymentRecord[];
  /** Trains told about freeze changes (their validators need the freeze state synchronously). */
  subscribers: string[];
  /**
   * The service's config has reached this ledger (when it was created, or since): until then it
   * does not know who may act, and refuses every operator action. Absent in states of ledgers
   * started before ledgers read their config; they read it on their next wake-up.
   */
  configured?: boolean;
  /** Absent: the config names no operators, so anyone may act (once `configured`). */
  operators?: Operator[];
  /** Where the operators are declared, for refusals. */
  operatorsIn?: string;
  /** Recurring freezes from the config, in `timeZone`. */
  windows?: FreezeWindow[];
  timeZone?: string;
}

/** What a ledger takes from the service's config (sent with every message, so changes arrive). */
export interface LedgerConfig {
  operators?: Operator[];
  operatorsIn?: string;
  freezeWindows?: FreezeWindow[];
  timeZone?: string;
}

export function configure(state: LedgerState, config: LedgerConfig): void {
  state.configured = true;
  if (config.operators) state.operators = config.operators;
  else delete state.operators;
  if (config.operatorsIn) state.operatorsIn = config.operatorsIn;
  else delete state.operatorsIn;
  state.windows = config.freezeWindows ?? [];
  if (config.timeZone) state.timeZone = config.timeZone;
}

/**
 * Why `by` may not use `right` through this ledger; undefined when allowed. A ledger that has not
 * read its service's config yet refuses everyone: it cannot tell who may act.
 */
export function ledgerRightsProblem(state: LedgerState, by: string, right: Right): string | undefined {
  if (!state.configured) {
    return `the ${state.environment} ledger of ${state.service} has not read the service's operators from the config yet (a worker reads them when the ledger starts); try again in a few seconds, and if this persists check that a worker for ${state.service} is running`;
  }
  return authorisationProblem(state, by, right);
}

export const MAX_DEPLOYMENTS = 100;

export function initialLedger(service: string, environment: EnvironmentName): LedgerState {
  return { service, environment, queue: [], deployments: [], subscribers: [] };
}

/** The operator's (or a hotfix's, or an incident's) freeze, unless it has expired. */
export function manualFreeze(state: LedgerState, now: number): Freeze | undefined {
  const f = state.freeze;
  return f && (f.until === undefined || f.until > now) ? f : undefined;
}

/** The active freeze at `now`: a manual one, else a freeze window of the config. */
export function activeFreeze(state: LedgerState, now: number): Freeze | undefined {
  const manual = manualFreeze(state, now);
  if (manual || !state.windows?.length) return manual;
  const window = windowFreezeAt(state.windows, state.timeZone ?? 'UTC', state.environment, now);
  return window && { by: 'freeze window', reason: window.reason, at: now, until: window.until };
}

/** When the freeze state next changes by itself (a manual freeze ends, a window starts or ends). */
export function nextFreezeChange(state: LedgerState, now: number): number | undefined {
  const candidates = [manualFreeze(state, now)?.until, state.windows?.length ? nextWindowChange(state.windows, state.timeZone ?? 'UTC', state.environment, now) : undefined];
  const times = candidates.filter((t): t is number => t !== undefined && t > now);
  return times.length > 0 ? Math.min(...times) : undefined;
}

/**
 * Queues a request once (a retried request is not queued twice). A repeated request may only add
 * the right to bypass a freeze (an override-freeze promote of a train already waiting).
 */
export function enqueue(state: LedgerState, req: LockRequest): void {
  if (state.holder?.trainId === req.trainId) return;
  const queued = state.queue.find((q) => q.trainId === req.trainId);
  if (queued) queued.bypassFreeze = queued.bypassFreeze || req.bypassFreeze;
  else state.queue.push(req);
}

/**
 * The next request to grant: none while the lock is held; otherwise the first in the queue that may
 * deploy now (while frozen, only requests that bypass the freeze).
 */
export function nextGrant(state: LedgerState, now: number): LockRequest | undefined {
  if (state.holder) return undefined;
  const frozen = activeFreeze(state, now) !== undefined;
  return state.queue.find((q) => !frozen || q.bypassFreeze);
}

/** Why a queued request waits now. */
export function waitReason(state: LedgerState, req: LockRequest, now: number): string {
  const freeze = activeFreeze(state, now);
  if (freeze && !req.bypassFreeze) return `${state.environment} is frozen by ${freeze.by}: ${freeze.reason}`;
  const ahead = state.holder ? `${state.holder.trainId} is deploying ${state.holder.tag}` : 'the lock is being handed over';
  return `${ahead} (queue position ${state.queue.indexOf(req) + 1})`;
}

export function grant(state: LedgerState, req: LockRequest, now: number): void {
  state.queue = state.queue.filter((q) => q.trainId !== req.trainId);
  const { toldWhy: _, ...request } = req;
  state.holder = { ...request, grantedAt: now };
}

/** Releases the lock (or drops a queued request) of `trainId`; records its deployments, if any. */
export function release(state: LedgerState, trainId: string, deployments: DeploymentRecord[] = []): void {
  if (state.holder?.trainId === trainId) state.holder = undefined;
  state.queue = state.queue.filter((q) => q.trainId !== trainId);
  state.deployments.push(...deployments);
  if (state.deployments.length > MAX_DEPLOYMENTS) state.deployments.splice(0, state.deployments.length - MAX_DEPLOYMENTS);
}

/** The last version verified in this environment, other than `exceptTag`: the rollback target. */
export function stableVersion(state: LedgerState, exceptTag?: string): DeploymentRecord | undefined {
  for (let i = state.deployments.length - 1; i >= 0; i--) {
    const d = state.deployments[i];
    if (d && d.outcome === 'verified' && d.tag !== exceptTag) return d;
  }
  return undefined;
}

/**
 * Where a changelog of `tag` starts: the last version verified here before `tag` first reached this
 * environment, so a released train's notes still start where production was before it (not at a
 * later release); for a tag that never got here, the last verified version other than itself.
 */
export function changelogBase(state: LedgerState, tag: string): DeploymentRecord | undefined {
  const arrived = state.deployments.findIndex((d) => d.tag === tag);
  if (arrived < 0) return stableVersion(state, tag);
  for (let i = arrived - 1; i >= 0; i--) {
    const d = state.deployments[i];
    if (d && d.outcome === 'verified' && d.tag !== tag) return d;
  }
  return undefined;
}

/** The longest freeze with an end: further out is a typo (a freeze without an end has no `until`). */
export const MAX_FREEZE_DAYS = 90;

/** Why a freeze may not end at `until`; undefined when it may. */
export function freezeUntilProblem(until: number, now: number): string | undefined {
  if (until <= now) return '"until" is in the past';
  if (until - now > MAX_FREEZE_DAYS * 86_400_000) {
    return `a freeze with an end ends within ${MAX_FREEZE_DAYS} days, not on ${new Date(until).toISOString().slice(0, 10)}; to freeze until someone unfreezes, leave out the end`;
  }
  return undefined;
}

/** What an operator or train sees of the ledger. */
export interface FreezeView {
  frozen: boolean;
  by?: string;
  reason?: string;
  until?: number;
  /** The hotfix train that holds this freeze (it may deploy through it). */
  ownerTrainId?: string;
}

export function freezeView(state: LedgerState, now: number): FreezeView {
  const f = activeFreeze(state, now);
  if (!f) return { frozen: false };
  const view: FreezeView = { frozen: true, by: f.by, reason: f.reason };
  if (f.until !== undefined) view.until = f.until;
  if (f.ownerTrainId !== undefined) view.ownerTrainId = f.ownerTrainId;
  return view;
}

/** A hotfix freezes the environment for everyone else until it is done; an existing freeze stays. */
export function hotfixFreeze(state: LedgerState, trainId: string, tag: string, by: string, now: number): void {
  if (!activeFreeze(state, now)) state.freeze = { by, reason: `hotfix ${tag} in progress`, at: now, ownerTrainId: trainId };
}

/** A freeze in words; its end in `timeZone` (the service's release zone), with the offset. */
export function describeFreeze(view: FreezeView, timeZone = 'UTC'): string {
  if (!view.frozen) return 'not frozen';
  return `frozen by ${view.by}: ${view.reason}${view.until ? ` (until ${describeTime(view.until, timeZone)})` : ''}`;
}

export interface RollbackRequest {
  by: string;
  reason: string;
  /** The tag to go back to; default: the last verified version before the current one. */
  to?: string;
}

/** What a rollback will deploy, or why it cannot: the target must be a version this environment ran and verified. */
export function rollbackTarget(state: LedgerState, to: string | undefined): { target: DeploymentRecord } | { problem: string } {
  const where = `${state.service} ${state.environment}`;
  const current = state.deployments[state.deployments.length - 1];
  if (!current) return { problem: `nothing was deployed to ${where} through Trainyard, so there is nothing to roll back to` };
  if (state.holder?.trainId.startsWith('rollback/')) return { problem: `${where} is already being rolled back by ${state.holder.trainId}` };
  if (to !== undefined) {
    if (to === current.tag && current.outcome === 'verified') return { problem: `${where} already runs ${to}` };
    for (let i = state.deployments.length - 1; i >= 0; i--) {
      const d = state.deployments[i];
      if (d?.tag === to && d.outcome === 'verified') return { target: d };
    }
    const known = [...new Set(state.deployments.filter((d) => d.outcome === 'verified').map((d) => d.tag))].slice(-5);
    return { problem: `${to} was never verified in ${where}; verified versions: ${known.join(', ') || 'none'}` };
  }
  const target = stableVersion(state, current.tag);
  return target ? { target } : { problem: `${where} has no verified version other than ${current.tag} to roll back to` };
}
