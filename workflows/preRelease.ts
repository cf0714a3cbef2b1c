/**
 * Daily pre-releases (Mozilla Monitor's process): a Mon–Fri schedule starts `cutPreRelease`
 * (`prerelease-cut/<service>`), which finds the pull requests merged since the last pre-release,
 * skips when there are none, and starts `preRelease` (`prerelease/<service>/<tag>`) as an abandoned
 * child. The pre-release tags the commit, publishes a GitHub pre-release with generated notes, and
 * holds a QA gate (approval labels, waivers, SRE acknowledgements of env var changes) until an
 * operator's 1-click `deploy` takes it to production (prerelease-production.ts).
 *
 * The gate's rules are pure functions in domain/prerelease.ts; this file wires them.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  isCancellation,
  log,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { PreReleaseActivities } from '../activities/prerelease.js';
import type { TrainEvent } from '../activities/types.js';
import { releaseDate } from '../domain/calendar.js';
import { NON_RETRYABLE_CODES } from '../domain/errors.js';
import {
  acknowledgeEnvProblem,
  applyPullRequests,
  deployProblem,
  describePr,
  FINAL_PRERELEASE_STAGES,
  gateOpen,
  gatePr,
  gateWaitingFor,
  newestPreReleaseTag,
  preReleaseTag,
  preReleaseId,
  prNumber,
  recheckProblem,
  renderPreReleaseNotes,
  waiveProblem,
  type PreReleasePolicy,
  type PreReleaseStage,
  type PreReleaseStatus,
  type PrRequest,
  type PullRequestView,
} from '../domain/prerelease.js';
import type { OperatorRequest } from '../domain/train.js';
import { forge, handlerNotifier, notifier } from './activity-options.js';
import { deployPreRelease, type ProductionDeps } from './prerelease-production.js';
import { acknowledgeEnvUpdate, deployUpdate, preReleaseStatusQuery, recheckUpdate, waiveUpdate } from './prerelease-messages.js';
import { SERVICE, STAGE, STATUS, TAG } from './search-attributes.js';
import { rejectIf } from './rejections.js';

const nonRetryableErrorTypes = [...NON_RETRYABLE_CODES];
/** Forge calls of the pre-release: retried with backoff for about ten minutes (a forge outage). */
export const prForge = proxyActivities<PreReleaseActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 12, nonRetryableErrorTypes },
});
/** The same, from inside an update handler (`recheck`): short, so the operator gets an answer. */
const handlerPrForge = proxyActivities<PreReleaseActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3, nonRetryableErrorTypes },
});


export interface PreReleaseCutRequest {
  service: string;
  startedBy: string;
}

export type PreReleaseCutResult = { workflowId: string; tag: string; prs: number } | { skipped: string };

/** Picks the commit, the pull requests since the last pre-release and the tag; starts the pre-release. */
export async function cutPreRelease(req: PreReleaseCutRequest): Promise<PreReleaseCutResult> {
  const { service } = req;
  const policy = await prForge.preReleasePolicy({ service });
  const commit = await forge.resolveCommit({ service });
  const tags = await prForge.listPreReleaseTags({ service });
  const previousTag = newestPreReleaseTag(policy.tagFormat, service, tags);
  const { prs, truncated } = await prForge.mergedPullRequests({ service, to: commit, ...(previousTag ? { fromTag: previousTag } : {}) });
  if (prs.length === 0) return { skipped: `nothing merged since ${previousTag ?? 'the start'} (${commit.slice(0, 12)})` };
  const tag = preReleaseTag(policy.tagFormat, service, releaseDate(Date.now(), policy.timeZone), tags);
  const workflowId = preReleaseId(service, tag);
  const input: PreReleaseInput = { service, tag, commit, prs, truncated, policy, startedBy: req.startedBy, ...(previousTag ? { previousTag } : {}) };
  await startChild(preRelease, {
    workflowId,
    args: [input],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: SERVICE, value: service },
      { key: TAG, value: tag },
      { key: STAGE, value: 'preparing' },
    ],
    staticSummary: `Pre-release ${tag} of ${service}`,
    staticDetails: `${prs.length} pull request(s) since ${previousTag ?? 'the start'}, commit ${commit}, cut by ${req.startedBy}.`,
  });
  return { workflowId, tag, prs: prs.length };
}

export interface PreReleaseInput {
  service: string;
  tag: string;
  commit: string;
  previousTag?: string;
  prs: PullRequestView[];
  truncated: boolean;
  policy: PreReleasePolicy;
  startedBy: string;
  /** Carried across continue-as-new. */
  status?: PreReleaseStatus;
  /** Continue-as-new once history has this many events (tests make it small). */
  historyLimit?: number;
}

/** Well below Temporal's 4,096-event warning: a gate polled every 10 minutes for a week fits in a few runs. */
const DEFAULT_HISTORY_LIMIT = 2_000;

