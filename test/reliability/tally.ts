/**
 * Counting side effects after a fault, from three independent witnesses:
 * - the fixture scripts' ledger (what the targets saw: attempts, completed deployments),
 * - the git hook's log (tags really written) and the release files,
 * - Temporal itself (activities scheduled in the train's history, records in the environment ledgers).
 *
 * Definitions (docs/RELIABILITY.md):
 * - an attempt is one run of a deploy or check command (a `start` line);
 * - a completed deployment is a run that changed the environment to the tag (`deployed`); a run
 *   that found the tag already there (`unchanged`) or failed changed nothing;
 * - a duplicate is any second completed deployment of one tag to one environment by one train, a tag
 *   created twice (or moved), a step scheduled twice in a train's history, or a deployment recorded
 *   twice in an environment ledger;
 * - data lost is a train that did not end as expected, or a deployment missing from an environment
 *   or from its ledger.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ledgerId } from '../../domain/ids.js';
import type { TrainStatus } from '../../domain/train.js';
import { ledgerQuery } from '../../workflows/ledger-messages.js';
import type { World } from './world.js';

export interface LedgerLine {
  event: 'start' | 'deployed' | 'unchanged' | 'failed' | 'passed';
  trainId: string;
  /** `staging`, `production`, `e2e` or `smoke-<environment>`. */
  target: string;
  tag: string;
  pid: number;
  /** The process that ran the command: the worker. */
  workerPid: number;
  at: number;
}

export function readLedger(world: World): LedgerLine[] {
  const file = join(world.dir, 'ledger.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [event, trainId, target, tag, pid, workerPid, at] = line.split(' ');
      return { event, trainId, target, tag, pid: Number(pid), workerPid: Number(workerPid), at: Number(at) } as LedgerLine;
    });
}

/** How often each tag ref was written, from the repository's reference-transaction hook. */
export function tagWrites(world: World, service: string): Map<string, number> {
  const file = join(world.repo(service), '.git', 'tag-events.log');
  const writes = new Map<string, number>();
  if (!existsSync(file)) return writes;
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [, ref = ''] = line.split(' ');
    const tag = ref.replace(/^refs\/tags\//, '');
    writes.set(tag, (writes.get(tag) ?? 0) + 1);
  }
  return writes;
}

/** Activities scheduled in a workflow's history, by `name` or `name environment tag` for deploys and checks. */
export async function scheduledSteps(client: Client, workflowId: string): Promise<Map<string, number>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const steps = new Map<string, number>();
  for (const event of history.events ?? []) {
    const attrs = event.activityTaskScheduledEventAttributes;
    if (!attrs?.activityType?.name) continue;
    const payload = attrs.input?.payloads?.[0];
    const arg = (payload ? defaultPayloadConverter.fromPayload(payload) : {}) as { environment?: string; tag?: string; check?: string };
    const name = attrs.activityType.name;
    const key = name === 'deploy' || name === 'runCheck' ? `${arg.check ?? name} ${arg.environment} ${arg.tag}` : name;
    steps.set(key, (steps.get(key) ?? 0) + 1);
  }
  return steps;
}

export interface DeployResult {
  environment: string;
  tag: string;
  /** The attempt that completed the step (1 = the first). */
  attempt: number;
  summary: string;
  alreadyRunning?: boolean;
}

/** The deploy steps a workflow's history completed: which attempt did, and what it answered. */
export async function deployResults(client: Client, workflowId: string): Promise<DeployResult[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, { environment: string; tag: string }>();
  const attempts = new Map<string, number>();
  const results: DeployResult[] = [];
  const payload = (p: { payloads?: unknown[] | null } | null | undefined) => {
    const first = p?.payloads?.[0] as Parameters<typeof defaultPayloadConverter.fromPayload>[0] | undefined;
    return first ? defaultPayloadConverter.fromPayload(first) : undefined;
  };
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    const s = event.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === 'deploy') scheduled.set(id, payload(s.input) as { environment: string; tag: string });
    const started = event.activityTaskStartedEventAttributes;
    if (started) attempts.set(String(started.scheduledEventId), started.attempt ?? 1);
    const done = event.activityTaskCompletedEventAttributes;
    const step = done ? scheduled.get(String(done.scheduledEventId)) : undefined;
    if (done && step) {
      const result = payload(done.result) as { summary: string; alreadyRunning?: boolean };
      results.push({ ...step, attempt: attempts.get(String(done.scheduledEventId)) ?? 1, ...result });
    }
  }
  return results;
}

export interface TrainTally {
  trainId: string;
  stage: string;
  /** It ended in the expected stage. */
  completed: boolean;
  attempts: Record<string, number>;
  /** Completed deployments by this train, per `environment tag`. */
  deployments: Record<string, number>;
  duplicates: string[];
  lost: string[];
}

