/**
 * Reaction time, side by side: how long from an operator's message to the production deploy
 * starting, for Trainyard and for two baselines, trial by trial in rotating order so that noise
 * from the shared machine falls on all three alike.
 *
 * - promote: `promote` sent to a train waiting at the gate → its production deploy activity starts.
 * - unfreeze: `unfreeze` sent to a frozen production ledger → the deferred train's deploy starts.
 * Baselines: `bare` (an update, then an activity) and `hops` (the same messages and activities as
 * the train and its ledger, without Trainyard's code). t0 is taken just before the update is sent;
 * the end is when the activity started in the worker.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ledgerId, trainId } from '../domain/ids.js';
import { freezeUpdate, unfreezeUpdate } from '../workflows/ledger-messages.js';
import { promoteUpdate } from '../workflows/messages.js';
import { BASELINE_QUEUE } from './events.js';
import { median, summarise, type Summary } from './stats.js';
import type { Stack } from './stack.js';
import { DAY, pool, reachAll, sleep, startProductionLedger, startTrain, tagOf } from './trains.js';
import { goUpdate } from './workflows/messages.js';

type Kind = 'trainyard' | 'bare' | 'hops';
const KINDS: Kind[] = ['trainyard', 'bare', 'hops'];
const WARM_UP = 3;
const REQUEST = { by: 'bench', reason: 'benchmark' };

/** The reaction split at an intermediate activity (p50s): where the time goes. */
export interface Legs {
  step: string;
  trainyard: [number, number];
  hops: [number, number];
}

export interface PathResult {
  trials: number;
  legs: Legs;
  trainyard: Summary;
  bare: Summary;
  hops: Summary;
  /** Trainyard ÷ bare (the target), and Trainyard ÷ hops (what Trainyard's own code costs). */
  ratio: { p50: number; p99: number };
  hopsRatio: { p50: number; p99: number };
}

export interface ReactionResult {
  promote: PathResult;
  unfreeze: PathResult;
}

/**
 * One trial of each kind: starts the reaction, returns the key of the activity start that ends it,
 * of the intermediate step that splits it, and of what to wait for before the next trial.
 */
type Trial = Record<Kind, () => Promise<{ key: string; split?: string; after?: string }>>;
type Samples = Record<Kind, number[]> & { splits: Record<Kind, number[]> };

async function startBaselines(client: Client, path: 'p' | 'f', n: number): Promise<void> {
  await pool([...Array(n).keys()], 20, async (i) => {
    await client.workflow.start('bareReaction', { workflowId: `bare-${path}-${i}`, taskQueue: BASELINE_QUEUE });
    const partner = `hopl-${path}-${i}`;
    await client.workflow.start('hopLedger', { workflowId: partner, taskQueue: BASELINE_QUEUE, args: [{ frozen: path === 'f' }] });
    const mode = path === 'p' ? 'promote' : 'freeze';
    await client.workflow.start('hopTrain', { workflowId: `hopt-${path}-${i}`, taskQueue: BASELINE_QUEUE, args: [{ mode, partner, taskQueue: BASELINE_QUEUE }] });
  });
}

async function runTrials(stack: Stack, n: number, trialOf: (i: number) => Trial): Promise<Samples> {
  const samples: Samples = { trainyard: [], bare: [], hops: [], splits: { trainyard: [], bare: [], hops: [] } };
  for (let i = 0; i < n; i++) {
    const trial = trialOf(i);
    for (let k = 0; k < KINDS.length; k++) {
      const kind = KINDS[(i + k) % KINDS.length] as Kind;
      const t0 = Date.now();
      const { key, split, after } = await trial[kind]();
      const at = await stack.worker.hub.wait(key, 30_000);
      const splitAt = split ? stack.worker.hub.at(split) : undefined;
      if (i >= WARM_UP) samples[kind].push(at - t0);
      if (i >= WARM_UP && splitAt !== undefined && splitAt >= t0) samples.splits[kind].push(splitAt - t0);
      // Let the reaction finish (the train releases its lock) before the next one starts.
      if (after) await stack.worker.hub.wait(after, 30_000);
      await sleep(20);
    }
  }
  return samples;
}

