import { authorisationProblem, requestProblem, type OperatorRequest } from './train.js';
import type { Right } from './config.js';
import type { StepPolicy } from './steps.js';

/**
 * "Stage on every merge" (seed 004: every commit to main is deployed to stage): one long-lived
 * workflow per service (`stage/<service>`) that deploys the newest green commit of the branch to
 * staging through the staging ledger (so one deploy at a time, and a staging freeze holds it), once
 * per burst of merges. Pure decisions and plain-JSON state live here; the workflow is
 * workflows/stageFollower.ts.
 */

/** What the worker's config says about one service's follower; null when it has none (the follower ends). */
export interface StagePolicy extends StepPolicy {
  service: string;
  branch: string;
  requireGreen: boolean;
  lookback: number;
  quietSeconds: number;
  pollMinutes: number;
  pendingPollSeconds: number;
  /** Staging has a smoke check: run it after each deploy. */
  smoke: boolean;
  /** Who may act on the service (absent: anyone). */
  operators?: { name: string; rights: Right[] }[];
  /** Where the operators are declared, for refusals (see authorisationProblem). */
  operatorsIn?: string;
}

/** The branch as the follower sees it: its head, the head's CI state, and the commit to deploy. */
export interface BranchLook {
  head: string;
  headState: 'success' | 'pending' | 'failure' | 'none';
  /** The commit to deploy: the newest green one within the look-back (or the head when green is not required). */
  candidate?: string;
}

export interface StageDeployment {
  commit: string;
  at: number;
  outcome: 'verified' | 'failed';
  summary: string;
}

/** The follower's state: plain JSON, carried across continue-as-new. */
export interface StageState {
  service: string;
  /** The last commit the follower tried to deploy, and how that went. */
  last?: StageDeployment;
  /** Newest first, at most HISTORY_LIMIT. */
  history: StageDeployment[];
  /** Pushes heard (webhooks, `trainyard stage nudge`). */
  pushesHeard: number;
  lastPush?: { sha?: string; by?: string; at: number };
  /** An operator asked to deploy the candidate again although it was tried. */
  retryRequested: boolean;
  waitsFor: string;
  lastLook?: BranchLook & { at: number };
  /** Why the last look at the branch failed, until one succeeds. */
  lastError?: string;
}

export const HISTORY_LIMIT = 20;

export interface StageStart {
  service: string;
  state?: StageState;
  /** Continue as new past this many history events (default 2,000; tests use less). */
  maxHistoryEvents?: number;
}

/** A push the webhook receiver heard on the branch, or an operator's nudge: look now. */
export interface StagePush {
  sha?: string;
  by?: string;
}

export function initialStageState(service: string): StageState {
  return { service, history: [], pushesHeard: 0, retryRequested: false, waitsFor: 'the first look at the branch' };
}

export function heardPush(state: StageState, push: StagePush, now: number): StageState {
  return {
    ...state,
    pushesHeard: state.pushesHeard + 1,
    lastPush: { ...(push.sha ? { sha: push.sha.slice(0, 64) } : {}), ...(push.by ? { by: push.by.slice(0, 100) } : {}), at: now },
  };
}

/**
 * The `retry` update's validator: deploy the newest candidate again although it was tried (after a
 * failed deploy or smoke check). Needs the `promote` right, as a train's retry-deploy does.
 */
export function stageRetryProblem(state: StageState, policy: StagePolicy | null, req: OperatorRequest): string | undefined {
  const bad = requestProblem(req);
  if (bad) return bad;
  if (!policy) return `the follower of ${state.service} has not read its settings yet; try again in a moment`;
  const denied = authorisationProblem(policy, req.by, 'promote');
  if (denied) return denied;
  if (state.last?.outcome !== 'failed') return `nothing to retry: the last deploy to staging ${state.last ? `(${state.last.commit.slice(0, 12)}) was verified` : 'has not happened yet'}`;
  return undefined;
}

export function requestRetry(state: StageState, req: OperatorRequest, now: number): StageState {
  return { ...state, retryRequested: true, pushesHeard: state.pushesHeard + 1, lastPush: { by: req.by, at: now } };
}

/** Whether the look found something to deploy: a candidate not yet tried (or a retry was asked for). */
export function shouldDeploy(state: StageState, look: BranchLook): string | undefined {
  if (!look.candidate) return undefined;
  if (look.candidate !== state.last?.commit) return look.candidate;
  return state.retryRequested ? look.candidate : undefined;
}

/**
 * A follower without a record of its own (its first run, or one started again after it was
 * terminated) takes what the staging ledger last recorded as tried: it does not deploy again the
 * commit staging already runs.
 */
export function seedFromLedger(state: StageState, newest: { commit: string; outcome: string; at: number } | null): StageState {
  if (state.last || !newest) return state;
  const outcome = newest.outcome === 'verified' ? 'verified' : 'failed';
  return { ...state, last: { commit: newest.commit, at: newest.at, outcome, summary: `staging's ledger records ${newest.commit.slice(0, 12)} (${newest.outcome})` } };
}

export function recordDeployment(state: StageState, deployment: StageDeployment): StageState {
  return { ...state, last: deployment, history: [deployment, ...state.history].slice(0, HISTORY_LIMIT), retryRequested: false };
}

/** How long to wait before the next look: sooner while the branch head's CI is still running. */
export function nextLookMs(policy: StagePolicy, look: BranchLook | undefined): number {
  const poll = policy.pollMinutes * 60_000;
  if (look && look.head !== look.candidate && look.headState === 'pending') return Math.min(poll, policy.pendingPollSeconds * 1000);
  return poll;
}

/** What a person reads on `trainyard stage <service>` and the follower's query. */
export interface StageStatus {
  service: string;
  branch: string | null;
  waitsFor: string;
  /** The commit staging got from the follower last, and how it went. */
  last: StageDeployment | null;
  history: StageDeployment[];
  lastLook: (BranchLook & { at: number }) | null;
  lastPush: StageState['lastPush'] | null;
  pushesHeard: number;
  lastError: string | null;
}

export function stageStatusOf(state: StageState, policy: StagePolicy | null): StageStatus {
  return {
    service: state.service,
    branch: policy?.branch ?? null,
    waitsFor: state.waitsFor,
    last: state.last ?? null,
    history: state.history,
    lastLook: state.lastLook ?? null,
    lastPush: state.lastPush ?? null,
    pushesHeard: state.pushesHeard,
    lastError: state.lastError ?? null,
  };
}
