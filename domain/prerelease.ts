/**
 * Daily pre-releases with a QA gate (Mozilla Monitor's process): the config fragment, tag naming,
 * release notes, and the gate's state and rules, as plain JSON and pure functions. The workflow
 * (workflows/preRelease.ts) wires messages and activities to these.
 */
import type { Right } from './config.js';
import type { StepPolicy } from './steps.js';
import { formatTag, parseTag, refNameProblem } from './tags.js';
import { authorisationProblem, requestProblem, type OperatorRequest } from './train.js';

// ── config ────────────────────────────────────────────────────────────────────────────────────

export const DEFAULT_PRERELEASE_TAG_FORMAT = '{yyyy}.{MM}.{dd}';

/** Like tags.ts's check, but `{n}` is optional: a second pre-release of a day gets a `.2` suffix. */
export function preReleaseTagFormatProblem(format: string): string | undefined {
  const used = [...format.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] ?? '');
  const unknown = used.filter((t) => !['service', 'yyyy', 'MM', 'dd', 'n'].includes(t));
  if (unknown.length > 0) return `unknown token(s) ${unknown.map((t) => `{${t}}`).join(', ')}; known: {service} {yyyy} {MM} {dd} {n}`;
  for (const required of ['yyyy', 'MM', 'dd'] as const) {
    if (!used.includes(required)) return `must contain {${required}}: pre-releases are named by their date`;
  }
  const sample = preReleaseTag(format, 'service', '2024-09-01', ['2024.09.01', 'service/2024.09.01']);
  const problem = refNameProblem(sample);
  return problem ? `gives tags that are not valid git refs (e.g. "${sample}" ${problem})` : undefined;
}


/** What a pre-release workflow needs to decide (plain JSON, no driver settings). */
export interface PreReleasePolicy extends StepPolicy {
  service: string;
  tagFormat: string;
  approvalLabel: string;
  envVarLabel: string;
  sres: string[];
  recheckMinutes: number;
  expireHours: number;
  timeZone: string;
  operators?: { name: string; rights: Right[] }[];
  /** Where the operators are declared, for refusals (see authorisationProblem). */
  operatorsIn?: string;
  /** Whether production has a smoke (post-deploy sanity / error-rate) check. */
  smoke: boolean;
}

/** Workflow ids: a pre-release per tag; one cut per service at a time. */
export const preReleaseId = (service: string, tag: string) => `prerelease/${service}/${tag}`;
export const preReleaseCutId = (service: string) => `prerelease-cut/${service}`;

// ── tags ──────────────────────────────────────────────────────────────────────────────────────

/** Parses a pre-release tag; formats without `{n}` have n = 1 bare and `.<n>` suffixed (n ≥ 2). */
export function parsePreReleaseTag(format: string, service: string, tag: string): { date: string; n: number } | undefined {
  if (format.includes('{n}')) return parseTag(format, service, tag);
  const suffixed = parseTag(`${format}.{n}`, service, tag);
  if (suffixed) return suffixed.n >= 2 ? suffixed : undefined;
  // A bare tag is one that gets `.1` appended in the suffixed form (without ambiguity, unlike `{n}` glued on).
  const bare = parseTag(`${format}.{n}`, service, `${tag}.1`);
  return bare ? { date: bare.date, n: 1 } : undefined;
}

function formatPreReleaseTag(format: string, service: string, date: string, n: number): string {
  if (format.includes('{n}')) return formatTag(format, service, { date, n });
  const base = formatTag(format, service, { date, n: 1 });
  return n === 1 ? base : `${base}.${n}`;
}

/** The tag of a new pre-release on `date` (`YYYY-MM-DD`): `2024.09.01`, then `2024.09.01.2`. */
export function preReleaseTag(format: string, service: string, date: string, existing: readonly string[]): string {
  let highest = 0;
  for (const tag of existing) {
    const parts = parsePreReleaseTag(format, service, tag);
    if (parts?.date === date) highest = Math.max(highest, parts.n);
  }
  return formatPreReleaseTag(format, service, date, highest + 1);
}

/** The newest pre-release among `tags` (latest date, then highest number); others are ignored. */
export function newestPreReleaseTag(format: string, service: string, tags: readonly string[]): string | undefined {
  let newest: { tag: string; key: string } | undefined;
  for (const tag of tags) {
    const parts = parsePreReleaseTag(format, service, tag);
    if (!parts) continue;
    const key = `${parts.date}#${String(parts.n).padStart(6, '0')}`;
    if (!newest || key > newest.key) newest = { tag, key };
  }
  return newest?.tag;
}

/** The literal part of the format before the date: what to list tags by. */
export function preReleaseTagPrefix(format: string, service: string): string {
  return (format.split('{yyyy}')[0] ?? '').replace('{service}', service);
}

// ── the gate ──────────────────────────────────────────────────────────────────────────────────

