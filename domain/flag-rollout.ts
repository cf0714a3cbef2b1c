/**
 * A feature flag's rollout as plain JSON and pure functions: statuses Ready-for-testing → Opt-in →
 * Opt-out → Mandatory, acceptance testing environment by environment and the gates between them.
 * The operator requests are in domain/flag-requests.ts, the edits of flag files in
 * domain/flag-files.ts. The `flagRollout` workflow wires messages and activities to these.
 *
 * Which environments have the flag on is *derived* from the state (`desiredFlags`), and the workflow
 * makes the drivers agree: a soak breach, a stage rollback and an abort all disable the flag the same way.
 */
import { DateTime } from 'luxon';
import type { FlagConfig } from './flag-config.js';

export const FLAG_STATUSES = ['ready-for-testing', 'opt-in', 'opt-out', 'mandatory'] as const;
export type FlagStatus = (typeof FLAG_STATUSES)[number];

export function flagWorkflowId(flag: string): string {
  return `flag/${flag}`;
}

export interface FlagLinks {
  dashboard?: string;
  alerts?: string;
  runbook?: string;
}
export const LINK_KINDS = ['dashboard', 'alerts', 'runbook'] as const;

/** What the workflow needs from the config (no driver settings, no secrets). */
export interface FlagPlan {
  flag: string;
  maintainers: string[];
  operators: string[];
  environments: { name: string; threshold: number; soakMinutes: number }[];
  /** Epoch ms of the release boundaries (start of the local date). */
  optOutAt?: number;
  mandatoryAt?: number;
  links: FlagLinks;
}

export type TestResult = 'pending' | 'soaking' | 'passed' | 'failed';

export interface EnvironmentRecord {
  name: string;
  threshold: number;
  soakMinutes: number;
  result: TestResult;
  /** The flag as the driver last set it here. */
  enabled: boolean;
  /** Error rate before the flag was enabled, and the one that decided the soak (breach or last sample). */
  before?: number;
  after?: number;
  max?: number;
  samples?: number;
  by?: string;
  at?: number;
  note?: string;
  tests: number;
}

export interface FlagAction {
  kind: 'start' | 'approve' | 'advance' | 'pause' | 'resume' | 'rollbackStage' | 'abort';
  by: string;
  reason: string;
  at: number;
}

export interface Transition {
  from: FlagStatus;
  to: FlagStatus;
  by: string;
  reason: string;
  at: number;
}

export interface FlagState {
  flag: string;
  status: FlagStatus;
  startedBy: string;
  startedAt: number;
  environments: EnvironmentRecord[];
  links: FlagLinks;
  approval?: { by: string; reason: string; at: number };
  optOutAt?: number;
  mandatoryAt?: number;
  paused?: { by: string; reason: string; at: number };
  /** Automatic progress is held until an `advance` (after a soak breach or a stage rollback). */
  held?: string;
  /** A driver failed after its retries; waits for `advance` (retry) or `abort`. */
  blocked?: { environment: string; error: string };
  transitions: Transition[];
  actions: FlagAction[];
  cleanup?: { url: string; number: number };
  ended?: 'done' | 'aborted';
  waitingFor?: string;
  /** Continue-as-new generations so far. */
  runs: number;
}

/** The start of a local date in `timeZone`, as epoch ms. */
export function boundaryAt(date: string, timeZone: string): number {
  const at = DateTime.fromISO(date, { zone: timeZone }).startOf('day');
  if (!at.isValid) throw new Error(`"${date}" is not a date (YYYY-MM-DD)`);
  return at.toMillis();
}

export function flagPlanOf(flag: string, config: FlagConfig): FlagPlan {
  const plan: FlagPlan = {
    flag,
    maintainers: config.maintainers,
    operators: config.operators,
    environments: config.environments.map((e) => ({ name: e.name, threshold: e.health.threshold, soakMinutes: e.health.soakMinutes })),
    links: { ...config.links },
  };
  if (config.optOutAfter) plan.optOutAt = boundaryAt(config.optOutAfter, config.timeZone);
  if (config.mandatoryAfter) plan.mandatoryAt = boundaryAt(config.mandatoryAfter, config.timeZone);
  return plan;
}

export function initialFlagState(plan: FlagPlan, startedBy: string, now: number): FlagState {
  const state: FlagState = {
    flag: plan.flag,
    status: 'ready-for-testing',
    startedBy,
    startedAt: now,
    environments: plan.environments.map((e) => ({ ...e, result: 'pending', enabled: false, tests: 0 })),
    links: { ...plan.links },
    transitions: [],
    actions: [{ kind: 'start', by: startedBy, reason: 'rollout started', at: now }],
    runs: 0,
  };
  if (plan.optOutAt !== undefined) state.optOutAt = plan.optOutAt;
  if (plan.mandatoryAt !== undefined) state.mandatoryAt = plan.mandatoryAt;
  return state;
}

/** Where the flag should be on: the environment under test while testing, everywhere from Opt-in on, nowhere once aborted. */
export function desiredFlags(state: FlagState): { environment: string; enabled: boolean }[] {
  return state.environments.map((e) => ({
    environment: e.name,
    enabled: state.ended === 'aborted' ? false : state.status === 'ready-for-testing' ? e.result === 'soaking' : true,
  }));
}

/** The driver calls that make the environments agree with `desiredFlags`, in config order. */
export function flagChanges(state: FlagState): { environment: string; enabled: boolean }[] {
  return desiredFlags(state).filter((d) => state.environments.find((e) => e.name === d.environment)?.enabled !== d.enabled);
}

