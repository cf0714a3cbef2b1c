/**
 * The version bump's decisions (the seed's `UpdateGitaly`): what the bump merge request says, what
 * to do when its pipeline fails, when it is stale, and who may tell the workflow a failure is
 * resolved. Pure and deterministic: the workflow and the activities both use it.
 */

/** One bump process: a component's green commit written into a consumer's version file. */
export interface BumpPlan {
  component: string;
  consumer: string;
  /** Path of the version file in the consumer, e.g. GITALY_SERVER_VERSION. */
  versionFile: string;
  /** The bump request's source branch (a recreated request gets `-2`, `-3`, ...). */
  branch: string;
  title: string;
  /** Labels the bump request always carries. */
  labels: string[];
  blockedLabel: string;
  staleLabel: string;
  /** How many commits back the latest green commit of the component is looked for. */
  lookback: number;
  /** Most commits listed in the request's body. */
  commitLimit: number;
  /** `{from}` and `{to}` are replaced by commit shas. */
  compareUrl?: string;
  /** Minutes between looks at the request's pipeline. */
  pollMinutes: number;
  /** Minutes between looks at a red consumer default branch. */
  masterPollMinutes: number;
  /** Minutes between looks for a newer green commit of the component while a request is open. */
  greenCheckMinutes: number;
  staleHours: number;
  /** Who may send `resolved`; absent: anyone. */
  operators?: string[];
}

/** What a continued run carries over (plain JSON). */
export interface BumpInput {
  plan: BumpPlan;
  startedBy: string;
  /** Continue-as-new after this many history events (tests lower it). */
  maxHistoryEvents?: number;
  carried?: BumpStatus;
}

export type BumpStage =
  | 'checking'
  | 'opening'
  | 'awaiting-pipeline'
  | 'retrying-pipeline'
  | 'merging'
  | 'awaiting-master'
  | 'recreating'
  | 'blocked'
  | 'up-to-date'
  | 'merged'
  | 'no-green-commit';

const FINAL: BumpStage[] = ['up-to-date', 'merged', 'no-green-commit'];
const WAITING: BumpStage[] = ['awaiting-pipeline', 'merging', 'awaiting-master', 'blocked'];

export function isFinalBumpStage(stage: BumpStage): boolean {
  return FINAL.includes(stage);
}

/** The TrainyardStatus search attribute: running, waiting, or the final stage. */
export function bumpStatusOf(stage: BumpStage): string {
  if (FINAL.includes(stage)) return stage;
  return WAITING.includes(stage) ? 'waiting' : 'running';
}

export type BumpEvent = 'opened' | 'updated' | 'retried' | 'merged' | 'master-broken' | 'recreated' | 'blocked' | 'stale' | 'resolved' | 'manual-version' | 'up-to-date' | 'no-green-commit';

export interface BumpAttempt {
  at: number;
  event: BumpEvent;
  note: string;
}

export interface BumpRequestView {
  number: number;
  url: string;
  branch: string;
  /** ISO 8601, from the forge. */
  createdAt: string;
  /** The version Trainyard wrote into the file. */
  wrote: string;
}

export interface PipelineView {
  id: string;
  url: string;
  status: string;
  failedJobs?: { name: string; url: string }[];
}

export interface BumpStatus {
  bumpId: string;
  component: string;
  consumer: string;
  stage: BumpStage;
  /** The component's latest green commit, the version the bump brings. */
  target?: string;
  /** The version on the consumer's default branch when last read. */
  current?: string;
  mr?: BumpRequestView;
  pipeline?: PipelineView;
  /** A version a person wrote into the request's file: never overwritten. */
  manualVersion?: string;
  waitingFor?: string;
  /** The recreation count: the request's branch is `branch` then `branch-2`, ... */
  generation: number;
  /** The request head whose pipeline was retried once already (a new head gets its own retry). */
  retriedHead?: string;
  /** The request head that failed for a regression: a person is waiting on it. */
  blockedHead?: string;
  /** The request number the stale label was given to (once per request). */
  staleNotified?: number;
  attempts: BumpAttempt[];
  resolutions: { by: string; reason: string; at: number }[];
}

export const MAX_ATTEMPTS_KEPT = 50;

export function bumpId(component: string, consumer: string): string {
  return `bump/${component}/${consumer}`;
}

export function initialBumpStatus(plan: BumpPlan): BumpStatus {
  return { bumpId: bumpId(plan.component, plan.consumer), component: plan.component, consumer: plan.consumer, stage: 'checking', generation: 0, attempts: [], resolutions: [] };
}

/** Appends to the history, keeping the newest MAX_ATTEMPTS_KEPT (it travels through continue-as-new). */
export function recordAttempt(status: BumpStatus, attempt: BumpAttempt): void {
  status.attempts.push(attempt);
  if (status.attempts.length > MAX_ATTEMPTS_KEPT) status.attempts.splice(0, status.attempts.length - MAX_ATTEMPTS_KEPT);
}

