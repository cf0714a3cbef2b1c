/**
 * One release train: cut → staging → E2E → gate → production → (rollback).
 *
 * This file is the train's path; its operator surface is train-controls.ts, how it shows itself is
 * train-report.ts, its side of the environment ledgers is train-ledger.ts. The decisions are pure
 * functions in `domain/train.ts`.
 * Waits are durable timers and messages, never polling loops: long waits on external systems happen
 * inside heartbeating activities.
 */
import { ActivityFailure, allHandlersFinished, ApplicationFailure, CancellationScope, condition, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import type { DeployOutcome } from '../activities/types.js';
import { endUnreleased } from './train-outcome.js';
import { describeTime, nextLocalTime } from '../domain/calendar.js';
import type { DeploymentOutcome, DeploymentRecord } from '../domain/ledger.js';
import type { ProductionHold, Version } from '../domain/production-order.js';
import { gateDecision, initialStatus, type EnvironmentName, type TrainInput, type TrainStatus } from '../domain/train.js';
import { forge, longRunning, step } from './activity-options.js';
import { ProductionGuard } from './production-guard.js';
import { TrainControls } from './train-controls.js';
import { LedgerLink, type LockGrant } from './train-ledger.js';
import { TrainReport } from './train-report.js';
import { rejected } from './rejections.js';

export async function releaseTrain(input: TrainInput): Promise<TrainStatus> {
  const train = new Train(input);
  return train.run();
}

/** Thrown inside the train's path when it has reached a final stage; not a workflow failure. */
class TrainEnded extends Error {}

/** The message an operator needs from an activity failure: the driver's, not the wrapper's. */
function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** The error code (domain/errors.ts) an activity failed with. */
function failureType(err: unknown): string | undefined {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.type ?? undefined : undefined;
}

/** Holds a train's state for the handlers and the main path; no I/O of its own. */
class Train {
  readonly status: TrainStatus;
  private readonly controls: TrainControls;
  private readonly scope = new CancellationScope();
  private readonly ledgers: LedgerLink;
  private readonly report: TrainReport;
  private readonly guard: ProductionGuard;
  /**
   * Whether this train started with every change below (one marker in its first workflow task).
   * A `patched()` call later in the run can be read wrongly on replay when a local activity just
   * before it outlived its workflow task (the marker lands in the next task, which the SDK has not
   * announced yet, and the replay fails as nondeterministic: seen under load). Trains started
   * before this marker existed ask each change at its own place, as they ran.
   */
  private readonly startedWithChanges: boolean;
  /**
   * A later change, marked the same way at the start: a failed E2E can be re-run while the train
   * waits for its release time (seed 003 re-runs it the night before). Every later change gets its
   * own marker here; trains started before it keep the old behaviour to their end, and no
   * `patched()` is asked in the middle of a run any more.
   */
  private readonly rerunsBeforeRelease: boolean;

  constructor(private readonly input: TrainInput) {
    this.startedWithChanges = patched('changes-known-at-start');
    this.rerunsBeforeRelease = patched('rerun-e2e-before-release');
    this.status = initialStatus(workflowInfo().workflowId, input);
    this.ledgers = new LedgerLink(input, this.status.trainId, this.status.freezes);
    this.report = new TrainReport(input, this.status);
    this.controls = new TrainControls({
      input,
      status: this.status,
      report: this.report,
      ledgers: this.ledgers,
      scope: this.scope,
      regenerateChangelog: (previousTag) => this.publishChangelog(previousTag, true),
      rerunsBeforeRelease: this.rerunsBeforeRelease,
    });
    this.guard = new ProductionGuard(input, this.status, this.report, this.controls, failureMessage);
  }

  /** A behaviour change (`patched`) as this train knows it: at its start, or where an older train met it. */
  private has(change: 'unreleased-train-fails' | 'production-never-backwards' | 'keep-requests-during-notice' | 'smoke-after-rollback'): boolean {
    return this.startedWithChanges || patched(change);
  }

  async run(): Promise<TrainStatus> {
    this.report.enter('cut');
    let cancelled: unknown;
    try {
      await this.scope.run(() => this.ride());
    } catch (err) {
      if (!(err instanceof TrainEnded) && !isCancellation(err)) throw err;
      if (isCancellation(err)) await CancellationScope.nonCancellable(() => this.endCancelled());
      if (isCancellation(err) && !this.controls.abortion && !this.controls.supersession) cancelled = err;
    }
    if (this.input.hotfix) await this.ledgers.endHotfixFreeze();
    // A changelog regeneration may still be running in its update handler.
    await condition(allHandlersFinished);
    // Added after trains were already running: every train completed, so the UI showed a
    // rolled-back, failed, expired or aborted train as a green "Completed". Older trains replay without it.
    if (this.status.stage !== 'released' && this.has('unreleased-train-fails')) endUnreleased(this.status, cancelled);
    return this.status;
  }

  /** The train's scope was cancelled: by a re-tag, an abort, or a cancel of the workflow itself. */
  private async endCancelled(): Promise<void> {
    if (this.controls.supersession) {
      const { by, reason, newTag } = this.controls.supersession;
      this.report.enter('superseded', `by ${newTag} (${by}: ${reason})`);
      await this.report.tell('superseded', `Train ${this.input.tag} was superseded by ${newTag} (${by}: ${reason}).`);
      return;
    }
    const by = this.controls.abortion ? `${this.controls.abortion.by}: ${this.controls.abortion.reason}` : 'the workflow was cancelled';
    this.report.enter('aborted', by);
    await this.report.tell('aborted', `Train ${this.input.tag} aborted (${by}).`);
  }

  private async ride(): Promise<void> {
    const { service, tag, commit } = this.input;
    try {
      await forge.createReleaseTag.executeWithOptions({ summary: `Tag ${commit.slice(0, 12)} as ${tag}` }, [
        { service, tag, commit, message: `Release ${tag} (Trainyard train ${this.status.trainId})` },
      ]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      await this.fail(`could not create tag ${tag}: ${failureMessage(err)}`);
    }
    await this.ledgers.subscribe();
    if (this.input.hotfix) await this.ledgers.freezeForHotfix(this.input.startedBy);
    await this.publishChangelog();
    const link = this.status.changelog ? ` Changelog: ${this.status.changelog.url}` : '';
    await this.report.tell('cut', `Cut ${tag} at ${commit.slice(0, 12)}; production release ${describeTime(this.input.releaseAt, this.input.policy.release.timeZone)}.${link}`);

    let stagingHealthy = false;
    const hotfix = this.input.hotfix !== undefined;
    await this.ledgers.withLock('staging', hotfix, (why) => this.queued(why), async () => {
      stagingHealthy = await this.deployAndVerify('staging', tag);
      return [this.record(tag, commit, stagingHealthy ? 'verified' : 'failed')];
    });
    if (!stagingHealthy) await this.fail('staging smoke check failed');
    await this.awaitE2EWindow();
    // A release manager who promoted before the window has decided without E2E.
    if (!this.controls.promotion) await this.runE2E();
    await this.gate();
    await this.releaseToProduction(hotfix);
    if (this.status.stage === 'failed') throw new TrainEnded();
  }

  /**
   * Production, under its lock. Added after trains were already running: a train cut before a
   * hotfix deployed right after it and removed its fix. Now a train whose commit does not contain
   * what production runs is held (the lock given back) until an operator decides; older trains
   * replay without the check.
   */
  private async releaseToProduction(hotfix: boolean): Promise<void> {
    const guarded = this.has('production-never-backwards');
    for (;;) {
      let hold: ProductionHold | undefined;
      const bypassFreeze = hotfix || this.status.actions.some((a) => a.kind === 'promote' && a.overrideFreeze === true);
      await this.ledgers.withLock('production', bypassFreeze, (why) => this.queued(why), async (grant) => {
        if (!guarded) return this.promote(grant);
        const running = grant.stable ?? (await this.deployedInProduction());
        const order = await this.guard.check(running);
        if (order.kind === 'hold') {
          hold = order.hold;
          return [];
        }
        const note = order.overridden && running ? this.overrideNote(running) : undefined;
        return this.promote(grant, { previous: running, ...(note ? { note } : {}) });
      });
      if (!hold) return;
      if (!(await this.guard.awaitDecision(hold))) await this.expire();
    }
  }

  private overrideNote(running: Version): string {
    const by = this.controls.promotion ? ` (${this.controls.promotion.by}: ${this.controls.promotion.reason})` : '';
    return `deployed over ${running.tag}, which it does not contain${by}`;
  }

  /** Builds and publishes the changelog; a failure is told, never fatal to the train. */
  /**
   * Publishes the changelog; false when it could not (people were told why). Asked for by an
   * operator (`fromHandler`), a tag that does not exist refuses the request instead: a misspelled
   * `--from` must not rewrite the notes from the first commit.
   */
  private async publishChangelog(previousTag?: string, fromHandler = false): Promise<boolean> {
    const { service, tag } = this.input;
    const from = previousTag ? ` from ${previousTag}` : '';
    try {
      this.status.changelog = await forge.publishChangelog.executeWithOptions({ summary: `Publish the changelog of ${tag}${from}` }, [
        { service, tag, ...(previousTag ? { previousTag } : {}) },
      ]);
      return true;
    } catch (err) {
      if (isCancellation(err)) throw err;
      if (fromHandler && failureType(err) === 'REF_NOT_FOUND') throw rejected(failureMessage(err));
      await this.report.tell('changelog', `Could not publish the changelog of ${tag}${from}: ${failureMessage(err)}`, fromHandler);
      return false;
    }
  }

  /** Deploys `tag` and runs the environment's smoke check; true when it passed (or there is none). */
  private async deployAndVerify(environment: EnvironmentName, tag: string): Promise<boolean> {
    const { service, commit } = this.input;
    const trainId = this.status.trainId;
    const deployed = await this.deployUntilDone(environment, tag);
    this.status.versions[environment] = tag;
    await this.report.annotate(environment, tag);
    // A retried deploy that found the tag already running says so (activities/deploy/once.ts). No
    // deploy answered `alreadyRunning` before that change, so older histories replay as they ran.
    await this.report.tell('deployed', deployed.alreadyRunning ? `${deployed.summary}.` : `Deployed ${tag} to ${environment}.`);
    if (!this.input.policy.smoke[environment]) return true;
    const smoke = await longRunning.runCheck.executeWithOptions(step(`Smoke test ${tag} in ${environment}`, this.input.policy), [
      { service, check: 'smoke', environment, tag, commit, trainId },
    ]);
    if (!smoke.passed) await this.report.tell('check-failed', `Smoke test of ${tag} in ${environment} failed: ${smoke.summary}`);
    return smoke.passed;
  }

  /**
   * Deploys, and when the driver's retries are exhausted waits for an operator's `retryDeploy` (or
   * `abort`) instead of giving up silently; expires after the decision deadline.
   */
  private async deployUntilDone(environment: EnvironmentName, tag: string): Promise<DeployOutcome> {
    const { service, commit, policy } = this.input;
    for (;;) {
      this.report.enter(environment);
      try {
        return await longRunning.deploy.executeWithOptions(step(`Deploy ${tag} to ${environment}`, this.input.policy), [
          { service, environment, tag, commit, trainId: this.status.trainId },
        ]);
      } catch (err) {
        if (isCancellation(err)) throw err;
        const error = failureMessage(err);
        this.report.enter('awaiting-decision', `deploy to ${environment} failed`);
        // From here `retryDeploy` is accepted (its validator looks at failedDeploy): a request that
        // lands while the notification goes out must count (`patched`: older runs replay as they ran,
        // resetting the request after the notification).
        const keepRequests = this.has('keep-requests-during-notice');
        if (keepRequests) this.controls.retryRequested = false;
        this.status.failedDeploy = { environment, error };
        this.report.waitFor(`retryDeploy or abort (deploy of ${tag} to ${environment} failed: ${error})`);
        await this.report.tell('awaiting-decision', `Deploy of ${tag} to ${environment} failed after retries: ${error}. Waiting for retryDeploy or abort.`);
        if (!keepRequests) this.controls.retryRequested = false;
        const decided = await condition(() => this.controls.retryRequested, policy.decisionDeadlineHours * 3_600_000);
        this.status.failedDeploy = undefined;
        if (!decided) await this.expire();
      }
    }
  }

  /** Waits for the E2E window (e.g. overnight) when the service has one; a promote ends the wait. */
  private async awaitE2EWindow(): Promise<void> {
    const { policy } = this.input;
    if (!policy.hasE2E || !policy.e2eAt) return;
    const at = nextLocalTime(Date.now(), policy.release.timeZone, policy.e2eAt);
    this.report.enter('awaiting-e2e');
    this.report.waitFor(`the E2E window at ${describeTime(at, policy.release.timeZone)}`);
    if (at > Date.now()) await condition(() => this.controls.promotion !== undefined, at - Date.now());
  }

  private async runE2E(): Promise<void> {
    if (!this.input.policy.hasE2E) return;
    const { service, tag, commit } = this.input;
    this.report.enter('e2e');
    this.status.e2e = await longRunning.runCheck.executeWithOptions(step(`E2E tests of ${tag} in staging`, this.input.policy), [
      { service, check: 'e2e', environment: 'staging', tag, commit, trainId: this.status.trainId },
    ]);
    if (!this.status.e2e.passed) await this.report.tell('check-failed', `E2E of ${tag} failed: ${this.status.e2e.summary}`);
  }

  /**
   * Until the release time: a promote ends the wait; a rerunE2E (after failed E2E) runs E2E again
   * at once and the wait goes on. A failed E2E is said in what the train waits for: at the release
   * time the train stops at the gate unless E2E passed by then or someone promotes.
   */
  private async awaitReleaseTime(): Promise<void> {
    const { policy, releaseAt } = this.input;
    for (;;) {
      const left = releaseAt - Date.now();
      if (left <= 0 || this.controls.promotion) return;
      if (this.status.e2e && !this.status.e2e.passed) {
        this.report.waitFor(`the release time ${describeTime(releaseAt, policy.release.timeZone)} or a promote; E2E failed, so at the release time the train stops for a decision unless a rerunE2E passes first`);
      }
      const woke = await condition(() => this.controls.promotion !== undefined || this.controls.rerunRequested, left);
      if (!woke || this.controls.promotion) return;
      this.controls.rerunRequested = false;
      await this.runE2E();
      this.report.enter('awaiting-release');
      this.report.waitFor(`the release time ${describeTime(releaseAt, policy.release.timeZone)} or a promote`);
    }
  }

  /**
   * Waits for the release time or an operator. After failed E2E, waits for `promote`, `rerunE2E` or
   * `abort`; ends the train when nobody decides before the deadline.
   */
  private async gate(): Promise<void> {
    const { policy, releaseAt } = this.input;
    this.report.enter('awaiting-release');
    this.report.waitFor(`the release time ${describeTime(releaseAt, policy.release.timeZone)} or a promote`);
    // Never `condition(fn, 0)`: the SDK records a marker for a zero timeout, which a replay that
    // computes a different remaining time would not reproduce.
    const untilRelease = releaseAt - Date.now();
    if (!this.rerunsBeforeRelease) {
      if (untilRelease > 0) await condition(() => this.controls.promotion !== undefined, untilRelease);
    } else {
      await this.awaitReleaseTime();
    }
    for (;;) {
      const decision = gateDecision({ promotedBy: this.controls.promotion?.by, e2e: this.status.e2e, releaseTimeReached: true, hasE2E: policy.hasE2E });
      if (decision.kind === 'promote') {
        const reason = this.controls.promotion ? ` (${this.controls.promotion.reason})` : '';
        await this.report.tell('promoted', `Promoting ${this.input.tag} to production: ${decision.why}${reason}.`);
        return;
      }
      this.report.enter('awaiting-decision');
      // As for retryDeploy above: a rerunE2E accepted during the notification counts.
      const keepRequests = this.has('keep-requests-during-notice');
      if (keepRequests) this.controls.rerunRequested = false;
      this.report.waitFor(`${decision.why}, or rerunE2E`);
      await this.report.tell('awaiting-decision', `${this.input.tag} is waiting for ${decision.why}.`);
      if (!keepRequests) this.controls.rerunRequested = false;
      const decided = await condition(() => this.controls.promotion !== undefined || this.controls.rerunRequested, policy.decisionDeadlineHours * 3_600_000);
      if (!decided) await this.expire();
      if (this.controls.rerunRequested && !this.controls.promotion) await this.runE2E();
    }
  }

  private async expire(): Promise<never> {
    const hours = this.input.policy.decisionDeadlineHours;
    this.report.enter('expired', `no decision within ${hours} h`);
    await this.report.tell('expired', `${this.input.tag} expired: nobody acted on it within ${hours} h.`);
    throw new TrainEnded();
  }

  /**
   * Production, under its lock: deploy, smoke test, roll back on failure. Returns what to record.
   * `known`: what production runs, when the caller has looked already; `note` goes on its records.
   */
  private async promote(grant: LockGrant, known?: { previous: Version | undefined; note?: string }): Promise<DeploymentRecord[]> {
    const { tag, commit } = this.input;
    const previous = known ? known.previous : grant.stable ?? (await this.deployedInProduction());
    if (previous) this.status.versions.previousProduction = previous.tag;
    const note = known?.note;
    if (await this.deployAndVerify('production', tag)) {
      this.report.enter('released');
      await this.report.tell('released', `${tag} is live in production.`);
      return [this.record(tag, commit, 'verified', note)];
    }
    return [this.record(tag, commit, 'rolled-back', note), ...(await this.rollBack(previous))];
  }

  /** Without a ledger record (the first train of a service), the version production reports. */
  private async deployedInProduction(): Promise<{ tag: string; commit: string } | undefined> {
    const service = this.input.service;
    const tag = await forge.readDeployedVersion.executeWithOptions({ summary: 'Read the version running in production' }, [{ service, environment: 'production' }]);
    if (!tag || tag === this.input.tag) return undefined;
    const commit = await forge.resolveCommit.executeWithOptions({ summary: `Resolve ${tag}` }, [{ service, ref: tag }]);
    return { tag, commit };
  }

  private async rollBack(previous: { tag: string; commit: string } | undefined): Promise<DeploymentRecord[]> {
    const { service, tag } = this.input;
    if (!previous) {
      this.report.markFailed(`production smoke check of ${tag} failed and there is no previous version to roll back to`);
      await this.report.tell('rollback-failed', `Production smoke test of ${tag} failed and there is no previous version to roll back to.`);
      return [];
    }
    this.report.enter('rolling-back', `to ${previous.tag}`);
    try {
      await longRunning.deploy.executeWithOptions(step(`Roll production back to ${previous.tag}`, this.input.policy), [
        { service, environment: 'production', tag: previous.tag, commit: previous.commit, trainId: this.status.trainId },
      ]);
      this.status.versions.production = previous.tag;
      await this.report.annotate('production', previous.tag);
      // Added after trains were already running: a rollback was recorded as verified without a
      // smoke test. Trains that rolled back before this change replay without it.
      if (this.has('smoke-after-rollback') && this.input.policy.smoke.production) {
        const smoke = await longRunning.runCheck.executeWithOptions(step(`Smoke test ${previous.tag} in production after the rollback`, this.input.policy), [
          { service, check: 'smoke', environment: 'production', tag: previous.tag, commit: previous.commit, trainId: this.status.trainId },
        ]);
        if (!smoke.passed) {
          this.report.markFailed(`rolled back to ${previous.tag}, but its smoke test fails too: ${smoke.summary}`);
          await this.ledgers.freezeForIncident('production', `rolled back to ${previous.tag} after ${tag} failed, and ${previous.tag} fails its smoke test too; check production, then unfreeze`);
          await this.report.tell('rollback-failed', `ROLLBACK DID NOT HELP: production runs ${previous.tag} again, and it fails its smoke test too: ${smoke.summary}. Production is frozen until someone unfreezes it.`);
          return [this.record(previous.tag, previous.commit, 'failed')];
        }
      }
      this.report.enter('rolled-back', `production smoke check of ${tag} failed; back on ${previous.tag}`);
      await this.report.tell('rolled-back', `Production smoke test of ${tag} failed; rolled back to ${previous.tag}.`);
      return [this.record(previous.tag, previous.commit, 'verified')];
    } catch (err) {
      if (isCancellation(err)) throw err;
      const why = failureMessage(err);
      this.report.markFailed(`rollback to ${previous.tag} failed: ${why}`);
      await this.ledgers.freezeForIncident('production', `rollback of ${tag} to ${previous.tag} failed; check production, then unfreeze`);
      await this.report.tell('rollback-failed', `ROLLBACK FAILED: production may be running the broken ${tag}; rolling back to ${previous.tag} failed: ${why}. Production is frozen until someone unfreezes it.`);
      return [];
    }
  }

  private record(tag: string, commit: string, outcome: DeploymentOutcome, note?: string): DeploymentRecord {
    const record: DeploymentRecord = { tag, commit, outcome, trainId: this.status.trainId, at: Date.now(), by: this.controls.promotion?.by ?? this.input.startedBy };
    if (note !== undefined) record.note = note;
    return record;
  }

  private queued(why: string): void {
    if (this.status.stage !== 'awaiting-lock') this.report.enter('awaiting-lock');
    this.report.waitFor(why);
  }

  private async fail(why: string): Promise<never> {
    this.report.markFailed(why);
    await this.report.tell('failed', `Train ${this.input.tag} failed: ${why}.`);
    throw new TrainEnded();
  }
}
