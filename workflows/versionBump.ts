/**
 * The version bump (the seed's `UpdateGitaly`), one workflow per (component, consumer), id
 * `bump/<component>/<consumer>`, started hourly by a Temporal Schedule (overlap: skip, so a bump
 * that waits for a pipeline or a person is never joined by a second).
 *
 * Waiting is durable timers between short activities, not one heartbeating activity: the bump waits
 * for several things at once (its pipeline, a newer green commit every hour, the stale deadline, a
 * person's `resolved`), which a timer wait on a condition can watch together and an activity cannot
 * without being cancelled. A poll costs about eight history events; long waits continue as new.
 * The decisions are pure functions in domain/version-bump.ts.
 */
import { allHandlersFinished, condition, continueAsNew, isCancellation, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BumpNote, Inspection, VersionBumpActivities } from '../activities/version-bump.js';
import { NON_RETRYABLE_CODES } from '../domain/errors.js';
import {
  failureAction,
  initialBumpStatus,
  isStale,
  nextWakeMs,
  recordAttempt,
  resolvedProblem,
  type BumpEvent,
  type BumpInput,
  type BumpStatus,
  type PipelineView,
} from '../domain/version-bump.js';
import { BumpReport } from './version-bump-report.js';
import { bumpStatusQuery, resolvedUpdate, type ResolvedRequest } from './version-bump-messages.js';
import { rejectIf } from './rejections.js';

const MINUTE = 60_000;
/** Continue as new past this many events (a day of five-minute polls is about 2,500). */
const MAX_HISTORY_EVENTS = 4_000;

/** Short forge calls, retried with backoff for about ten minutes; past that the run fails and the next scheduled run picks up the request. */
const forge = proxyActivities<VersionBumpActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 12, nonRetryableErrorTypes: [...NON_RETRYABLE_CODES] },
});

/** Notifications are local activities, sent from the main path only (never from a handler). */
const notifier = proxyLocalActivities<VersionBumpActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

export async function versionBump(input: BumpInput): Promise<BumpStatus> {
  return new VersionBump(input).run();
}

type Outcome = 'done' | 'recreate';

class VersionBump {
  readonly status: BumpStatus;
  private readonly report: BumpReport;
  private resolveRequested = false;
  private nextGreenCheckAt = 0;

  constructor(private readonly input: BumpInput) {
    this.status = input.carried ?? initialBumpStatus(input.plan);
    this.report = new BumpReport(input.plan, this.status, (note) => this.send(note));
    setHandler(bumpStatusQuery, () => this.status);
    setHandler(resolvedUpdate, (req) => this.onResolved(req), {
      validator: (req) => {
        const problem = resolvedProblem(this.status, input.plan.operators, req);
        rejectIf(problem);
      },
    });
  }

  private get plan() {
    return this.input.plan;
  }

  async run(): Promise<BumpStatus> {
    while ((await this.once()) === 'recreate');
    await condition(allHandlersFinished);
    return this.status;
  }

  private onResolved(req: ResolvedRequest): BumpStatus {
    this.status.resolutions.push({ by: req.by, reason: req.reason, at: Date.now() });
    recordAttempt(this.status, { at: Date.now(), event: 'resolved', note: `${req.by}: ${req.reason}` });
    this.resolveRequested = true;
    return this.status;
  }

  /** One pass: survey, open or update the request, watch it to its end (or to a recreation). */
  private async once(): Promise<Outcome> {
    this.report.enter('checking');
    const carried = this.status.mr !== undefined;
    const survey = await forge.bumpSurvey.executeWithOptions({ summary: `Survey ${this.plan.component} in ${this.plan.consumer}` }, [
      { plan: this.plan, ...(carried ? { generations: [this.status.generation] } : {}) },
    ]);
    delete this.status.mr;
    if (survey.open) {
      this.status.generation = survey.open.generation;
      this.status.mr = survey.open.view;
      const manual = survey.open.fileVersion;
      if (manual && manual !== survey.open.view.wrote) this.status.manualVersion = manual;
    }
    if (survey.current) this.status.current = survey.current;
    if (!survey.green && !this.status.mr) return this.finish('no-green-commit', `no green commit in the last ${this.plan.lookback} of ${this.plan.component}`);
    if (survey.green) this.status.target = survey.green;
    if (survey.current && survey.current === survey.green) {
      if (this.status.mr) await this.close(`${this.plan.consumer} already has ${survey.green}`);
      return this.finish('up-to-date', `${this.plan.consumer} already has ${survey.green}`);
    }
    await this.prepare();
    return this.watch();
  }