export async function preRelease(input: PreReleaseInput): Promise<PreReleaseStatus> {
  return new PreRelease(input).run();
}

class PreRelease implements ProductionDeps {
  readonly status: PreReleaseStatus;
  deployment?: OperatorRequest;

  constructor(readonly input: PreReleaseInput) {
    const { service, tag, commit, previousTag, prs, truncated, policy } = input;
    this.status = input.status ?? {
      workflowId: workflowInfo().workflowId,
      service,
      tag,
      commit,
      ...(previousTag ? { previousTag } : {}),
      stage: 'preparing',
      startedAt: Date.now(),
      prs: prs.map((pr) => gatePr(pr, policy)),
      truncated,
      actions: [],
      versions: {},
    };
    setHandler(preReleaseStatusQuery, () => this.status);
    setHandler(waiveUpdate, (req) => this.onWaive(req), { validator: (req) => rejectIf(waiveProblem(this.status, policy, req)) });
    setHandler(acknowledgeEnvUpdate, (req) => this.onAcknowledgeEnv(req), { validator: (req) => rejectIf(acknowledgeEnvProblem(this.status, policy, req)) });
    setHandler(recheckUpdate, (req) => this.onRecheck(req), { validator: (req) => rejectIf(recheckProblem(this.status, req)) });
    setHandler(deployUpdate, (req) => this.onDeploy(req), { validator: (req) => rejectIf(deployProblem(this.status, policy, req)) });
    // After continue-as-new the deploy request is in the carried status.
    const accepted = this.status.actions.find((a) => a.kind === 'deploy');
    if (accepted) this.deployment = { by: accepted.by, reason: accepted.reason };
  }

  async run(): Promise<PreReleaseStatus> {
    if (this.status.stage === 'preparing') await this.prepare();
    if (!this.isFinal()) await this.holdGate();
    if (!this.isFinal()) await deployPreRelease(this);
    await condition(allHandlersFinished);
    return this.status;
  }

  private isFinal(): boolean {
    return FINAL_PRERELEASE_STAGES.includes(this.status.stage);
  }

  /** Tags the commit and publishes the pre-release with its notes. */
  private async prepare(): Promise<void> {
    const { service, tag, commit } = this.input;
    try {
      await forge.createReleaseTag.executeWithOptions({ summary: `Tag ${commit.slice(0, 12)} as ${tag}` }, [
        { service, tag, commit, message: `Pre-release ${tag} (Trainyard ${this.status.workflowId})` },
      ]);
      const { url } = await prForge.publishPreRelease.executeWithOptions({ summary: `Publish pre-release ${tag}` }, [
        { service, tag, name: tag, notes: this.notes(), prerelease: true, latest: false },
      ]);
      this.status.releaseUrl = url;
    } catch (err) {
      if (isCancellation(err)) throw err;
      await this.fail(`could not create pre-release ${tag}: ${failureMessage(err)}`);
      return;
    }
    await this.tell('cut', `Pre-release ${tag} of ${service}: ${this.status.prs.length} pull request(s) since ${this.input.previousTag ?? 'the start'}. ${this.status.releaseUrl}`);
  }

  notes(): string {
    const { tag, previousTag, policy } = this.input;
    return renderPreReleaseNotes({ tag, prs: this.status.prs, truncated: this.status.truncated, policy, ...(previousTag ? { previousTag } : {}) });
  }

  /**
   * Waits for the gate to open and a `deploy`. While the gate is closed, labels are read again every
   * `recheckMinutes` (durable timers); an open gate waits for the deploy (or a recheck) only.
   */
  private async holdGate(): Promise<void> {
    const { policy } = this.input;
    const expiresAt = this.status.startedAt + policy.expireHours * 3_600_000;
    for (;;) {
      const open = gateOpen(this.status.prs);
      this.enter(open ? 'ready' : 'awaiting-qa', open ? 'a deploy (trainyard deploy)' : gateWaitingFor(this.status.prs, policy));
      if (this.deployment) return;
      const remaining = expiresAt - Date.now();
      if (remaining <= 0) {
        this.enter('expired');
        await this.tell('expired', `Pre-release ${this.input.tag} expired: not deployed within ${policy.expireHours} h.`);
        return;
      }
      // Never `condition(fn, 0)`: remaining is positive here, and the poll interval is at least a minute.
      const wait = open ? remaining : Math.min(remaining, policy.recheckMinutes * 60_000);
      const changed = await condition(() => this.deployment !== undefined || gateOpen(this.status.prs) !== open, wait);
      if (!changed && !open && Date.now() < expiresAt) await this.refreshLabels(false);
      if (!this.deployment && workflowInfo().historyLength > (this.input.historyLimit ?? DEFAULT_HISTORY_LIMIT)) await this.continueAsNew();
    }
  }

