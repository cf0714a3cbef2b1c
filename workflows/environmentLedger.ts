/**
 * The environment ledger (`env/<service>/<environment>`): grants the deploy lock first come first
 * served, holds the freeze, remembers deployed versions. Long-lived: continues-as-new well before
 * Temporal's suggested 4,096 events, carrying its plain-JSON state.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  activeFreeze,
  configure,
  describeFreeze,
  enqueue,
  freezeUntilProblem,
  freezeView,
  grant,
  hotfixFreeze,
  initialLedger,
  ledgerRightsProblem,
  manualFreeze,
  nextFreezeChange,
  nextGrant,
  release,
  rollbackTarget,
  stableVersion,
  waitReason,
  type LedgerConfig,
  type LedgerState,
} from '../domain/ledger.js';
import { requestProblem, type EnvironmentName } from '../domain/train.js';
import {
  freezeChangedSignal,
  freezeUpdate,
  configureSignal,
  hotfixFreezeSignal,
  incidentFreezeSignal,
  ledgerQuery,
  lockGrantedSignal,
  releaseLockSignal,
  requestLockSignal,
  subscribeSignal,
  unfreezeUpdate,
  lockQueuedSignal,
  reloadConfigSignal,
  rollbackUpdate,
  type FreezeRequest,
} from './ledger-messages.js';
import { forge, handlerForge, handlerNotifier } from './activity-options.js';
import { handleServiceActions } from './ledger-actions.js';
import { rejectIf, rejected } from './rejections.js';

export interface LedgerInput {
  service: string;
  environment: EnvironmentName;
  /** Carried across continue-as-new. */
  state?: LedgerState;
  /**
   * The service's config, from the worker that creates the ledger (a train's signal-with-start);
   * later ones come with the `configure` signal. Without it the ledger reads it from the worker
   * when it starts, and refuses operator actions until it has.
   */
  config?: LedgerConfig;
  /** Continue-as-new after this many history events (tests set it low). */
  maxHistoryEvents?: number;
  /** How often to check that the lock holder still runs (tests set it low). */
  holderCheckMs?: number;
}

const DEFAULT_MAX_HISTORY_EVENTS = 2_000;
/**
 * A train that is terminated (no code runs) cannot give its lock back; the ledger looks at a holder
 * this often and takes the lock back from one that has ended. Hourly: a few events an hour at most.
 */
const DEFAULT_HOLDER_CHECK_MS = 3_600_000;
/** Trains waiting to be told about freezes; far more than a service has active at once. */
const MAX_SUBSCRIBERS = 200;

function parseUntil(until: FreezeRequest['until'], now: number): number | undefined {
  if (until === undefined) return undefined;
  const at = typeof until === 'number' ? until : Date.parse(until);
  if (!Number.isFinite(at)) throw rejected(`"until" must be an ISO time or epoch milliseconds, got ${JSON.stringify(until).slice(0, 80)}`);
  if (at <= now) throw rejected('"until" is in the past');
  return at;
}