  /** Opens the request, or updates the open one (a person's version in it is kept). */
  private async prepare(): Promise<void> {
    const target = this.status.target as string;
    const existing = this.status.mr;
    this.report.enter('opening');
    const view = await forge.bumpPrepareRequest.executeWithOptions({ summary: `Bump request for ${target.slice(0, 12)}` }, [
      { plan: this.plan, generation: this.status.generation, version: target, ...(this.status.current ? { from: this.status.current } : {}), ...(this.status.manualVersion ? { keepManual: this.status.manualVersion } : {}) },
    ]);
    this.status.mr = { ...view, wrote: this.status.manualVersion && existing ? existing.wrote : view.wrote };
    const event: BumpEvent = existing?.number === view.number ? 'updated' : 'opened';
    if (existing?.number === view.number && existing.wrote === view.wrote) return;
    await this.report.tell(event, `${event === 'opened' ? 'Opened' : 'Updated'} !${view.number} bumping ${this.plan.component} to ${target.slice(0, 12)}.`, 'progress', view.url);
  }

  /** Watches the request until it is merged, or must be recreated on a fixed default branch. */
  private async watch(): Promise<Outcome> {
    this.nextGreenCheckAt = Date.now() + this.plan.greenCheckMinutes * MINUTE;
    for (;;) {
      await this.continueAsNewIfLong();
      await this.markStale();
      if (this.resolveRequested) this.afterResolved();
      if (Date.now() >= this.nextGreenCheckAt) await this.checkForNewerGreen();
      const mr = this.status.mr!;
      const seen = await forge.bumpInspect.executeWithOptions({ summary: `Look at !${mr.number}` }, [{ plan: this.plan, number: mr.number }]);
      if (seen.state === 'merged') return this.finish('merged', `!${mr.number} was merged`);
      if (seen.state === 'closed') return this.recreate(`!${mr.number} was closed`);
      this.noticeManualVersion(seen);
      this.status.pipeline = seen.pipeline;
      const next = await this.onPipeline(seen);
      if (next) return next;
      await this.sleep(this.plan.pollMinutes * MINUTE);
    }
  }

  /** Acts on the head's pipeline; an outcome ends the watch. */
  private async onPipeline(seen: Inspection): Promise<Outcome | undefined> {
    const p = seen.pipeline;
    if (p?.status === 'success') {
      this.report.enter('merging');
      const merged = await forge.bumpMerge.executeWithOptions({ summary: `Merge !${this.status.mr!.number}` }, [{ plan: this.plan, number: this.status.mr!.number }]);
      if (merged.state === 'merged') return this.finish('merged', `merged as ${merged.mergeCommit?.slice(0, 12) ?? 'a merge commit'}`);
      if (merged.state === 'scheduled') return this.waitFor('merging', 'the forge to merge (auto-merge is set)');
    }
    if (!p || !['failed', 'canceled'].includes(p.status)) {
      if (this.status.stage !== 'blocked' || this.status.blockedHead !== seen.headSha) this.waitFor('awaiting-pipeline', `pipeline ${p ? `${p.id} (${p.status})` : 'of the head to start'}`);
      return undefined;
    }
    if (this.status.blockedHead === seen.headSha) return this.waitFor('blocked', this.personWait());
    const retried = this.status.retriedHead === seen.headSha;
    const masterState = retried ? await forge.bumpMasterState.executeWithOptions({ summary: `CI state of ${this.plan.consumer}'s default branch` }, [{ plan: this.plan }]) : 'unknown';
    const action = failureAction({ retried, masterState });
    if (action === 'retry') return this.retry(p, seen.headSha);
    if (action === 'await-master') return this.awaitMaster();
    await this.block(p, seen.headSha);
    return undefined;
  }

