/**
 * Preview environments per pull request, as pure decisions: the preview's name and workflow id,
 * what a webhook event means for it, and what the workflow does next (create, redeploy after a
 * quiet period, destroy on close or idle TTL, or wait and for how long). The workflow only wires
 * these to signals, timers and activities; this file is tested without Temporal.
 */
// ── names ───────────────────────────────────────────────────────────────────────────────────

export function previewWorkflowId(service: string, pr: number): string {
  return `preview/${service}/${pr}`;
}

/**
 * `<service>-pr-<n>`, usable as a DNS label, a database name and a directory: lowercase letters,
 * digits and dashes, at most 63 characters (the PR number is always kept).
 */
export function previewName(service: string, pr: number): string {
  const suffix = `-pr-${pr}`;
  const base = service.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'preview';
  return `${base.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`;
}

// ── events and state ────────────────────────────────────────────────────────────────────────

export type PreviewEventKind = 'opened' | 'pushed' | 'closed' | 'merged';

/** A pull/merge request event, as the webhook receiver hands it to the workflow (a signal). */
export interface PreviewEvent {
  service: string;
  pr: number;
  kind: PreviewEventKind;
  /** Head commit of the pull request. */
  sha: string;
  /** The forge's delivery id, for logs. */
  deliveryId?: string;
  by?: string;
}

/** What a preview workflow is started with (plain JSON; driver settings stay in the worker's config). */
export interface PreviewStart {
  service: string;
  pr: number;
  quietSeconds: number;
  ttlHours: number;
  /** Continue-as-new after this many deploys (default 50): a PR pushed to for months stays small. */
  deploysPerRun?: number;
  /** Carried over by continue-as-new. */
  state?: PreviewState;
}

export type PreviewPhase = 'pending' | 'creating' | 'ready' | 'updating' | 'failed' | 'destroying' | 'destroyed';

export interface PreviewState {
  service: string;
  pr: number;
  name: string;
  phase: PreviewPhase;
  url?: string;
  /** The sha the preview runs (undefined until created). */
  deployedSha?: string;
  /** The newest head sha heard of. */
  wantedSha?: string;
  /** The sha whose deploy failed: not retried until a new push. */
  failedSha?: string;
  lastError?: string;
  /** Workflow time (ms) of the last push / of the last event of any kind. */
  lastPushAt: number;
  lastActivityAt: number;
  /** Why it ends, once it does. */
  ending?: 'closed' | 'merged' | 'idle';
  deploys: number;
  /** What the workflow waits for now, for humans. */
  waitsFor: string;
}

export function initialPreviewState(service: string, pr: number, now: number): PreviewState {
  return { service, pr, name: previewName(service, pr), phase: 'pending', lastPushAt: now, lastActivityAt: now, deploys: 0, waitsFor: 'the first event' };
}

/** Folds one event into the state (a signal handler: synchronous, no side effects). */
export function applyPreviewEvent(state: PreviewState, event: PreviewEvent, now: number): PreviewState {
  if (state.ending) return state; // closing is final for this run; a reopen starts a new one
  const next: PreviewState = { ...state, lastActivityAt: now };
  if (event.kind === 'closed' || event.kind === 'merged') return { ...next, ending: event.kind };
  if (event.sha && event.sha !== state.wantedSha) {
    next.wantedSha = event.sha;
    next.lastPushAt = now;
  }
  return next;
}

export type PreviewAction =
  | { kind: 'create'; sha: string }
  | { kind: 'update'; sha: string }
  | { kind: 'destroy'; reason: 'closed' | 'merged' | 'idle' }
  | { kind: 'wait'; ms: number; waitsFor: string };

export interface PreviewTiming {
  quietMs: number;
  ttlMs: number;
}

export function previewTiming(start: Pick<PreviewStart, 'quietSeconds' | 'ttlHours'>): PreviewTiming {
  return { quietMs: start.quietSeconds * 1000, ttlMs: start.ttlHours * 3_600_000 };
}

/**
 * The next step. Creation is immediate (the author wants the URL); later pushes are coalesced: the
 * newest sha is deployed once nothing was pushed for the quiet period. A failed sha is not retried
 * until a new push. Every wait is at least 1 ms (a zero timer is never scheduled).
 */
export function decidePreview(state: PreviewState, now: number, timing: PreviewTiming): PreviewAction {
  if (state.ending) return { kind: 'destroy', reason: state.ending };
  const idleLeft = state.lastActivityAt + timing.ttlMs - now;
  if (idleLeft <= 0) return { kind: 'destroy', reason: 'idle' };
  const wanted = state.wantedSha;
  const idle = `a push or the close of PR #${state.pr} (idle TTL in ${formatMs(idleLeft)})`;
  if (!wanted || wanted === state.deployedSha || wanted === state.failedSha) return { kind: 'wait', ms: Math.max(1, idleLeft), waitsFor: idle };
  if (state.phase === 'pending') return { kind: 'create', sha: wanted };
  const quietLeft = state.lastPushAt + timing.quietMs - now;
  if (quietLeft > 0) {
    return { kind: 'wait', ms: Math.max(1, Math.min(quietLeft, idleLeft)), waitsFor: `${formatMs(quietLeft)} without pushes before deploying ${wanted.slice(0, 12)}` };
  }
  return state.deployedSha ? { kind: 'update', sha: wanted } : { kind: 'create', sha: wanted };
}

function formatMs(ms: number): string {
  if (ms < 60_000) return `${Math.ceil(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}

/** The PR comment once the preview is up (and after a redeploy when asked to). */
export function previewComment(state: Pick<PreviewState, 'name' | 'url' | 'deployedSha'>): string {
  return `Preview environment \`${state.name}\` is ready: ${state.url ?? '(no URL)'} (commit ${state.deployedSha?.slice(0, 12) ?? '?'}). It is redeployed on each push and destroyed when this pull request is closed or merged.`;
}