const count = <T>(items: T[], key: (t: T) => string): Record<string, number> =>
  items.reduce<Record<string, number>>((acc, t) => ({ ...acc, [key(t)]: (acc[key(t)] ?? 0) + 1 }), {});

/**
 * Tallies one ended train that should have released `status.tag` (or rolled back to `rolledBackTo`).
 * Needs a running worker (the ledgers are queried).
 */
export async function tallyTrain(world: World, status: TrainStatus, expected: { stage: string; rolledBackTo?: string } = { stage: 'released' }): Promise<TrainTally> {
  const mine = readLedger(world).filter((l) => l.trainId === status.trainId);
  const deployments = count(mine.filter((l) => l.event === 'deployed'), (l) => `${l.target} ${l.tag}`);
  const attempts = count(mine.filter((l) => l.event === 'start'), (l) => l.target);
  const duplicates: string[] = [];
  const lost: string[] = [];
  if (status.stage !== expected.stage) lost.push(`ended ${status.stage}, expected ${expected.stage}: ${status.error ?? status.waitingFor ?? ''}`);

  const wanted: [string, string][] = [['staging', status.tag], ['production', status.tag]];
  if (expected.rolledBackTo) wanted.push(['production', expected.rolledBackTo]);
  for (const [env, tag] of wanted) {
    const n = deployments[`${env} ${tag}`] ?? 0;
    if (n === 0) lost.push(`${tag} never completed a deployment to ${env}`);
    if (n > 1) duplicates.push(`${tag} completed ${n} deployments to ${env}`);
  }
  for (const [env, tag] of [['staging', status.tag], ['production', expected.rolledBackTo ?? status.tag]] as const) {
    if (world.running(status.service, env) !== tag) lost.push(`${env} runs ${world.running(status.service, env)}, expected ${tag}`);
  }

  const tagCount = tagWrites(world, status.service).get(status.tag) ?? 0;
  if (tagCount !== 1) (tagCount === 0 ? lost : duplicates).push(`tag ${status.tag} written ${tagCount} times`);
  // Release notes are published once: one publishChangelog step (counted below), one release file.
  if (!status.changelog || !existsSync(fileURLToPath(status.changelog.url))) lost.push(`no release notes published for ${status.tag}`);

  // A step is scheduled once (its retries are attempts of that one activity), unless an operator
  // asked for it again; ledger signals and notifications from message handlers may repeat.
  const asked = (kind: string) => status.actions.filter((a) => a.kind === kind).length;
  for (const [step, n] of await scheduledSteps(world.client, status.trainId)) {
    const allowed = 1 + (step.startsWith('deploy ') ? asked('retryDeploy') : step.startsWith('e2e ') ? asked('rerunE2E') : 0);
    if (n > allowed && step !== 'notify' && step !== 'signalLedger') duplicates.push(`${step} scheduled ${n} times`);
  }
  for (const env of ['staging', 'production'] as const) {
    const ledger = await world.client.workflow.getHandle(ledgerId(status.service, env)).query(ledgerQuery);
    const records = ledger.deployments.filter((d) => d.trainId === status.trainId && d.tag === status.tag).length;
    if (records === 0) lost.push(`the ${env} ledger has no record of ${status.tag}`);
    if (records > 1) duplicates.push(`the ${env} ledger records ${status.tag} ${records} times`);
    if (ledger.holder?.trainId === status.trainId) lost.push(`${status.trainId} still holds the ${env} lock`);
  }
  return { trainId: status.trainId, stage: status.stage, completed: status.stage === expected.stage, attempts, deployments, duplicates, lost };
}

export interface FaultFigures {
  fault: string;
  runs: number;
  trains: number;
  completed: number;
  duplicates: number;
  lost: number;
}

/** Prints the figures docs/RELIABILITY.md reports, one line per fault. */
export function report(figures: FaultFigures, tallies: TrainTally[]): void {
  const problems = tallies.flatMap((t) => [...t.duplicates, ...t.lost].map((p) => `  ${t.trainId}: ${p}`));
  console.log(
    `[reliability] ${figures.fault}: runs ${figures.runs}, trains completed ${figures.completed}/${figures.trains}, duplicates ${figures.duplicates}, data lost ${figures.lost}` +
      (problems.length > 0 ? `\n${problems.join('\n')}` : ''),
  );
}

export function figures(fault: string, runs: number, tallies: TrainTally[]): FaultFigures {
  return {
    fault,
    runs,
    trains: tallies.length,
    completed: tallies.filter((t) => t.completed).length,
    duplicates: tallies.reduce((n, t) => n + t.duplicates.length, 0),
    lost: tallies.reduce((n, t) => n + t.lost.length, 0),
  };
}