export interface PullRequestView {
  number: number;
  title: string;
  url: string;
  author: string;
  labels: string[];
}

export interface Acknowledgement {
  by: string;
  reason: string;
  at: number;
}

/** One pull request of a pre-release, as the gate sees it. */
export interface GatePr extends PullRequestView {
  /** Carries the approval label (as last read). */
  approved: boolean;
  /** Carries the environment variable label (as last read). */
  needsEnvVar: boolean;
  waived?: Acknowledgement;
  envAcknowledged?: Acknowledgement;
}

const hasLabel = (labels: readonly string[], wanted: string) => labels.some((l) => l.toLowerCase() === wanted.toLowerCase());

/** What re-reading a pull request gives (the forge's change request has no author). */
export type PullRequestLabels = Omit<PullRequestView, 'author'>;

export function gatePr(pr: PullRequestLabels & { author?: string }, policy: Pick<PreReleasePolicy, 'approvalLabel' | 'envVarLabel'>, before?: GatePr): GatePr {
  const out: GatePr = { ...pr, author: pr.author ?? before?.author ?? '', approved: hasLabel(pr.labels, policy.approvalLabel), needsEnvVar: hasLabel(pr.labels, policy.envVarLabel) };
  if (before?.waived) out.waived = before.waived;
  if (before?.envAcknowledged) out.envAcknowledged = before.envAcknowledged;
  return out;
}

/** Fresh labels (and titles) of the pull requests; waivers and acknowledgements are kept. */
export function applyPullRequests(prs: GatePr[], fresh: readonly PullRequestLabels[], policy: Pick<PreReleasePolicy, 'approvalLabel' | 'envVarLabel'>): GatePr[] {
  return prs.map((pr) => {
    const now = fresh.find((f) => f.number === pr.number);
    return now ? gatePr(now, policy, pr) : pr;
  });
}

export function qaCleared(pr: GatePr): boolean {
  return pr.approved || pr.waived !== undefined;
}

export function envCleared(pr: GatePr): boolean {
  return !pr.needsEnvVar || pr.envAcknowledged !== undefined;
}

export function gateOpen(prs: readonly GatePr[]): boolean {
  return prs.every((pr) => qaCleared(pr) && envCleared(pr));
}

/** One line per pull request for the status and the UI. */
export function describePr(pr: GatePr): string {
  const qa = pr.approved ? 'approved' : pr.waived ? `waived by ${pr.waived.by} (${pr.waived.reason})` : 'awaiting QA';
  const env = !pr.needsEnvVar ? '' : pr.envAcknowledged ? `; env var acknowledged by ${pr.envAcknowledged.by}` : '; blocked on env var (needs an SRE)';
  return `#${pr.number} ${pr.title}: ${qa}${env}`;
}

/** What the gate waits for, in words; undefined when it is open. */
export function gateWaitingFor(prs: readonly GatePr[], policy: Pick<PreReleasePolicy, 'approvalLabel'>): string | undefined {
  const qa = prs.filter((p) => !qaCleared(p)).map((p) => `#${p.number}`);
  const env = prs.filter((p) => !envCleared(p)).map((p) => `#${p.number}`);
  const parts = [
    ...(qa.length ? [`QA ("${policy.approvalLabel}" label or a waiver) on ${qa.join(', ')}`] : []),
    ...(env.length ? [`an SRE's acknowledgement of env var changes in ${env.join(', ')}`] : []),
  ];
  return parts.length ? parts.join('; ') : undefined;
}

// ── notes ─────────────────────────────────────────────────────────────────────────────────────

export const MAX_NOTES_LENGTH = 120_000;
const MAX_TITLE = 200;

/** The pre-release's notes: the merged pull requests with a QA checklist, bounded in size. */
export function renderPreReleaseNotes(opts: { tag: string; previousTag?: string; prs: readonly GatePr[]; truncated: boolean; policy: Pick<PreReleasePolicy, 'approvalLabel' | 'envVarLabel'> }): string {
  const since = opts.previousTag ? `since ${opts.previousTag}` : 'in this first pre-release';
  const lines = [`## Pull requests merged ${since}`, ''];
  for (const pr of opts.prs) {
    const title = pr.title.length > MAX_TITLE ? `${pr.title.slice(0, MAX_TITLE)}…` : pr.title;
    const env = pr.needsEnvVar ? ' — **needs an env var change**' : '';
    lines.push(`- [${pr.approved ? 'x' : ' '}] #${pr.number} ${title.replace(/\s+/g, ' ')} by @${pr.author} (${pr.url})${env}`);
  }
  if (opts.truncated) lines.push('', '…and more: the forge stopped listing at its limit.');
  lines.push('', `QA: add the "${opts.policy.approvalLabel}" label to each verified pull request. "${opts.policy.envVarLabel}" needs an SRE's acknowledgement before production.`);
  const notes = lines.join('\n');
  return notes.length > MAX_NOTES_LENGTH ? `${notes.slice(0, MAX_NOTES_LENGTH)}\n…(cut)` : notes;
}

