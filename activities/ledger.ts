/**
 * Messages from one workflow to another that workflows cannot send themselves. Reaching an
 * environment ledger from a train: signal-with-start, so the first train of a service
 * creates its ledgers and later ones find them. (Workflows cannot signal-with-start themselves.)
 */
import { ScheduleNotFoundError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { TrainyardError } from '../domain/errors.js';
import type { LedgerConfig } from '../domain/ledger.js';
import type { CutScheduleAction, CutScheduleOutcome } from '../domain/service-actions.js';
import type { StepPolicy } from '../domain/steps.js';
import type { LedgerInput } from '../workflows/environmentLedger.js';
import { configureSignal } from '../workflows/ledger-messages.js';
import { statusQuery, supersedeUpdate } from '../workflows/messages.js';
import type { ActiveTrain } from '../domain/train-slots.js';
import { isFinal } from '../domain/train.js';
import { cutScheduleId, ledgerId, rollbackId } from '../domain/ids.js';
import { ENVIRONMENT, SERVICE, TAG } from '../workflows/search-attributes.js';
import type { LedgerSignal, RollbackStart } from './types.js';

/**
 * Each message goes after a `configure` signal carrying the service's current config (rights,
 * freeze windows), so a config change reaches running ledgers with the next message.
 */
export function ledgerSignaller(client: Client, taskQueue: string, configOf: (service: string) => LedgerConfig = () => ({})) {
  return async function signalLedger({ service, environment, signal, payload }: LedgerSignal): Promise<void> {
    const config = configOf(service);
    const handle = await client.workflow.signalWithStart('environmentLedger', {
      workflowId: ledgerId(service, environment),
      taskQueue,
      args: [{ service, environment, config } satisfies LedgerInput],
      signal: configureSignal,
      signalArgs: [config],
      typedSearchAttributes: [{ key: SERVICE, value: service }],
      staticSummary: `Environment ledger of ${service} ${environment}: deploy lock, freeze, deployed versions`,
    });
    await handle.signal(signal, payload as never);
  };
}

/** Sends a train the `supersede` update; a refusal by its validator becomes REJECTED. */
export function trainSuperseder(client: Client) {
  return async function supersedeTrain({ trainId, by, reason, newTag }: { trainId: string; by: string; reason: string; newTag: string }): Promise<void> {
    try {
      await client.workflow.getHandle(trainId).executeUpdate(supersedeUpdate, { args: [{ by, reason, newTag }] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new TrainyardError('REJECTED', `${trainId} cannot be superseded: ${err.cause?.message ?? err.message}`, 'Nothing was tagged.');
      }
      if (err instanceof WorkflowNotFoundError) {
        const status = await client.workflow.getHandle(trainId).describe().then((d) => d.status.name, () => undefined);
        const why = status ? `${trainId} has already ended (${status.toLowerCase()})` : `there is no train ${trainId}`;
        throw new TrainyardError('REJECTED', `cannot supersede: ${why}`, 'Run `trainyard status` for the active trains.');
      }
      throw err;
    }
  };
}

export function workflowWatcher(client: Client) {
  return async function workflowRunning({ workflowId }: { workflowId: string }): Promise<boolean> {
    try {
      return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  };
}

const GRPC_UNIMPLEMENTED = 12;

function unimplemented(err: unknown): boolean {
  const e = err as { code?: number; cause?: { code?: number } };
  return e?.code === GRPC_UNIMPLEMENTED || e?.cause?.code === GRPC_UNIMPLEMENTED;
}

/**
 * A service's running trains and their release slots (from their status query). The visibility
 * store lists them, but it may lag a train started a moment ago, and the time-skipping test server
 * has none: the trains of `trainIds` (a cut passes those of the slot's existing tags) are looked at
 * too. A train that does not answer its query (its worker is stuck) is left out: it cannot deploy either.
 */
export function activeTrainFinder(client: Client) {
  return async function activeTrains({ service, trainIds }: { service: string; trainIds: string[] }): Promise<ActiveTrain[]> {
    const ids = new Set(trainIds);
    try {
      const query = `WorkflowType = "releaseTrain" AND ExecutionStatus = "Running" AND ${SERVICE.name} = "${service.replace(/["\\]/g, '')}"`;
      for await (const wf of client.workflow.list({ query })) ids.add(wf.workflowId);
    } catch (err) {
      if (!unimplemented(err)) throw err;
    }
    const trains: ActiveTrain[] = [];
    for (const id of ids) {
      const handle = client.workflow.getHandle(id);
      const running = await handle.describe().then((d) => d.status.name === 'RUNNING', (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      });
      if (!running) continue;
      const status = await handle.query(statusQuery).catch(() => undefined);
      if (!status || isFinal(status.stage)) continue;
      trains.push({ trainId: id, tag: status.tag, stage: status.stage, commit: status.commit, releaseAt: status.releaseAt });
    }
    return trains;
  };
}

/** Notes Trainyard writes on a schedule it paused; only those pauses are lifted by an unfreeze. */
export const FREEZE_NOTE_PREFIX = 'Paused by a freeze: ';

export function schedulePauser(client: Client) {
  return async function pauseCutSchedule({ service, frozen, why }: { service: string; frozen: boolean; why: string }): Promise<void> {
    const handle = client.schedule.getHandle(cutScheduleId(service));
    let state;
    try {
      state = (await handle.describe()).state;
    } catch (err) {
      // No such schedule, or a server without Schedules (the time-skipping test server): nothing to pause.
      if (err instanceof ScheduleNotFoundError || (err as { cause?: { code?: number } }).cause?.code === GRPC_UNIMPLEMENTED) return;
      throw err;
    }
    if (frozen && !state.paused) await handle.pause(`${FREEZE_NOTE_PREFIX}${why}`.slice(0, 500));
    if (!frozen && state.paused && state.note?.startsWith(FREEZE_NOTE_PREFIX)) await handle.unpause(`Unpaused: ${why}`.slice(0, 500));
  };
}

/**
 * An operator's pause, unpause or trigger of a service's cut schedule, sent by the production
 * ledger once its validator allowed it. A retried pause finds its own note and counts as done.
 */
export function cutScheduleController(client: Client) {
  return async function controlCutSchedule({ service, action, note }: { service: string; action: CutScheduleAction; note: string }): Promise<CutScheduleOutcome> {
    const id = cutScheduleId(service);
    const handle = client.schedule.getHandle(id);
    let state;
    try {
      state = (await handle.describe()).state;
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      throw new TrainyardError('UNKNOWN_SERVICE', `service "${service}" has no cut schedule`, 'Schedules come from `cut: { at: "HH:mm" }` in the config and are created when a worker starts; `trainyard schedules list` shows them.');
    }
    const text = note.slice(0, 500);
    if (action === 'trigger') {
      await handle.trigger();
      return { done: true, message: `triggered ${id}: a cut of ${service} starts now (trainyard status shows its train)` };
    }
    if (action === 'pause') {
      if (state.paused) return state.note === text ? { done: true, message: `paused ${id}` } : { done: false, message: `${id} is already paused: ${state.note ?? ''}` };
      await handle.pause(text);
      return { done: true, message: `paused ${id}` };
    }
    if (!state.paused) return { done: false, message: `${id} is not paused` };
    if (state.note?.startsWith(FREEZE_NOTE_PREFIX)) {
      return { done: false, message: `${id} is paused by a production freeze (${state.note}); unfreeze instead: trainyard unfreeze ${service} --reason "…"` };
    }
    await handle.unpause(text);
    return { done: true, message: `unpaused ${id}` };
  };
}

/**
 * Starts an environment's rollback workflow. The id names the target, and an existing run of it is
 * used rather than failed, so a retried activity (or a second operator) never starts two.
 */
export function rollbackStarter(client: Client, taskQueue: string, stepPolicy: (service: string) => StepPolicy = () => ({})) {
  return async function startRollback(req: RollbackStart): Promise<string> {
    const workflowId = rollbackId(req.service, req.environment, req.tag);
    await client.workflow.start('rollbackEnvironment', {
      workflowId,
      taskQueue,
      args: [{ ...req, ...stepPolicy(req.service) }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: SERVICE, value: req.service },
        { key: ENVIRONMENT, value: req.environment },
        { key: TAG, value: req.tag },
      ],
      staticSummary: `Roll ${req.service} ${req.environment} back to ${req.tag}`,
      staticDetails: `Requested by ${req.by}: ${req.reason}`,
    });
    return workflowId;
  };
}