  private async continueAsNew(): Promise<never> {
    await condition(allHandlersFinished);
    return continueAsNew<typeof preRelease>({ ...this.input, status: this.status });
  }

  /** Reads the pull requests' labels again; a forge failure is logged and the next poll tries again. */
  private async refreshLabels(fromHandler: boolean): Promise<void> {
    const { service, policy } = this.input;
    const numbers = this.status.prs.map((p) => p.number);
    try {
      const via = fromHandler ? handlerPrForge : prForge;
      const fresh = await via.readPullRequests.executeWithOptions({ summary: `Read the labels of ${numbers.length} pull request(s)` }, [{ service, numbers }]);
      this.status.prs = applyPullRequests(this.status.prs, fresh, policy);
      this.status.lastCheckedAt = Date.now();
    } catch (err) {
      if (isCancellation(err) || fromHandler) throw err;
      log.warn('could not read pull request labels; trying again at the next poll', { error: failureMessage(err) });
    }
  }

  private async onWaive(req: PrRequest): Promise<PreReleaseStatus> {
    const pr = this.pr(req.pr);
    pr.waived = { by: req.by, reason: req.reason, at: Date.now() };
    this.status.actions.push({ kind: 'waive', by: req.by, reason: req.reason, at: Date.now(), pr: pr.number });
    this.showDetails();
    await this.tell('operator-action', `${req.by} waived QA of #${pr.number} in ${this.input.tag}: ${req.reason}`, true);
    return this.status;
  }

  private async onAcknowledgeEnv(req: PrRequest): Promise<PreReleaseStatus> {
    const pr = this.pr(req.pr);
    pr.envAcknowledged = { by: req.by, reason: req.reason, at: Date.now() };
    this.status.actions.push({ kind: 'acknowledgeEnv', by: req.by, reason: req.reason, at: Date.now(), pr: pr.number });
    this.showDetails();
    await this.tell('operator-action', `${req.by} (SRE) acknowledged the env var change of #${pr.number} in ${this.input.tag}: ${req.reason}`, true);
    return this.status;
  }

  private async onRecheck(req: { by: string; reason?: string }): Promise<PreReleaseStatus> {
    this.status.actions.push({ kind: 'recheck', by: req.by, reason: req.reason ?? 'recheck', at: Date.now() });
    await this.refreshLabels(true);
    this.showDetails();
    return this.status;
  }

  private onDeploy(req: OperatorRequest): PreReleaseStatus {
    this.deployment = { by: req.by, reason: req.reason };
    this.status.actions.push({ kind: 'deploy', by: req.by, reason: req.reason, at: Date.now() });
    return this.status;
  }

  private pr(value: string | number) {
    const pr = this.status.prs.find((p) => p.number === prNumber(value));
    if (!pr) throw ApplicationFailure.nonRetryable(`no pull request ${value}`, 'REJECTED'); // the validator ran first
    return pr;
  }

  enter(stage: PreReleaseStage, waitingFor?: string): void {
    const changed = this.status.stage !== stage;
    this.status.stage = stage;
    this.status.waitingFor = waitingFor;
    if (changed) {
      const final = FINAL_PRERELEASE_STAGES.includes(stage);
      const status = final ? stage : stage.startsWith('awaiting-') || stage === 'ready' ? 'waiting' : 'running';
      upsertSearchAttributes([
        { key: SERVICE, value: this.input.service },
        { key: TAG, value: this.input.tag },
        { key: STAGE, value: stage },
        { key: STATUS, value: status },
      ]);
    }
    this.showDetails();
  }

  /** The "current details" of the workflow's page in the Temporal UI. */
  private showDetails(): void {
    const waiting = this.status.waitingFor ? `\n\n**Waiting for:** ${this.status.waitingFor}` : '';
    const link = this.status.releaseUrl ? `\n\n[Release notes](${this.status.releaseUrl})` : '';
    const rows = this.status.prs.map((pr) => `- [#${pr.number}](${pr.url}) ${describePr(pr).replace(/^#\d+ /, '')}`);
    setCurrentDetails(`**${this.input.tag}**: ${this.status.stage}${waiting}${link}\n\n${rows.join('\n')}`);
  }

  async fail(why: string): Promise<void> {
    this.status.error = why;
    this.enter('failed');
    await this.tell('failed', `Pre-release ${this.input.tag} failed: ${why}.`);
  }

  /** Notifications never block or fail a pre-release. */
  async tell(event: TrainEvent, text: string, fromHandler = false): Promise<void> {
    try {
      const via = fromHandler ? handlerNotifier : notifier;
      await via.notify.executeWithOptions({ summary: `Notify: ${event}` }, [{ service: this.input.service, trainId: this.status.workflowId, event, text }]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('notification failed; the pre-release goes on', { event, error: String(err) });
    }
  }
}

/** The message an operator needs from an activity failure: the driver's, not the wrapper's. */
export function failureMessage(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