// ── the workflow's state and operator rules ───────────────────────────────────────────────────

export type PreReleaseStage = 'preparing' | 'awaiting-qa' | 'ready' | 'awaiting-lock' | 'production' | 'rolling-back' | 'released' | 'rolled-back' | 'failed' | 'expired';
export const FINAL_PRERELEASE_STAGES: readonly PreReleaseStage[] = ['released', 'rolled-back', 'failed', 'expired'];

export interface PreReleaseAction {
  kind: 'waive' | 'acknowledgeEnv' | 'recheck' | 'deploy';
  by: string;
  reason: string;
  at: number;
  pr?: number;
}

export interface PreReleaseStatus {
  workflowId: string;
  service: string;
  tag: string;
  commit: string;
  previousTag?: string;
  stage: PreReleaseStage;
  startedAt: number;
  releaseUrl?: string;
  prs: GatePr[];
  /** More pull requests were merged than listed. */
  truncated: boolean;
  actions: PreReleaseAction[];
  lastCheckedAt?: number;
  waitingFor?: string;
  versions: { production?: string; previousProduction?: string };
  error?: string;
}

export interface PrRequest extends OperatorRequest {
  /** The pull request number (a string from a form is accepted). */
  pr: string | number;
}

/** A positive integer pull request number, or undefined. */
export function prNumber(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^#?\d{1,9}$/.test(value.trim()) ? Number(value.trim().replace('#', '')) : value;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

function prProblem(status: PreReleaseStatus, req: unknown): string | undefined {
  const bad = requestProblem(req, { pr: 'string|number' });
  if (bad) return bad;
  const n = prNumber((req as PrRequest).pr);
  if (n === undefined) return '"pr" must be a pull request number (a positive integer)';
  if (!status.prs.some((p) => p.number === n)) return `#${n} is not in pre-release ${status.tag}; it has ${status.prs.map((p) => `#${p.number}`).join(', ')}`;
  if (status.stage !== 'awaiting-qa' && status.stage !== 'ready') return `pre-release ${status.tag} is ${status.stage}; its gate can no longer change`;
  return undefined;
}

export function waiveProblem(status: PreReleaseStatus, policy: PreReleasePolicy, req: unknown): string | undefined {
  const bad = prProblem(status, req);
  if (bad) return bad;
  const r = req as PrRequest;
  const pr = status.prs.find((p) => p.number === prNumber(r.pr));
  if (pr?.approved) return `#${pr.number} is already approved by QA; nothing to waive`;
  if (pr?.waived) return `#${pr.number} was already waived by ${pr.waived.by}`;
  return authorisationProblem(policy, r.by, 'promote');
}

export function acknowledgeEnvProblem(status: PreReleaseStatus, policy: PreReleasePolicy, req: unknown): string | undefined {
  const bad = prProblem(status, req);
  if (bad) return bad;
  const r = req as PrRequest;
  const pr = status.prs.find((p) => p.number === prNumber(r.pr));
  if (!pr?.needsEnvVar) return `#${pr?.number} has no "${policy.envVarLabel}" label; nothing to acknowledge`;
  if (pr.envAcknowledged) return `the env var change of #${pr.number} was already acknowledged by ${pr.envAcknowledged.by}`;
  if (!policy.sres.includes(r.by)) {
    return policy.sres.length === 0
      ? `service ${policy.service} lists no SREs; add them to prerelease.sres in the config`
      : `"${r.by}" is not an SRE of service ${policy.service} (prerelease.sres: ${policy.sres.join(', ')})`;
  }
  return undefined;
}

/** `recheck` takes `{by}` and an optional reason: it only reads labels again. */
export function recheckProblem(status: PreReleaseStatus, req: unknown): string | undefined {
  const withReason = req && typeof req === 'object' && !('reason' in req) ? { ...req, reason: 'recheck' } : req;
  const bad = requestProblem(withReason);
  if (bad) return bad;
  if (status.stage !== 'awaiting-qa' && status.stage !== 'ready') return `pre-release ${status.tag} is ${status.stage}; there is no gate to recheck`;
  return undefined;
}

export function deployProblem(status: PreReleaseStatus, policy: PreReleasePolicy, req: unknown): string | undefined {
  const bad = requestProblem(req);
  if (bad) return bad;
  if (status.actions.some((a) => a.kind === 'deploy')) return `pre-release ${status.tag} was already deployed (or is deploying)`;
  if (status.stage !== 'awaiting-qa' && status.stage !== 'ready') return `pre-release ${status.tag} is ${status.stage}; it cannot be deployed`;
  const waiting = gateWaitingFor(status.prs, policy);
  if (waiting) return `the QA gate of ${status.tag} is closed: waiting for ${waiting}`;
  return authorisationProblem(policy, (req as OperatorRequest).by, 'promote');
}
