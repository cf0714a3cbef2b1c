/**
 * History per train: events of every recorded path (test/histories), of live trains on each path,
 * of a deploy that polls many times (heartbeats write no events), and of an environment ledger
 * after many deployments (bounded by continue-as-new).
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ledgerSignaller } from '../activities/ledger.js';
import { ledgerId } from '../domain/ids.js';
import { ledgerQuery, releaseLockSignal, unfreezeUpdate, freezeUpdate } from '../workflows/ledger-messages.js';
import { abortUpdate, promoteUpdate, retryDeployUpdate } from '../workflows/messages.js';
import { BASELINE_QUEUE, TRAIN_QUEUE } from './events.js';
import type { Stack } from './stack.js';
import { BENCH_COMMIT, DAY, finalStage, pool, reach, sleep, startProductionLedger, startTrain } from './trains.js';
import { endSignal } from './workflows/messages.js';
import { trainResult } from '../client/train-result.js';

type Event = temporal.api.history.v1.IHistoryEvent;
const REQUEST = { by: 'bench', reason: 'benchmark' };

export interface HistoryCount {
  path: string;
  /** The workflow type (recorded histories hold other workflows' too). */
  workflow?: string;
  events: number;
  /** Without workflow-task bookkeeping, which varies with how messages batch. */
  eventsWithoutWorkflowTasks: number;
  outcome?: string;
}

export interface HistoryResult {
  recorded: HistoryCount[];
  live: HistoryCount[];
  polling: { polls: number; once: number; many: number };
  ledger: { deployments: number; runs: number; currentRunEvents: number; maxRunEvents: number; totalEvents: number; eventsPerDeployment: number; keptDeployments: number };
}

/** Works on live events (numeric types) and recorded proto JSON (string types) alike. */
type AnyEvent = {
  workflowTaskScheduledEventAttributes?: unknown;
  workflowTaskStartedEventAttributes?: unknown;
  workflowTaskCompletedEventAttributes?: unknown;
  workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string | null } | null } | null;
};

function isWorkflowTaskEvent(e: AnyEvent): boolean {
  return Boolean(e.workflowTaskScheduledEventAttributes || e.workflowTaskStartedEventAttributes || e.workflowTaskCompletedEventAttributes);
}

function countOf(path: string, events: AnyEvent[], outcome?: string): HistoryCount {
  return { path, events: events.length, eventsWithoutWorkflowTasks: events.filter((e) => !isWorkflowTaskEvent(e)).length, ...(outcome ? { outcome } : {}) };
}

/** The histories `npm run record-histories` recorded (proto JSON: event types are strings). */
export function recordedHistories(dir: string): HistoryCount[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const { history } = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { history: { events: AnyEvent[] } };
      const workflow = history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
      return { ...countOf(f.replace(/\.json$/, ''), history.events), ...(workflow ? { workflow } : {}) };
    });
}

/** One live path: a service (whose name carries the fakes' behaviour) and what an operator does. */
interface LivePath {
  path: string;
  service: string;
  releaseInMs: number;
  frozen?: boolean;
  drive?: (train: WorkflowHandle, client: Client) => Promise<void>;
}

function livePaths(polls: number): LivePath[] {
  const promote = async (t: WorkflowHandle) => {
    await reach(t, 'awaiting-release');
    await t.executeUpdate(promoteUpdate, { args: [REQUEST] });
  };
  return [
    // Its release time must still be ahead when it reaches the gate, so that the train waits for it.
    { path: 'happy path: released by its release time', service: 'h1', releaseInMs: 15_000 },
    { path: 'promoted at the gate by an operator', service: 'h2', releaseInMs: 2 * DAY, drive: promote },
    {
      path: 'E2E failed, promoted with a reason',
      service: 'h3_e2efail',
      releaseInMs: 0,
      drive: async (t) => {
        await reach(t, 'awaiting-decision');
        await t.executeUpdate(promoteUpdate, { args: [REQUEST] });
      },
    },
    { path: 'production smoke failed, rolled back', service: 'h4_smokefail', releaseInMs: 0 },
    { path: 'rollback failed, production frozen', service: 'h5_rollbackfail', releaseInMs: 0 },
    {
      path: 'deploy failed, retried by an operator',
      service: 'h6_deployfail',
      releaseInMs: 0,
      drive: async (t) => {
        await reach(t, 'awaiting-decision');
        await t.executeUpdate(retryDeployUpdate, { args: [REQUEST] });
      },
    },
    {
      path: 'aborted during the staging deploy',
      service: 'h7_hang',
      releaseInMs: 2 * DAY,
      drive: async (t) => {
        await reach(t, 'staging');
        await t.executeUpdate(abortUpdate, { args: [REQUEST] });
      },
    },
    {
      path: 'deferred by a production freeze, released when it ended',
      service: 'h8',
      releaseInMs: 0,
      frozen: true,
      drive: async (t, client) => {
        await reach(t, 'awaiting-lock');
        await client.workflow.getHandle(ledgerId('h8', 'production')).executeUpdate(unfreezeUpdate, { args: [REQUEST] });
      },
    },
    { path: 'deploys poll once (promoted)', service: 'h9_poll1', releaseInMs: 2 * DAY, drive: promote },
    { path: `deploys poll ${polls.toLocaleString('en')} times (promoted)`, service: `h10_poll${polls}`, releaseInMs: 2 * DAY, drive: promote },
  ];
}

