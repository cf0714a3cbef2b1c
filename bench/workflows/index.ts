/**
 * Baselines: bare Temporal doing what a train does on its reaction paths, without Trainyard's code.
 * This is the entry point of the bench's own workflow bundle (the product's bundle stays untouched).
 *
 * - `bareReaction`: waits for an update, then starts an activity. The baseline.
 * - `hopTrain` + `hopLedger`: the same messages and activities as a train and its environment ledger
 *   on the promote and unfreeze paths (local activity, signal-with-start through an activity, a
 *   signal back, a schedule lookup), so the ratio to them is the cost of Trainyard's own code.
 * - `stub`: a running workflow that accepts any signal; stands in for trains in ledger runs.
 */
import { condition, getExternalWorkflowHandle, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BaselineActivities } from '../baseline-activities.js';
import { configureSignal, endSignal, freezeChangedSignal, goUpdate, grantedSignal, requestSignal } from './messages.js';

const activities = proxyActivities<BaselineActivities>({ startToCloseTimeout: '1 minute' });
const local = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });

function validate(req: { by: string; reason: string }): void {
  if (!req.by || !req.reason) throw new Error('by and reason are required');
}

export async function bareReaction(): Promise<void> {
  let go = false;
  setHandler(goUpdate, () => {
    go = true;
    return 'ok';
  }, { validator: validate });
  await condition(() => go);
  await activities.target();
}

/**
 * The train's role. `promote`: on `go`, notify (local activity), ask the partner for the lock
 * through an activity, wait for the grant, then start the target. `freeze`: ask for the lock at
 * once; the partner grants it when it is unfrozen.
 */
export async function hopTrain(input: { mode: 'promote' | 'freeze'; partner: string; taskQueue: string }): Promise<void> {
  let go = input.mode === 'freeze';
  let granted = false;
  setHandler(goUpdate, () => {
    go = true;
    return 'ok';
  }, { validator: validate });
  setHandler(grantedSignal, () => {
    granted = true;
  });
  setHandler(freezeChangedSignal, () => undefined);
  await condition(() => go);
  if (input.mode === 'promote') await local.notify();
  await activities.requestLock({ partner: input.partner, from: workflowInfo().workflowId, taskQueue: input.taskQueue, frozen: false });
  await condition(() => granted);
  await activities.target();
}

/** The ledger's role: grants requests in order unless frozen; `go` unfreezes (and notifies, as the ledger does). */
export async function hopLedger(input: { frozen: boolean }): Promise<void> {
  let frozen = input.frozen;
  let toldFrozen = frozen;
  let changed = false;
  let ended = false;
  const queue: string[] = [];
  const subscribers: string[] = [];
  setHandler(requestSignal, (from) => {
    queue.push(from);
    if (!subscribers.includes(from)) subscribers.push(from);
    changed = true;
  });
  setHandler(configureSignal, () => undefined);
  setHandler(endSignal, () => {
    ended = true;
    changed = true;
  });
  setHandler(
    goUpdate,
    async () => {
      frozen = false;
      changed = true;
      await activities.notify();
      return 'ok';
    },
    { validator: validate },
  );
  while (!ended) {
    await condition(() => changed);
    changed = false;
    if (frozen !== toldFrozen) {
      toldFrozen = frozen;
      await Promise.all(subscribers.map((s) => getExternalWorkflowHandle(s).signal(freezeChangedSignal, frozen)));
      await activities.lookUpSchedule();
    }
    while (!frozen && queue.length > 0) await getExternalWorkflowHandle(queue.shift()!).signal(grantedSignal);
  }
}

export async function stub(): Promise<void> {
  let ended = false;
  setHandler(endSignal, () => {
    ended = true;
  });
  await condition(() => ended);
}