export type Step =
  | { kind: 'baseline'; environment: string }
  | { kind: 'soak'; environment: string; soakMinutes: number; threshold: number }
  | { kind: 'cleanup' }
  | { kind: 'wait'; why: string; until?: number }
  | { kind: 'end' };

export function missingLinks(links: FlagLinks): string[] {
  return LINK_KINDS.filter((k) => !links[k]);
}

/** What the workflow does next; `applyBoundaries` has already moved past any date that was reached. */
export function nextStep(state: FlagState): Step {
  if (state.ended) return { kind: 'end' };
  if (state.blocked) return { kind: 'wait', why: `advance (retry) or abort: setting the flag in ${state.blocked.environment} failed: ${state.blocked.error}` };
  if (state.paused) return { kind: 'wait', why: `resume (paused by ${state.paused.by}: ${state.paused.reason})` };
  if (state.held) return { kind: 'wait', why: `advance or abort (${state.held})` };
  switch (state.status) {
    case 'ready-for-testing': {
      const env = state.environments.find((e) => e.result !== 'passed');
      if (!env) {
        const missing = missingLinks(state.links);
        const links = missing.length ? `; approve must record the ${missing.join(', ')} link${missing.length > 1 ? 's' : ''}` : '';
        return { kind: 'wait', why: `a maintainer's approve for Opt-in${links}` };
      }
      if (env.result === 'soaking') return { kind: 'soak', environment: env.name, soakMinutes: env.soakMinutes, threshold: env.threshold };
      return { kind: 'baseline', environment: env.name };
    }
    case 'opt-in':
      return boundaryWait('Opt-out', state.optOutAt);
    case 'opt-out':
      return boundaryWait('Mandatory', state.mandatoryAt);
    case 'mandatory':
      return state.cleanup ? { kind: 'end' } : { kind: 'cleanup' };
  }
}

function boundaryWait(next: string, at: number | undefined): Step {
  if (at === undefined) return { kind: 'wait', why: `advance to ${next} (no release boundary configured)` };
  return { kind: 'wait', why: `${next} at ${new Date(at).toISOString()}, or advance`, until: at };
}

/** Moves the rollout to `to`, recording who and why. */
export function moveTo(state: FlagState, to: FlagStatus, by: string, reason: string, now: number): void {
  state.transitions.push({ from: state.status, to, by, reason, at: now });
  state.status = to;
}

/** A release boundary reached moves the flag on by itself, unless paused or held. Returns whether it moved. */
export function applyBoundaries(state: FlagState, now: number): boolean {
  if (state.ended || state.paused || state.held || state.blocked) return false;
  if (state.status === 'opt-in' && state.optOutAt !== undefined && now >= state.optOutAt) {
    moveTo(state, 'opt-out', 'schedule', `release boundary ${new Date(state.optOutAt).toISOString()}`, now);
    return true;
  }
  if (state.status === 'opt-out' && state.mandatoryAt !== undefined && now >= state.mandatoryAt) {
    moveTo(state, 'mandatory', 'schedule', `release boundary ${new Date(state.mandatoryAt).toISOString()}`, now);
    return true;
  }
  return false;
}

/** The flag is on in `environment` and soaking; `before` is the error rate measured just before. */
export function startSoak(state: FlagState, environment: string, before: number | undefined, by: string, now: number): void {
  const env = mustFind(state, environment);
  env.result = 'soaking';
  env.tests += 1;
  env.by = by;
  env.at = now;
  delete env.after;
  delete env.max;
  delete env.note;
  if (before === undefined) delete env.before;
  else env.before = before;
}

export interface SoakReading {
  /** Error-rate samples in order; a sample the query could not produce is absent. */
  samples: number[];
  /** Samples that failed (HTTP error, no data). */
  failures: number;
  lastError?: string;
}

export interface SoakVerdict {
  passed: boolean;
  after?: number;
  max?: number;
  why: string;
}

/** A soak passes when it produced samples and none exceeded the threshold. */
export function evaluateSoak(reading: SoakReading, threshold: number): SoakVerdict {
  const { samples } = reading;
  if (samples.length === 0) return { passed: false, why: `the health query produced no sample (${reading.failures} failed${reading.lastError ? `: ${reading.lastError}` : ''})` };
  const max = Math.max(...samples);
  const breach = samples.find((s) => s > threshold);
  if (breach !== undefined) return { passed: false, after: breach, max, why: `error rate ${breach} exceeded the threshold ${threshold}` };
  const after = samples[samples.length - 1] as number;
  return { passed: true, after, max, why: `${samples.length} samples, highest ${max} (threshold ${threshold})` };
}

/** Records a soak's verdict; a failure holds the rollout until an operator advances (test again) or aborts. */
export function recordSoak(state: FlagState, environment: string, verdict: SoakVerdict, samples: number, now: number): void {
  const env = mustFind(state, environment);
  env.result = verdict.passed ? 'passed' : 'failed';
  env.at = now;
  env.samples = samples;
  env.note = verdict.why;
  if (verdict.after !== undefined) env.after = verdict.after;
  if (verdict.max !== undefined) env.max = verdict.max;
  if (!verdict.passed) state.held = `acceptance test in ${environment} failed: ${verdict.why}; the flag was rolled back`;
}

function mustFind(state: FlagState, environment: string): EnvironmentRecord {
  const env = state.environments.find((e) => e.name === environment);
  if (!env) throw new Error(`flag ${state.flag} has no environment ${environment}`);
  return env;
}
