/**
 * A train's check before it deploys to production: does its commit contain what production runs?
 * The forge answers (a `compareCommits` activity with the usual forge retries); the rule is
 * domain/production-order.ts. A train that would remove a change from production waits, outside
 * the deploy lock, for an operator: a re-tag (supersede), an abort, or a promote with
 * overrideBackwards and a reason.
 */
import { condition, isCancellation } from '@temporalio/workflow';
import { comparisonNeeded, holdChoices, productionOrder, type CommitRelation, type ProductionHold, type ProductionOrder, type Version } from '../domain/production-order.js';
import type { TrainInput, TrainStatus } from '../domain/train.js';
import { forge } from './activity-options.js';
import type { TrainControls } from './train-controls.js';
import type { TrainReport } from './train-report.js';

export class ProductionGuard {
  constructor(
    private readonly input: TrainInput,
    private readonly status: TrainStatus,
    private readonly report: TrainReport,
    private readonly controls: TrainControls,
    private readonly failureMessage: (err: unknown) => string,
  ) {}

  /** Under the production lock: deploy over `running` (what production runs), or hold, and why. */
  async check(running: Version | undefined): Promise<ProductionOrder> {
    const { service, tag, commit } = this.input;
    const candidate = { tag, commit };
    const compare = comparisonNeeded(candidate, running);
    let relation: CommitRelation | { error: string } | undefined;
    if (compare) {
      try {
        relation = await forge.compareCommits.executeWithOptions({ summary: `Does ${tag} contain ${running?.tag ?? compare.base.slice(0, 12)}, which production runs?` }, [{ service, ...compare }]);
      } catch (err) {
        if (isCancellation(err)) throw err;
        // The forge could not answer even after its retries: a person decides, nothing is deployed blind.
        relation = { error: this.failureMessage(err) };
      }
    }
    return productionOrder({ candidate, running, ...(relation ? { relation } : {}), ...(this.controls.backwardsOverride ? { overriddenFor: this.controls.backwardsOverride } : {}) });
  }

  /**
   * Holds the train (it has given the lock back) until an operator overrides the hold for this
   * running version; false when nobody decided before the deadline. Abort and supersede cancel the
   * train's scope, which ends this wait.
   */
  async awaitDecision(hold: ProductionHold): Promise<boolean> {
    const { service, tag, policy } = this.input;
    const choices = holdChoices(service, this.status.trainId);
    // Accept, then wait: from here the promote validator accepts an override, and one accepted
    // while the notification goes out counts (the condition reads what it left).
    this.status.productionHold = hold;
    this.report.enter('awaiting-decision', hold.why);
    this.report.waitFor(`a decision, because ${hold.why}. Choices: ${choices}`);
    await this.report.tell('awaiting-decision', `${tag} was not deployed to production: ${hold.why}. Choices: ${choices}.`);
    const decided = await condition(() => this.controls.backwardsOverride === hold.running.tag, policy.decisionDeadlineHours * 3_600_000);
    this.status.productionHold = undefined;
    return decided;
  }
}
