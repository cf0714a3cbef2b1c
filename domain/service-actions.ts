/**
 * Operator actions on a service as a whole: cutting a train (`start`, `tag`, `hotfix`), opening
 * revert pull requests, pausing or triggering the cut schedule. They go through the service's
 * production ledger (`env/<service>/production`), the one per-service workflow that exists from the
 * first action and knows the service's operators: its validators (these functions) refuse a bad or
 * unauthorised request before anything is written, and its history records who, why and what.
 *
 * Pure code: the ledger (workflows/ledger-actions.ts) wires updates to these.
 */
import { SCHEDULE } from './ids.js';
import { describeFreeze, freezeView, ledgerRightsProblem, type LedgerState } from './ledger.js';
import { refNameProblem } from './tags.js';
import { requestProblem } from './train.js';

/** The `cut` update: a train now (`start`), a re-tag superseding a train (`tag`), or a hotfix. */
export interface CutCommand {
  by: string;
  reason: string;
  /** Commit or branch to tag; the default branch head when absent. */
  ref?: string;
  /** An explicit tag; otherwise the next free one. */
  tag?: string;
  /** A re-tag: the train it replaces (refused by that train once it reached production). */
  supersedes?: { trainId: string; tag: string };
  /** A hotfix from the production tag with these commits cherry-picked; freezes production for others. */
  hotfix?: { fromTag: string; picks: string[] };
}

/** The cut workflow the ledger started; its result names the train. */
export interface CutStarted {
  workflowId: string;
  runId: string;
}

export interface RevertCommand {
  by: string;
  reason: string;
  /** Merged pull (merge) requests to revert, one revert request each. */
  prs: number[];
}

export interface RevertOutcome {
  pr: number;
  revert?: { number: number; url: string };
  error?: string;
}

/**
 * The `changelog` update: regenerate the release notes of a train that has ended (a running train
 * takes its own `regenerateChangelog`), from `previousTag` or from where production was before it.
 */
export interface ChangelogCommand {
  by: string;
  reason: string;
  /** The train's tag. */
  tag: string;
  previousTag?: string;
}

export const CUT_SCHEDULE_ACTIONS = ['pause', 'unpause', 'trigger'] as const;
export type CutScheduleAction = (typeof CUT_SCHEDULE_ACTIONS)[number];

export interface CutScheduleCommand {
  by: string;
  reason: string;
  action: CutScheduleAction;
}

export interface CutScheduleOutcome {
  /** False when there was nothing to do (already paused, not paused); `message` says why. */
  done: boolean;
  message: string;
}

export const MAX_REVERTS = 20;
const MAX_PICKS = 50;

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Service actions go to the production ledger only: one place per service records them. */
function productionOnly(state: LedgerState): string | undefined {
  if (state.environment === 'production') return undefined;
  return `cuts, reverts, changelogs and the cut schedule of ${state.service} go through its production ledger (env/${state.service}/production), not the ${state.environment} one`;
}

/** An object with exactly these string fields (all required). */
function stringsProblem(value: unknown, what: string, keys: string[]): string | undefined {
  if (!isObject(value)) return `"${what}" must be an object with ${keys.join(' and ')}`;
  for (const key of Object.keys(value)) if (!keys.includes(key)) return `unknown field "${what}.${key.slice(0, 40)}"; "${what}" takes ${keys.join(', ')}`;
  for (const key of keys) if (typeof value[key] !== 'string') return `"${what}.${key}" must be a string`;
  return undefined;
}

function refProblem(what: string, value: string): string | undefined {
  const problem = refNameProblem(value);
  return problem && `${what} "${value.slice(0, 80)}" ${problem}`;
}

function hotfixProblem(hotfix: unknown): string | undefined {
  if (!isObject(hotfix)) return '"hotfix" must be an object with fromTag and picks';
  for (const key of Object.keys(hotfix)) if (key !== 'fromTag' && key !== 'picks') return `unknown field "hotfix.${key.slice(0, 40)}"; "hotfix" takes fromTag, picks`;
  if (typeof hotfix.fromTag !== 'string') return '"hotfix.fromTag" must be the tag running in production';
  const picks = hotfix.picks;
  if (!Array.isArray(picks) || picks.length === 0 || picks.length > MAX_PICKS) return `"hotfix.picks" must list the commits to cherry-pick (1 to ${MAX_PICKS})`;
  if (!picks.every((p) => typeof p === 'string')) return '"hotfix.picks" must be commits (strings)';
  return refProblem('hotfix tag', hotfix.fromTag) ?? (picks as string[]).map((p) => refProblem('commit', p)).find((p) => p !== undefined);
}

