/**
 * The operator requests of a feature flag's rollout (approve, advance, pause, resume, roll back a
 * stage, abort): each a validator (`…Problem`, run before anything reaches history) and its effect
 * on the plain-JSON state (`apply…`).
 */
import { LINK_KINDS, missingLinks, moveTo, type FlagAction, type FlagLinks, type FlagPlan, type FlagState, type FlagStatus } from './flag-rollout.js';
import { requestProblem } from './train.js';

export interface FlagRequest {
  by: string;
  reason: string;
}

export interface ApproveRequest extends FlagRequest, FlagLinks {}

const MAX_ACTIONS = 200;

function record(state: FlagState, kind: FlagAction['kind'], req: FlagRequest, now: number): void {
  state.actions.push({ kind, by: req.by, reason: req.reason, at: now });
  // Bounded: the state is carried across continue-as-new.
  if (state.actions.length > MAX_ACTIONS) state.actions.splice(0, state.actions.length - MAX_ACTIONS);
}

function operatorProblem(plan: FlagPlan, by: string): string | undefined {
  if (plan.maintainers.includes(by) || plan.operators.includes(by)) return undefined;
  return `"${by}" is neither a maintainer nor an operator of flag ${plan.flag}; ask a maintainer to add them in the config`;
}

function commonProblem(state: FlagState, plan: FlagPlan, req: unknown, optional: Parameters<typeof requestProblem>[1] = {}): string | undefined {
  const bad = requestProblem(req, optional);
  if (bad) return bad;
  if (state.ended) return `the rollout of ${state.flag} has ended (${state.ended})`;
  return operatorProblem(plan, (req as FlagRequest).by);
}

export function approveProblem(state: FlagState, plan: FlagPlan, req: ApproveRequest): string | undefined {
  const bad = commonProblem(state, plan, req, { dashboard: 'string', alerts: 'string', runbook: 'string' });
  if (bad) return bad;
  if (!plan.maintainers.includes(req.by)) return `"${req.by}" is not a maintainer of flag ${plan.flag} (maintainers: ${plan.maintainers.join(', ')}); only a maintainer approves Opt-in`;
  if (state.status !== 'ready-for-testing') return `flag ${state.flag} is already ${state.status}`;
  const untested = state.environments.filter((e) => e.result !== 'passed').map((e) => e.name);
  if (untested.length) return `acceptance testing has not passed in ${untested.join(', ')}; approve once every environment passed`;
  for (const kind of LINK_KINDS) {
    const link = req[kind];
    if (link !== undefined && !/^https?:\/\/\S+$/.test(link)) return `"${kind}" must be an http(s) URL`;
  }
  const missing = missingLinks({ ...state.links, ...pickLinks(req) });
  if (missing.length) return `the ${missing.join(', ')} link${missing.length > 1 ? 's are' : ' is'} not recorded; give ${missing.map((k) => `"${k}"`).join(', ')} (the dashboard row, the alert rules and the runbook section for this flag)`;
  return undefined;
}

function pickLinks(req: FlagLinks): FlagLinks {
  const links: FlagLinks = {};
  for (const kind of LINK_KINDS) if (req[kind] !== undefined) links[kind] = req[kind];
  return links;
}

export function applyApprove(state: FlagState, req: ApproveRequest, now: number): void {
  state.links = { ...state.links, ...pickLinks(req) };
  state.approval = { by: req.by, reason: req.reason, at: now };
  record(state, 'approve', req, now);
  moveTo(state, 'opt-in', req.by, req.reason, now);
}

export function advanceProblem(state: FlagState, plan: FlagPlan, req: FlagRequest): string | undefined {
  const bad = commonProblem(state, plan, req);
  if (bad) return bad;
  if (state.blocked || state.held) return undefined;
  if (state.paused) return `flag ${state.flag} is paused; resume it first`;
  if (state.status === 'ready-for-testing') return `flag ${state.flag} is in acceptance testing; Opt-in needs a maintainer's approve`;
  if (state.status === 'mandatory') return `flag ${state.flag} is already Mandatory`;
  return undefined;
}

/** Retries a blocked driver, releases a hold (failed tests run again), or moves to the next status now. */
export function applyAdvance(state: FlagState, req: FlagRequest, now: number): void {
  record(state, 'advance', req, now);
  if (state.blocked) {
    delete state.blocked;
    return;
  }
  if (state.held) {
    delete state.held;
    for (const env of state.environments) if (env.result === 'failed') env.result = 'pending';
    return;
  }
  moveTo(state, state.status === 'opt-in' ? 'opt-out' : 'mandatory', req.by, req.reason, now);
}

export function pauseProblem(state: FlagState, plan: FlagPlan, req: FlagRequest): string | undefined {
  const bad = commonProblem(state, plan, req);
  if (bad) return bad;
  if (state.paused) return `flag ${state.flag} is already paused by ${state.paused.by}: ${state.paused.reason}`;
  return undefined;
}

export function applyPause(state: FlagState, req: FlagRequest, now: number): void {
  state.paused = { by: req.by, reason: req.reason, at: now };
  record(state, 'pause', req, now);
}

export function resumeProblem(state: FlagState, plan: FlagPlan, req: FlagRequest): string | undefined {
  const bad = commonProblem(state, plan, req);
  if (bad) return bad;
  if (!state.paused) return `flag ${state.flag} is not paused`;
  return undefined;
}

export function applyResume(state: FlagState, req: FlagRequest, now: number): void {
  delete state.paused;
  record(state, 'resume', req, now);
}

export function rollbackStageProblem(state: FlagState, plan: FlagPlan, req: FlagRequest): string | undefined {
  const bad = commonProblem(state, plan, req);
  if (bad) return bad;
  if (state.status === 'ready-for-testing') return `flag ${state.flag} is in acceptance testing, the first status; abort to stop the rollout`;
  if (state.status === 'mandatory') return `flag ${state.flag} is Mandatory and its clean-up is under way; close the clean-up merge request instead`;
  return undefined;
}

/**
 * Goes back one status and holds there until an `advance`, so a date already passed does not move
 * the flag straight on again. Back to Ready-for-testing, the flag goes off everywhere and every
 * environment is tested again.
 */
export function applyRollbackStage(state: FlagState, req: FlagRequest, now: number): void {
  record(state, 'rollbackStage', req, now);
  const to: FlagStatus = state.status === 'opt-out' ? 'opt-in' : 'ready-for-testing';
  moveTo(state, to, req.by, req.reason, now);
  state.held = `rolled back to ${to} by ${req.by}: ${req.reason}`;
  if (to === 'ready-for-testing') {
    delete state.approval;
    for (const env of state.environments) env.result = 'pending';
  }
}

export function abortProblem(state: FlagState, plan: FlagPlan, req: FlagRequest): string | undefined {
  return commonProblem(state, plan, req);
}

export function applyAbort(state: FlagState, req: FlagRequest, now: number): void {
  record(state, 'abort', req, now);
  state.ended = 'aborted';
  for (const env of state.environments) if (env.result === 'soaking') env.result = 'pending';
}