async function runLivePath(client: Client, p: LivePath): Promise<HistoryCount> {
  const ledger = await startProductionLedger(client, p.service);
  if (p.frozen) await ledger.executeUpdate(freezeUpdate, { args: [{ by: 'bench', reason: 'benchmark freeze' }] });
  const train = await startTrain(client, p.service, Date.now() + p.releaseInMs);
  await p.drive?.(train, client);
  const status = await finalStage(train);
  await trainResult(train); // the workflow ends after its last notification
  const events = (await train.fetchHistory()).events ?? [];
  return countOf(p.path, events, status.stage);
}

export async function liveHistories(stack: Stack, polls: number): Promise<{ live: HistoryCount[]; polling: HistoryResult['polling'] }> {
  const paths = livePaths(polls);
  const live = await pool(paths, paths.length, (p) => runLivePath(stack.client, p));
  const once = live.find((l) => l.path.includes('poll once'));
  const many = live.find((l) => l.path.includes(`poll ${polls.toLocaleString('en')}`));
  return { live, polling: { polls, once: once?.eventsWithoutWorkflowTasks ?? NaN, many: many?.eventsWithoutWorkflowTasks ?? NaN } };
}

/**
 * Drives one production ledger through `deployments` deployments as trains do (subscribe, request
 * the lock, wait for the grant, give it back with the deployment), with stand-in trains (stubs
 * that accept the ledger's signals), then counts its runs and events.
 */
export async function ledgerHistory(stack: Stack, deployments: number, log: (line: string) => void): Promise<HistoryResult['ledger']> {
  const { client } = stack;
  const service = 'lg';
  const id = ledgerId(service, 'production');
  const stubs = [...Array(10).keys()].map((i) => `stub-${i}`);
  await Promise.all(stubs.map((s) => client.workflow.start('stub', { workflowId: s, taskQueue: BASELINE_QUEUE })));
  const signal = ledgerSignaller(client, TRAIN_QUEUE);
  const ledger = client.workflow.getHandle(id);
  for (let i = 0; i < deployments; i++) {
    const trainId = stubs[i % stubs.length] as string;
    const tag = `${service}/v${i + 1}`;
    await signal({ service, environment: 'production', signal: 'subscribe', payload: { trainId } });
    await signal({ service, environment: 'production', signal: 'requestLock', payload: { trainId, tag, requestedAt: Date.now(), bypassFreeze: false } });
    for (let tries = 0; (await ledger.query(ledgerQuery)).holder?.tag !== tag; tries++) {
      if (tries > 1_000) throw new Error(`the ledger did not grant the lock for ${tag}`);
      await sleep(5);
    }
    const record = { tag, commit: BENCH_COMMIT, trainId, at: Date.now(), outcome: 'verified' as const, by: 'bench' };
    await ledger.signal(releaseLockSignal, { trainId, deployments: [record] });
    if ((i + 1) % 200 === 0) log(`  ledger: ${i + 1} deployments`);
  }
  await sleep(1_000);
  const kept = (await ledger.query(ledgerQuery)).deployments.length;
  const runs: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = "${id}"` })) runs.push(w.runId);
  let totalEvents = 0;
  let maxRunEvents = 0;
  for (const runId of runs) {
    const events = ((await client.workflow.getHandle(id, runId).fetchHistory()).events as Event[] | undefined)?.length ?? 0;
    totalEvents += events;
    maxRunEvents = Math.max(maxRunEvents, events);
  }
  const currentRunEvents = ((await ledger.fetchHistory()).events ?? []).length;
  await Promise.all(stubs.map((s) => client.workflow.getHandle(s).signal(endSignal)));
  return { deployments, runs: runs.length, currentRunEvents, maxRunEvents, totalEvents, eventsPerDeployment: totalEvents / deployments, keptDeployments: kept };
}