export async function environmentLedger(input: LedgerInput): Promise<void> {
  const state = input.state ?? initialLedger(input.service, input.environment);
  if (!input.state && input.config) configure(state, input.config);
  let changed = true;
  /** Someone asked the ledger to read its config again (`reloadConfig`). */
  let reloadRequested = false;
  /** The freeze view trains were last told; a different one is broadcast. */
  let lastFreeze = '';
  const touch = () => (changed = true);

  setHandler(ledgerQuery, () => ({ ...state, frozen: freezeView(state, Date.now()) }));
  setHandler(requestLockSignal, (req) => {
    enqueue(state, req);
    touch();
  });
  setHandler(releaseLockSignal, ({ trainId, deployments }) => {
    release(state, trainId, deployments);
    if (state.freeze?.ownerTrainId === trainId) state.freeze = undefined;
    touch();
  });
  setHandler(hotfixFreezeSignal, ({ trainId, tag, by }) => {
    hotfixFreeze(state, trainId, tag, by, Date.now());
    touch();
  });
  setHandler(configureSignal, (config) => {
    configure(state, config);
    touch();
  });
  setHandler(reloadConfigSignal, () => {
    reloadRequested = true;
    touch();
  });
  setHandler(incidentFreezeSignal, ({ by, reason }) => {
    // Replaces any other freeze: nothing may deploy until a person has looked.
    state.freeze = { by, reason, at: Date.now() };
    touch();
  });
  setHandler(subscribeSignal, ({ trainId, operators }) => {
    // Ended trains are pruned when a freeze change cannot reach them; the cap bounds the rest.
    if (!state.subscribers.includes(trainId)) state.subscribers.push(trainId);
    if (state.subscribers.length > MAX_SUBSCRIBERS) state.subscribers.splice(0, state.subscribers.length - MAX_SUBSCRIBERS);
    if (operators) state.operators = operators;
    void tellFreeze(trainId);
  });
  setHandler(
    freezeUpdate,
    async (req) => {
      const now = Date.now();
      state.freeze = { by: req.by, reason: req.reason, at: now };
      const until = parseUntil(req.until, now);
      if (until !== undefined) state.freeze.until = until;
      touch();
      await tell('frozen', `${state.service} ${state.environment} ${describeFreeze(freezeView(state, now), state.timeZone)}`);
      return freezeView(state, now);
    },
    {
      validator: (req) => {
        rejectIf(requestProblem(req, { until: 'string|number' }) ?? ledgerRightsProblem(state, req.by, 'freeze'));
        const now = Date.now();
        const until = parseUntil(req.until, now);
        // In the validator only: the handler replays what was accepted before this rule.
        if (until !== undefined) rejectIf(freezeUntilProblem(until, now));
      },
    },
  );
  setHandler(
    unfreezeUpdate,
    async (req) => {
      state.freeze = undefined;
      touch();
      await tell('unfrozen', `${state.service} ${state.environment} unfrozen by ${req.by}: ${req.reason}`);
      return freezeView(state, Date.now());
    },
    {
      validator: (req) => {
        rejectIf(requestProblem(req) ?? ledgerRightsProblem(state, req.by, 'freeze'));
        const now = Date.now();
        if (!manualFreeze(state, now)) {
          const window = activeFreeze(state, now);
          if (window) throw rejected(`${state.service} ${state.environment} is in the config's freeze window "${window.reason}"; promote with override-freeze, or change the config`);
          throw rejected(`${state.service} ${state.environment} is not frozen`);
        }
      },
    },
  );

  setHandler(
    rollbackUpdate,
    async (req) => {
      const found = rollbackTarget(state, req.to);
      if ('problem' in found) throw rejected(found.problem);
      const { tag, commit } = found.target;
      const rollbackId = await handlerForge.startRollback({ service: state.service, environment: state.environment, tag, commit, by: req.by, reason: req.reason });
      return { rollbackId, tag };
    },
    {
      validator: (req) => {
        rejectIf(requestProblem(req, { to: 'string' }) ?? ledgerRightsProblem(state, req.by, 'rollback'));
        const found = rollbackTarget(state, req.to);
        if ('problem' in found) throw rejected(found.problem);
      },
    },
  );

  handleServiceActions(state, (text) => tell('operator-action', text));

  /** Tells people (the service's notifiers); a failed notification never blocks the ledger. */
  async function tell(event: 'frozen' | 'unfrozen' | 'operator-action', text: string): Promise<void> {
    try {
      await handlerNotifier.notify({ service: state.service, trainId: workflowInfo().workflowId, event, text });
    } catch (err) {
      log.warn('notification failed', { event, error: String(err) });
    }
  }

  /** Tells one train the freeze state; a train that is gone is dropped. */
  async function tellFreeze(trainId: string): Promise<void> {
    try {
      await getExternalWorkflowHandle(trainId).signal(freezeChangedSignal, { environment: state.environment, freeze: freezeView(state, Date.now()) });
    } catch {
      state.subscribers = state.subscribers.filter((s) => s !== trainId);
    }
  }

  /** Grants the lock to the next eligible request; a train that is gone gives it back at once. */
  async function grantNext(): Promise<boolean> {
    const req = nextGrant(state, Date.now());
    if (!req) return false;
    grant(state, req, Date.now());
    const stable = stableVersion(state, req.tag);
    try {
      await getExternalWorkflowHandle(req.trainId).signal(lockGrantedSignal, {
        environment: state.environment,
        ...(stable ? { stable: { tag: stable.tag, commit: stable.commit } } : {}),
      });
    } catch (err) {
      log.warn('lock holder is gone; releasing', { trainId: req.trainId, error: String(err) });
      release(state, req.trainId);
    }
    return true;
  }

  /** Tells each waiting train why it waits, once per change of reason. */
  async function tellQueued(): Promise<void> {
    const now = Date.now();
    for (const req of state.queue) {
      const why = waitReason(state, req, now);
      if (req.toldWhy === why) continue;
      req.toldWhy = why;
      try {
        await getExternalWorkflowHandle(req.trainId).signal(lockQueuedSignal, { environment: state.environment, why });
      } catch {
        release(state, req.trainId);
      }
    }
  }

  /** While production is frozen, the service's scheduled cuts wait too (the seed's "automation is paused"). */
  async function pauseSchedules(): Promise<void> {
    const view = freezeView(state, Date.now());
    try {
      await forge.pauseCutSchedule.executeWithOptions({ summary: view.frozen ? 'Pause the cut schedule for the freeze' : 'Unpause the cut schedule' }, [
        { service: state.service, frozen: view.frozen, why: view.frozen ? `${view.by}: ${view.reason}` : 'production is no longer frozen' },
      ]);
    } catch (err) {
      log.warn('could not update the cut schedule', { error: String(err) });
    }
  }

  /**
   * Reads the service's config (operators, freeze windows) from the worker: at the start of a ledger
   * nobody gave it to, and when asked to. A failure leaves the ledger as it was (one that never read
   * it keeps refusing operator actions) and is tried again at the next wake-up.
   */
  async function readConfig(): Promise<void> {
    reloadRequested = false;
    try {
      configure(state, await handlerForge.ledgerConfig.executeWithOptions({ summary: `Read the operators and freeze windows of ${state.service} from the config` }, [{ service: state.service }]));
    } catch (err) {
      log.warn('could not read the config; operator actions stay as they were', { error: String(err) });
    }
  }

  /** Takes the lock back from a holder that ended without giving it back (e.g. terminated). */
  async function checkHolder(): Promise<void> {
    const holder = state.holder;
    if (!holder || Date.now() - (holder.checkedAt ?? holder.grantedAt) < holderCheckMs) return;
    if (await forge.workflowRunning.executeWithOptions({ summary: `Is ${holder.trainId} still running?` }, [{ workflowId: holder.trainId }])) {
      holder.checkedAt = Date.now(); // look again after another interval
      return;
    }
    log.warn('lock holder ended without giving the lock back; taking it back', { trainId: holder.trainId });
    release(state, holder.trainId);
    changed = true;
  }

  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  const holderCheckMs = input.holderCheckMs ?? DEFAULT_HOLDER_CHECK_MS;
  for (;;) {
    const wakeAt = [nextFreezeChange(state, Date.now()), state.holder ? (state.holder.checkedAt ?? state.holder.grantedAt) + holderCheckMs : undefined].filter((t): t is number => t !== undefined);
    const next = wakeAt.length > 0 ? Math.min(...wakeAt) : undefined;
    await condition(() => changed, next !== undefined ? Math.max(1, next - Date.now()) : undefined);
    changed = false;
    // Added after ledgers were already running: a ledger created without the config knew no
    // operators, and let anyone act. Older ledgers replay without it.
    if ((reloadRequested || !state.configured) && patched('ledger-reads-config')) await readConfig();
    await checkHolder();
    if (state.freeze && !manualFreeze(state, Date.now())) state.freeze = undefined; // expired
    // Tell trains whenever what they see changed: a freeze set or lifted, a window started or ended.
    const view = JSON.stringify(freezeView(state, Date.now()));
    if (view !== lastFreeze) {
      lastFreeze = view;
      await Promise.all(state.subscribers.map((s) => tellFreeze(s)));
      if (state.environment === 'production') await pauseSchedules();
    }
    while (await grantNext()) {
      /* grant until the lock is held or nothing is eligible */
    }
    await tellQueued();
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > maxEvents) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof environmentLedger>({ ...input, state });
    }
  }
}
