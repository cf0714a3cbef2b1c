/**
 * Scale on one worker: N trains (one per service, as services have one active train) waiting at the
 * gate, then all promoted at once. Measures the worker process's memory while they are held, how
 * long until every train's production deploy has started and every train has released, and
 * workflow tasks per second. Then the same with N bare baseline workflows, for a ratio.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { promoteUpdate } from '../workflows/messages.js';
import { BASELINE_QUEUE, TRAIN_QUEUE } from './events.js';
import type { Stack } from './stack.js';
import { round } from './stats.js';
import { DAY, pool, reachAll, sleep, startProductionLedger, startTrain } from './trains.js';
import { goUpdate } from './workflows/messages.js';

const REQUEST = { by: 'bench', reason: 'benchmark' };

export interface ScaleResult {
  trains: number;
  /** All N started → all at the gate. */
  toGateSeconds: number;
  /** First promote sent → every production deploy started. */
  allInProductionSeconds: number;
  /** First promote sent → every train released. */
  allReleasedSeconds: number;
  rss: { idleMiB: number; heldMiB: number; peakMiB: number; heldPerTrainKiB: number };
  workflowTasksPerSecond: { toGate: number; promotion: number };
  workflowTasks: { toGate: number; promotion: number };
  cache: { maxCachedWorkflows: number; cachedWhileHeld: number; runningWorkflows: number };
  /** N baseline reactions at once: time until every target activity started (cf. allInProductionSeconds). */
  baseline: { bare: BaselineScale; hops: BaselineScale };
}

export interface BaselineScale {
  workflows: number;
  allReactedSeconds: number;
  workflowTasksPerSecond: number;
}

/** Samples the worker's RSS every half second while `body` runs; returns body's result and the max. */
async function sampled<T>(stack: Stack, body: () => Promise<T>): Promise<{ value: T; maxMiB: number }> {
  let maxMiB = stack.worker.memory().rssMiB;
  const timer = setInterval(() => (maxMiB = Math.max(maxMiB, stack.worker.memory().rssMiB)), 500);
  try {
    return { value: await body(), maxMiB };
  } finally {
    clearInterval(timer);
  }
}

async function tasks(stack: Stack, queue: string): Promise<number> {
  return (await stack.worker.workflowTasks())[queue] ?? 0;
}

/**
 * Sends an update again when the server gave up waiting for the worker to accept it (a worker busy
 * with a thousand trains can take longer than the server's deadline). The same update id makes the
 * retry the same update, never a second promote.
 */
async function reliably<T>(send: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if (attempt >= attempts || !/deadline/i.test(String((err as Error).message))) throw err;
    }
  }
}

/** The moment the last of `keys` happened. */
async function lastOf(stack: Stack, keys: string[], timeoutMs: number): Promise<number> {
  const times = await Promise.all(keys.map((k) => stack.worker.hub.wait(k, timeoutMs)));
  return Math.max(...times);
}

async function holdAndPromote(stack: Stack, n: number, log: (line: string) => void) {
  const { client } = stack;
  const services = [...Array(n).keys()].map((i) => `sc${i}`);
  const tasks0 = await tasks(stack, TRAIN_QUEUE);
  const started = Date.now();
  const trains: WorkflowHandle[] = await pool(services, 50, async (s) => {
    await startProductionLedger(client, s);
    return startTrain(client, s, Date.now() + 2 * DAY);
  });
  await reachAll(client, 'awaiting-release', n, 120_000 + n * 600);
  const atGate = Date.now();
  const tasks1 = await tasks(stack, TRAIN_QUEUE);
  log(`  scale: ${n} trains at the gate after ${round((atGate - started) / 1000)} s; holding`);
  await sleep(5_000);
  const samples = [];
  for (let i = 0; i < 4; i++, await sleep(500)) samples.push(stack.worker.memory().rssMiB);
  const held = { rssMiB: Math.max(...samples), cached: stack.worker.cachedWorkflows };
  const promoted = Date.now();
  await pool(trains, 100, (t) => reliably(() => t.executeUpdate(promoteUpdate, { args: [REQUEST], updateId: `bench-promote-${t.workflowId}` })));
  const timeout = 120_000 + n * 600;
  const inProduction = await lastOf(stack, trains.map((t) => `deploy:production:${t.workflowId}`), timeout);
  const released = await lastOf(stack, trains.map((t) => `notify:released:${t.workflowId}`), timeout);
  await sleep(1_000);
  const tasks2 = await tasks(stack, TRAIN_QUEUE);
  return { started, atGate, promoted, inProduction, released, held, tasks: [tasks0, tasks1, tasks2] as const };
}