function result(samples: Samples, step: string): PathResult {
  const [trainyard, bare, hops] = KINDS.map((k) => summarise(samples[k])) as [Summary, Summary, Summary];
  const legs = (kind: Kind, total: number): [number, number] => {
    const first = median(samples.splits[kind]);
    return [first, total - first];
  };
  return {
    trials: trainyard.n,
    legs: { step, trainyard: legs('trainyard', trainyard.p50), hops: legs('hops', hops.p50) },
    trainyard,
    bare,
    hops,
    ratio: { p50: trainyard.p50 / bare.p50, p99: trainyard.p99 / bare.p99 },
    hopsRatio: { p50: trainyard.p50 / hops.p50, p99: trainyard.p99 / hops.p99 },
  };
}

async function promotePath(stack: Stack, trials: number, log: (line: string) => void): Promise<PathResult> {
  const { client } = stack;
  const n = trials + WARM_UP;
  const services = [...Array(n).keys()].map((i) => `rp${i}`);
  await startBaselines(client, 'p', n);
  const trains = await pool(services, 20, async (s) => {
    await startProductionLedger(client, s);
    return startTrain(client, s, Date.now() + 2 * DAY);
  });
  await reachAll(client, 'awaiting-release', n, 60_000 + n * 1_000);
  log(`  promote: ${n} trains at the gate; measuring`);
  const samples = await runTrials(stack, n, (i) => ({
    trainyard: async () => {
      // All trains were seen at the gate (reachAll): nothing is awaited between t0 and the update.
      const train = trains[i] as WorkflowHandle;
      await train.executeUpdate(promoteUpdate, { args: [REQUEST] });
      return { key: `deploy:production:${train.workflowId}`, split: `request:${train.workflowId}`, after: `notify:released:${train.workflowId}` };
    },
    bare: async () => viaUpdate(client, `bare-p-${i}`, `bare-p-${i}`),
    hops: async () => ({ ...(await viaUpdate(client, `hopt-p-${i}`, `hopt-p-${i}`)), split: `request:hopt-p-${i}` }),
  }));
  return result(samples, 'the production lock is requested');
}

async function viaUpdate(client: Client, target: string, reacting: string): Promise<{ key: string }> {
  await client.workflow.getHandle(target).executeUpdate(goUpdate, { args: [REQUEST] });
  return { key: `target:${reacting}` };
}

async function unfreezePath(stack: Stack, trials: number, log: (line: string) => void): Promise<PathResult> {
  const { client } = stack;
  const n = trials + WARM_UP;
  const services = [...Array(n).keys()].map((i) => `rf${i}`);
  await startBaselines(client, 'f', n);
  await pool(services, 20, async (s) => {
    const ledger = await startProductionLedger(client, s);
    await ledger.executeUpdate(freezeUpdate, { args: [{ by: 'bench', reason: 'benchmark freeze' }] });
    // Due at once: the train passes its gate and waits for the frozen production lock.
    await startTrain(client, s, Date.now());
  });
  await reachAll(client, 'awaiting-lock', n, 60_000 + n * 1_000);
  log(`  unfreeze: ${n} trains deferred by a freeze; measuring`);
  const samples = await runTrials(stack, n, (i) => ({
    trainyard: async () => {
      const service = services[i] as string;
      const train = trainId(service, tagOf(service));
      const ledger = ledgerId(service, 'production');
      await client.workflow.getHandle(ledger).executeUpdate(unfreezeUpdate, { args: [REQUEST] });
      return { key: `deploy:production:${train}`, split: `schedule:${ledger}`, after: `notify:released:${train}` };
    },
    bare: async () => viaUpdate(client, `bare-f-${i}`, `bare-f-${i}`),
    hops: async () => ({ ...(await viaUpdate(client, `hopl-f-${i}`, `hopt-f-${i}`)), split: `schedule:hopl-f-${i}` }),
  }));
  return result(samples, "the ledger's cut-schedule lookup starts");
}

export async function measureReaction(stack: Stack, trials: number, log: (line: string) => void): Promise<ReactionResult> {
  const promote = await promotePath(stack, trials, log);
  const unfreeze = await unfreezePath(stack, trials, log);
  return { promote, unfreeze };
}
