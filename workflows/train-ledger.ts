/**
 * A train's side of the environment ledgers: subscribing to freeze changes, taking and giving back
 * the deploy lock. The lock is given back on every path out, cancellation included.
 */
import { CancellationScope, condition, getExternalWorkflowHandle, log, setHandler } from '@temporalio/workflow';
import { ledgerId } from '../domain/ids.js';
import type { DeploymentRecord, FreezeView } from '../domain/ledger.js';
import type { EnvironmentName, TrainInput } from '../domain/train.js';
import { forge } from './activity-options.js';
import { freezeChangedSignal, incidentFreezeSignal, lockGrantedSignal, lockQueuedSignal, releaseLockSignal } from './ledger-messages.js';

export interface LockGrant {
  /** The last verified version of the environment other than ours: the rollback target. */
  stable?: { tag: string; commit: string };
}

/** Who holds locks: a train, or a rollback (which never subscribes, so needs no policy). */
export type LedgerClient = Pick<TrainInput, 'service' | 'tag'> & { policy?: Pick<TrainInput['policy'], 'operators'> };

export class LedgerLink {
  private readonly grants: Partial<Record<EnvironmentName, LockGrant>> = {};
  /** Why the ledger queued our request; kept because it can arrive before we start waiting. */
  private readonly queuedWhy: Partial<Record<EnvironmentName, string>> = {};
  private onQueued?: (why: string) => void;
  /** The environment whose lock the train waits for, and whether it asked to bypass a freeze. */
  private waiting?: { environment: EnvironmentName; bypassFreeze: boolean };

  constructor(
    private readonly input: LedgerClient,
    private readonly trainId: string,
    readonly freezes: Partial<Record<EnvironmentName, FreezeView>>,
  ) {
    setHandler(lockGrantedSignal, ({ environment, stable }) => {
      this.grants[environment] = stable ? { stable } : {};
    });
    setHandler(freezeChangedSignal, ({ environment, freeze }) => {
      this.freezes[environment] = freeze;
    });
    setHandler(lockQueuedSignal, ({ environment, why }) => {
      if (this.grants[environment] !== undefined) return;
      this.queuedWhy[environment] = why;
      this.onQueued?.(why);
    });
  }

  /**
   * Asks production's ledger for its freeze state and changes to it (the promote validator needs
   * it). A staging freeze needs no subscription: it only defers the staging lock.
   */
  async subscribe(): Promise<void> {
    const { service, policy } = this.input;
    await forge.signalLedger.executeWithOptions({ summary: 'Subscribe to the production ledger' }, [
      { service, environment: 'production', signal: 'subscribe', payload: { trainId: this.trainId, ...(policy?.operators ? { operators: policy.operators } : {}) } },
    ]);
  }

  private async requestLock(environment: EnvironmentName, bypassFreeze: boolean): Promise<void> {
    await forge.signalLedger.executeWithOptions({ summary: `Request the ${environment} deploy lock${bypassFreeze ? ' through its freeze' : ''}` }, [
      { service: this.input.service, environment, signal: 'requestLock', payload: { trainId: this.trainId, tag: this.input.tag, requestedAt: Date.now(), bypassFreeze } },
    ]);
  }

  /** An override-freeze promote while the train already waits behind the freeze: ask again, with the bypass. */
  async bypassFreezeWhileWaiting(environment: EnvironmentName): Promise<void> {
    if (this.waiting?.environment !== environment || this.waiting.bypassFreeze) return;
    this.waiting.bypassFreeze = true;
    await this.requestLock(environment, true);
  }

  /** A hotfix freezes production for the service's other trains until this train is done. */
  async freezeForHotfix(by: string): Promise<void> {
    await forge.signalLedger.executeWithOptions({ summary: `Freeze production for hotfix ${this.input.tag}` }, [
      { service: this.input.service, environment: 'production', signal: 'hotfixFreeze', payload: { trainId: this.trainId, tag: this.input.tag, by } },
    ]);
  }

  /** After a failed rollback: freeze the environment until a person unfreezes it. */
  async freezeForIncident(environment: EnvironmentName, reason: string): Promise<void> {
    const ledger = this.ledger(environment);
    await reliably(environment, () => ledger.signal(incidentFreezeSignal, { by: this.trainId, reason }));
  }

  /** Ends a hotfix's freeze if the train ends before (or without) releasing the production lock. */
  async endHotfixFreeze(): Promise<void> {
    const ledger = this.ledger('production');
    await reliably('production', () => ledger.signal(releaseLockSignal, { trainId: this.trainId, deployments: [] }));
  }

  /**
   * Runs `deploy` holding the environment's lock; `deploy` returns the deployments to record.
   * `onQueued` is told why the train waits when the ledger queues the request.
   */
  async withLock(
    environment: EnvironmentName,
    bypassFreeze: boolean,
    onQueued: (why: string) => void,
    deploy: (grant: LockGrant) => Promise<DeploymentRecord[]>,
  ): Promise<void> {
    const records: DeploymentRecord[] = [];
    try {
      this.waiting = { environment, bypassFreeze };
      await this.requestLock(environment, bypassFreeze);
      // The ledger's answer (granted, or queued and why) may already be here.
      const why = this.queuedWhy[environment];
      if (why !== undefined && this.grants[environment] === undefined) onQueued(why);
      this.onQueued = onQueued;
      await condition(() => this.grants[environment] !== undefined);
      this.onQueued = undefined;
      this.waiting = undefined;
      delete this.queuedWhy[environment];
      records.push(...(await deploy(this.grants[environment] ?? {})));
    } finally {
      const ledger = this.ledger(environment);
      await reliably(environment, () => ledger.signal(releaseLockSignal, { trainId: this.trainId, deployments: records }));
      delete this.grants[environment];
    }
  }

  private ledger(environment: EnvironmentName) {
    return getExternalWorkflowHandle(ledgerId(this.input.service, environment));
  }
}

/** Signals that must go out even while the train is being cancelled; a missing ledger is only logged. */
async function reliably(environment: EnvironmentName, send: () => Promise<void>): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    try {
      await send();
    } catch (err) {
      log.warn('could not reach the ledger', { environment, error: String(err) });
    }
  });
}