  private async retry(p: PipelineView, head: string): Promise<undefined> {
    this.report.enter('retrying-pipeline');
    const run = await forge.bumpRetryPipeline.executeWithOptions({ summary: `Retry pipeline ${p.id}` }, [{ plan: this.plan, pipelineId: p.id }]);
    this.status.retriedHead = head;
    this.status.pipeline = run;
    recordAttempt(this.status, { at: Date.now(), event: 'retried', note: `pipeline ${p.id} failed; retried once (test flake?)` });
    this.waitFor('awaiting-pipeline', `retried pipeline ${run.id}`);
    return undefined;
  }

  /** Broken master: wait for the consumer's default branch to turn green, then recreate the request on it. */
  private async awaitMaster(): Promise<Outcome> {
    this.waitFor('awaiting-master', `${this.plan.consumer}'s default branch to turn green (checked every ${this.plan.masterPollMinutes} min), or resolved`);
    await this.report.tell('master-broken', `!${this.status.mr!.number} failed and ${this.plan.consumer}'s default branch is red too: waiting for it to turn green, then recreating the request.`, 'progress', this.status.mr!.url);
    for (;;) {
      await this.sleep(this.plan.masterPollMinutes * MINUTE);
      if (this.resolveRequested) {
        this.resolveRequested = false;
        break;
      }
      const state = await forge.bumpMasterState.executeWithOptions({ summary: `CI state of ${this.plan.consumer}'s default branch` }, [{ plan: this.plan }]);
      if (state === 'success') break;
    }
    return this.recreate(`${this.plan.consumer}'s default branch is green again`);
  }

  /** A regression: label, tell the component's team with the failing job, wait for a person. */
  private async block(p: PipelineView, head: string): Promise<void> {
    const mr = this.status.mr!;
    this.status.blockedHead = head;
    const job = p.failedJobs?.[0];
    const where = job ? `${job.name}: ${job.url}` : p.url;
    await forge.bumpLabel.executeWithOptions({ summary: `Label !${mr.number} ${this.plan.blockedLabel}` }, [
      { plan: this.plan, number: mr.number, labels: [this.plan.blockedLabel], comment: `The pipeline failed again after a retry while ${this.plan.consumer}'s default branch is green: a regression in ${this.plan.component}? Failing job ${where}` },
    ]);
    this.waitFor('blocked', this.personWait());
    await this.report.tell('blocked', `!${mr.number} (${this.plan.component} ${this.status.target?.slice(0, 12)}) fails its pipeline: ${where}. Revert or fix in ${this.plan.component}, or write a version into the request; then resolved.`, 'team', mr.url);
  }

  private personWait(): string {
    return `a person: resolved, a newer green commit of ${this.plan.component} (checked every ${this.plan.greenCheckMinutes} min), or a version written into !${this.status.mr!.number}`;
  }

  /** After `resolved`: look for a newer green commit now and give the head's pipeline a new retry. */
  private afterResolved(): void {
    this.resolveRequested = false;
    delete this.status.blockedHead;
    delete this.status.retriedHead;
    this.nextGreenCheckAt = Date.now();
  }

  private async checkForNewerGreen(): Promise<void> {
    this.nextGreenCheckAt = Date.now() + this.plan.greenCheckMinutes * MINUTE;
    const survey = await forge.bumpSurvey.executeWithOptions({ summary: `Newer green commit of ${this.plan.component}?` }, [{ plan: this.plan, generations: [] }]);
    if (!survey.green || survey.green === this.status.target || this.status.manualVersion) return;
    this.status.target = survey.green;
    recordAttempt(this.status, { at: Date.now(), event: 'updated', note: `newer green commit ${survey.green.slice(0, 12)}` });
    await this.prepare();
  }