/** The `cut` update's validator. */
export function cutProblem(state: LedgerState, req: unknown): string | undefined {
  if (!isObject(req)) return requestProblem(req);
  const { supersedes, hotfix, ...rest } = req;
  const bad = requestProblem(rest, { ref: 'string', tag: 'string' });
  if (bad) return bad;
  const { by, ref, tag } = rest as { by: string; ref?: string; tag?: string };
  if (ref !== undefined) {
    const problem = refProblem('ref', ref);
    if (problem) return problem;
  }
  if (tag !== undefined) {
    const problem = refProblem('tag', tag);
    if (problem) return problem;
  }
  if (supersedes !== undefined) {
    const problem = stringsProblem(supersedes, 'supersedes', ['trainId', 'tag']);
    if (problem) return problem;
    const s = supersedes as { trainId: string; tag: string };
    if (!s.trainId.startsWith(`train/${state.service}/`)) return `"supersedes.trainId" must be a train of ${state.service} (train/${state.service}/<tag>)`;
    const tagProblem = refProblem('superseded tag', s.tag);
    if (tagProblem) return tagProblem;
  }
  if (hotfix !== undefined) {
    const problem = hotfixProblem(hotfix);
    if (problem) return problem;
    if (ref !== undefined || tag !== undefined || supersedes !== undefined) return 'a hotfix takes only fromTag and picks: its commit and tag follow from them (not ref, tag or supersedes)';
  }
  if (by === SCHEDULE) return `"${SCHEDULE}" names the cut schedule; send the cut as yourself (scheduled cuts start by themselves)`;
  return productionOnly(state) ?? ledgerRightsProblem(state, by, hotfix !== undefined ? 'hotfix' : 'start');
}

/** The `revert` update's validator. */
export function revertProblem(state: LedgerState, req: unknown): string | undefined {
  if (!isObject(req)) return requestProblem(req);
  const { prs, ...rest } = req;
  const bad = requestProblem(rest);
  if (bad) return bad;
  if (!Array.isArray(prs) || prs.length === 0 || prs.length > MAX_REVERTS) return `"prs" must list the pull requests to revert (1 to ${MAX_REVERTS} numbers), e.g. "prs": [123]`;
  if (!prs.every((n) => Number.isInteger(n) && n > 0 && n < 2 ** 31)) return '"prs" must be pull request numbers (whole numbers from 1)';
  if (new Set(prs).size !== prs.length) return 'a pull request is listed twice in "prs"';
  return productionOnly(state) ?? ledgerRightsProblem(state, (rest as { by: string }).by, 'revert');
}

/** The `changelog` update's validator: the right a running train asks for its own (`promote`). */
export function changelogProblem(state: LedgerState, req: unknown): string | undefined {
  const bad = requestProblem(req, { tag: 'string', previousTag: 'string' });
  if (bad) return bad;
  const { by, tag, previousTag } = req as { by: string; tag?: string; previousTag?: string };
  if (typeof tag !== 'string') return '"tag" (the release whose notes to regenerate) is required';
  const problem = refProblem('tag', tag) ?? (previousTag !== undefined ? refProblem('previous tag', previousTag) : undefined);
  if (problem) return problem;
  return productionOnly(state) ?? ledgerRightsProblem(state, by, 'promote');
}

/** The `cutSchedule` update's validator: pausing is a freeze of releases, triggering is a cut. */
export function cutScheduleProblem(state: LedgerState, req: unknown, now: number): string | undefined {
  const bad = requestProblem(req, { action: 'string' });
  if (bad) return bad;
  const { by, action } = req as { by: string; action?: string };
  if (!CUT_SCHEDULE_ACTIONS.includes(action as CutScheduleAction)) return `"action" must be one of ${CUT_SCHEDULE_ACTIONS.join(', ')}`;
  const denied = productionOnly(state) ?? ledgerRightsProblem(state, by, action === 'trigger' ? 'start' : 'freeze');
  if (denied) return denied;
  const view = freezeView(state, now);
  if (action === 'unpause' && view.frozen) {
    return `production of ${state.service} is ${describeFreeze(view)}, and its cut schedule stays paused while it is; end the freeze instead: trainyard unfreeze ${state.service} --reason "…"`;
  }
  return undefined;
}

/** The notification of a revert: what was opened, what failed, and why it was asked for. */
export function describeReverts(req: Pick<RevertCommand, 'by' | 'reason'>, results: RevertOutcome[]): string {
  const opened = results.flatMap((r) => (r.revert ? [`#${r.pr} (as #${r.revert.number})`] : []));
  const failed = results.flatMap((r) => (r.error !== undefined ? [`#${r.pr} failed: ${r.error}`] : []));
  const head = opened.length > 0 ? `${req.by} opened reverts of ${opened.join(', ')}` : `${req.by} asked for reverts`;
  return `${[head, ...failed].join('; ')}: ${req.reason}`;
}