/**
 * N baseline reactions at once. `bare`: N workflows each waiting for an update. `hops`: N pairs doing
 * the train's and its ledger's messages and activities on the promote path.
 */
async function baseline(stack: Stack, n: number, kind: 'bare' | 'hops'): Promise<BaselineScale> {
  const { client } = stack;
  const ids = [...Array(n).keys()].map((i) => `scale-${kind}-${i}`);
  await pool(ids, 50, async (id) => {
    if (kind === 'bare') return client.workflow.start('bareReaction', { workflowId: id, taskQueue: BASELINE_QUEUE });
    const partner = `${id}-ledger`;
    await client.workflow.start('hopLedger', { workflowId: partner, taskQueue: BASELINE_QUEUE, args: [{ frozen: false }] });
    return client.workflow.start('hopTrain', { workflowId: id, taskQueue: BASELINE_QUEUE, args: [{ mode: 'promote', partner, taskQueue: BASELINE_QUEUE }] });
  });
  await sleep(3_000);
  const before = await tasks(stack, BASELINE_QUEUE);
  const t0 = Date.now();
  await pool(ids, 100, (id) => reliably(() => client.workflow.getHandle(id).executeUpdate(goUpdate, { args: [REQUEST], updateId: `bench-go-${id}` })));
  const last = await lastOf(stack, ids.map((id) => `target:${id}`), 120_000 + n * 600);
  await sleep(1_000);
  const after = await tasks(stack, BASELINE_QUEUE);
  const seconds = (last - t0) / 1000;
  return { workflows: kind === 'bare' ? n : 2 * n, allReactedSeconds: seconds, workflowTasksPerSecond: (after - before) / seconds };
}

export async function measureScale(stack: Stack, n: number, log: (line: string) => void): Promise<ScaleResult> {
  await sleep(2_000);
  const idleMiB = stack.worker.memory().rssMiB;
  const { value: r, maxMiB } = await sampled(stack, () => holdAndPromote(stack, n, log));
  const [t0, t1, t2] = r.tasks;
  const promotionSeconds = (r.released - r.promoted) / 1000;
  log(`  scale: all released ${round(promotionSeconds)} s after the first promote; baseline next`);
  return {
    trains: n,
    toGateSeconds: (r.atGate - r.started) / 1000,
    allInProductionSeconds: (r.inProduction - r.promoted) / 1000,
    allReleasedSeconds: promotionSeconds,
    rss: {
      idleMiB,
      heldMiB: r.held.rssMiB,
      peakMiB: Math.max(maxMiB, stack.worker.memory().peakMiB),
      heldPerTrainKiB: ((r.held.rssMiB - idleMiB) * 1024) / n,
    },
    workflowTasks: { toGate: t1 - t0, promotion: t2 - t1 },
    workflowTasksPerSecond: { toGate: (t1 - t0) / ((r.atGate - r.started) / 1000), promotion: (t2 - t1) / promotionSeconds },
    cache: { maxCachedWorkflows: stack.worker.maxCachedWorkflows, cachedWhileHeld: r.held.cached, runningWorkflows: 3 * n },
    baseline: { bare: await baseline(stack, n, 'bare'), hops: await baseline(stack, n, 'hops') },
  };
}