/** The request's branch in a generation: the first has the configured name. */
export function branchOf(plan: Pick<BumpPlan, 'branch'>, generation: number): string {
  return generation === 0 ? plan.branch : `${plan.branch}-${generation + 1}`;
}

/** The version a file holds: its first line, trimmed. */
export function versionIn(content: string | undefined): string | undefined {
  const line = content?.split('\n')[0]?.trim();
  return line ? line : undefined;
}

export function versionFileContent(version: string): string {
  return `${version}\n`;
}

/** The marker in the body that says which version Trainyard wrote (a later run reads it back). */
const MARKER = /<!-- trainyard-bump: ([0-9a-zA-Z._-]{1,80}) -->/;

export function writtenVersionOf(body: string): string | undefined {
  return MARKER.exec(body)?.[1];
}

export interface BodyInput {
  component: string;
  from?: string;
  to: string;
  compareUrl?: string;
  commits: { sha: string; subject: string; author: string }[];
  truncated: boolean;
}

export function compareLink(template: string | undefined, from: string | undefined, to: string): string | undefined {
  if (!template || !from) return undefined;
  return template.replaceAll('{from}', from).replaceAll('{to}', to);
}

/** The request's Markdown body: what changes, the compare link, the commits it brings. */
export function bumpBody(b: BodyInput): string {
  const link = compareLink(b.compareUrl, b.from, b.to);
  const lines = [
    `Updates ${b.component} ${b.from ? `from \`${b.from.slice(0, 12)}\` ` : ''}to \`${b.to}\`, its latest green commit.`,
    '',
    ...(link ? [`Compare: ${link}`, ''] : []),
    `### Commits (${b.commits.length}${b.truncated ? '+, list truncated' : ''})`,
    '',
    ...b.commits.map((c) => `- ${c.sha.slice(0, 12)} ${c.subject.replaceAll('\n', ' ')} (${c.author})`),
    '',
    `_Opened by Trainyard; a version you write into the file by hand is kept._`,
    `<!-- trainyard-bump: ${b.to} -->`,
  ];
  return lines.join('\n');
}

/** What a failed pipeline calls for, the seed's three causes in order. */
export type FailureAction = 'retry' | 'await-master' | 'blocked';

export function failureAction(f: { retried: boolean; masterState: string }): FailureAction {
  if (!f.retried) return 'retry';
  return f.masterState === 'failure' ? 'await-master' : 'blocked';
}

export function isStale(createdAt: string, now: number, staleHours: number): boolean {
  const opened = Date.parse(createdAt);
  return Number.isFinite(opened) && now - opened >= staleHours * 3_600_000;
}

/** How long to sleep: until the earliest of the next poll, the next green check and the stale deadline. */
export function nextWakeMs(w: { now: number; pollMs: number; nextGreenCheckAt: number; staleAt?: number }): number {
  const candidates = [w.now + w.pollMs, w.nextGreenCheckAt, ...(w.staleAt !== undefined && w.staleAt > w.now ? [w.staleAt] : [])];
  // At least a second: a zero timer is not replay-safe.
  return Math.max(1_000, Math.min(...candidates) - w.now);
}

const MAX_NAME = 100;
const MAX_REASON = 1_000;

/** The `resolved` update's validator: why the request is refused, or undefined. */
export function resolvedProblem(status: BumpStatus, operators: string[] | undefined, req: unknown): string | undefined {
  if (!req || typeof req !== 'object' || Array.isArray(req)) return 'expected {"by": "<person>", "reason": "<what was done>"}';
  const r = req as Record<string, unknown>;
  const extra = Object.keys(r).find((k) => k !== 'by' && k !== 'reason');
  if (extra) return `unknown field "${extra.slice(0, 40)}"; resolved takes by, reason`;
  if (typeof r.by !== 'string' || r.by.trim() === '' || r.by.length > MAX_NAME) return `"by" must be a name of 1 to ${MAX_NAME} characters`;
  if (typeof r.reason !== 'string' || r.reason.trim() === '' || r.reason.length > MAX_REASON) return `a reason of 1 to ${MAX_REASON} characters is required: say what was done (a revert, a fix)`;
  if (operators && !operators.includes(r.by)) return `"${r.by}" may not resolve bumps of ${status.component} into ${status.consumer}; ask an admin to add them to the bump's operators`;
  if (isFinalBumpStage(status.stage)) return `${status.bumpId} has ended (${status.stage}); the next scheduled run starts a new one`;
  if (status.stage !== 'blocked' && status.stage !== 'awaiting-master') return `${status.bumpId} is not waiting for a person (stage: ${status.stage})`;
  return undefined;
}