  private noticeManualVersion(seen: Inspection): void {
    const file = seen.fileVersion;
    if (!file || file === this.status.mr!.wrote || file === this.status.manualVersion) return;
    this.status.manualVersion = file;
    recordAttempt(this.status, { at: Date.now(), event: 'manual-version', note: `a person wrote ${file} into !${this.status.mr!.number}; kept, waiting for its pipeline` });
  }

  private async markStale(): Promise<void> {
    const mr = this.status.mr!;
    if (this.status.staleNotified === mr.number || !isStale(mr.createdAt, Date.now(), this.plan.staleHours)) return;
    this.status.staleNotified = mr.number;
    await forge.bumpLabel.executeWithOptions({ summary: `Label !${mr.number} ${this.plan.staleLabel}` }, [{ plan: this.plan, number: mr.number, labels: [this.plan.staleLabel] }]);
    await this.report.tell('stale', `!${mr.number} has been open for more than ${this.plan.staleHours} h (stage: ${this.status.stage}).`, 'team', mr.url);
  }

  private async recreate(why: string): Promise<Outcome> {
    const mr = this.status.mr!;
    this.report.enter('recreating');
    await this.close(`Closed by Trainyard: ${why}; a new request follows on the current default branch.`);
    this.status.generation += 1;
    delete this.status.mr;
    delete this.status.manualVersion;
    await this.report.tell('recreated', `Closed !${mr.number} (${why}); opening a new bump request.`, 'progress', mr.url);
    return 'recreate';
  }

  private async close(comment: string): Promise<void> {
    const mr = this.status.mr!;
    await forge.bumpClose.executeWithOptions({ summary: `Close !${mr.number}` }, [{ plan: this.plan, number: mr.number, comment }]);
  }

  private async finish(stage: 'merged' | 'up-to-date' | 'no-green-commit', note: string): Promise<Outcome> {
    delete this.status.waitingFor;
    this.report.enter(stage);
    if (stage !== 'merged') recordAttempt(this.status, { at: Date.now(), event: stage, note });
    else await this.report.tell('merged', `${this.plan.component} ${this.status.target?.slice(0, 12)} is merged into ${this.plan.consumer} (${note}); its deploy follows.`, 'progress', this.status.mr?.url);
    return 'done';
  }

  private waitFor(stage: BumpStatus['stage'], what: string): undefined {
    if (this.status.stage !== stage) this.report.enter(stage);
    this.report.waitFor(what);
    return undefined;
  }

  /** Sleeps until the next poll, green check or stale deadline; `resolved` wakes it early. */
  private async sleep(pollMs: number): Promise<void> {
    const mr = this.status.mr;
    const staleAt = mr && this.status.staleNotified !== mr.number ? Date.parse(mr.createdAt) + this.plan.staleHours * 3_600_000 : undefined;
    const ms = nextWakeMs({ now: Date.now(), pollMs, nextGreenCheckAt: this.nextGreenCheckAt, ...(staleAt !== undefined && Number.isFinite(staleAt) ? { staleAt } : {}) });
    await condition(() => this.resolveRequested, ms);
  }

  private async continueAsNewIfLong(): Promise<void> {
    const info = workflowInfo();
    if (info.historyLength < (this.input.maxHistoryEvents ?? MAX_HISTORY_EVENTS) && !info.continueAsNewSuggested) return;
    await condition(allHandlersFinished);
    await continueAsNew<typeof versionBump>({ ...this.input, carried: this.status });
  }

  /** Notifications never fail a bump: the activity retries, then the bump goes on. */
  private async send(note: BumpNote): Promise<void> {
    try {
      await notifier.bumpNotify.executeWithOptions({ summary: `Notify: ${note.event}` }, [note]);
    } catch (err) {
      // Recorded in the history as the activity's failure; the bump goes on.
      if (isCancellation(err)) throw err;
    }
  }
}
