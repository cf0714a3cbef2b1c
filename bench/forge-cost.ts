/**
 * Forge cost: API calls a train makes on GitHub and GitLab (the loopback fakes of test/fakes), and
 * what a deploy costs while it waits on a pipeline.
 *
 * - Per train: a real cut and train on a fresh dev server with the product's real activities and
 *   forge driver (deploys by command, so only forge calls are counted), from `trainyard start` to
 *   released, with 500 commits since the version production runs (the changelog's limit).
 * - Waiting: the product's pipeline deployer follows a run that stays in progress; calls per poll,
 *   scaled to an hour at the default 15 s poll interval.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { PipelineDeployer, type PipelineDriverConfig } from '../activities/deploy/pipeline.js';
import type { Forge } from '../activities/forge/forge.js';
import { buildForge, createDrivers } from '../activities/registry.js';
import { parseConfig, type TrainyardConfig } from '../domain/config.js';
import { cutId, ledgerId } from '../domain/ids.js';
import { initialLedger } from '../domain/ledger.js';
import type { CutResult } from '../workflows/cutRelease.js';
import type { LedgerInput } from '../workflows/environmentLedger.js';
import { promoteUpdate } from '../workflows/messages.js';
import { startFakeGitHub } from '../test/fakes/github.js';
import { startFakeGitLab } from '../test/fakes/gitlab.js';
import { prebuiltBundlePath } from '../workers/bundle.js';
import { WORKER_TUNING, installQuietRuntime } from '../workers/worker.js';
import { startServer, type DbKind } from './stack.js';
import { reach, sleep, finalStage } from './trains.js';

const SERVICE = 'api';
const QUEUE = 'bench-forge';
const TOKEN_ENV = 'BENCH_FORGE_TOKEN';
const CHANGELOG_COMMITS = 500;
const DEFAULT_POLL_SECONDS = 15;

export interface ForgeFigures {
  /** Requests to the forge API in one train, cut to released. */
  callsPerTrain: number;
  /** GitHub only: those that counted against the rate limit (304s do not). */
  rateLimitedPerTrain?: number;
  changelogCommits: number;
  /** Requests to start a pipeline deploy and see it end, without the waiting polls. */
  pipelineDeployCalls: number;
  callsPerPoll: number;
  /** At the default poll interval (15 s): 240 polls an hour. */
  callsPerHourWaiting: number;
  rateLimitedPerHourWaiting?: number;
}

/** One fake forge, seen the same way whichever it is. */
interface FakeForge {
  name: 'github' | 'gitlab';
  token: string;
  config: object;
  pipeline: object;
  commit(message: string): Promise<string>;
  requests(): number;
  rateLimited?(): number;
  newestRun(): string | undefined;
  finishRun(id: string): Promise<void>;
  close(): Promise<void>;
}

async function fakeGitHub(): Promise<FakeForge> {
  const fake = await startFakeGitHub();
  return {
    name: 'github',
    token: fake.token,
    config: { kind: 'github', repository: fake.repository, apiUrl: fake.url, tokenEnv: TOKEN_ENV },
    pipeline: { kind: 'github-actions', workflow: 'deploy.yml' },
    commit: async (m) => fake.commit(fake.defaultBranch, m, { [`${m}.txt`]: m }),
    requests: () => fake.http.log.length,
    rateLimited: () => fake.counters.counted,
    newestRun: () => [...fake.state.runs.keys()].sort((a, b) => b - a).map(String)[0],
    finishRun: async (id) => fake.finishRun(id, 'success'),
    close: () => fake.close(),
  };
}

async function fakeGitLab(): Promise<FakeForge> {
  const fake = await startFakeGitLab();
  return {
    name: 'gitlab',
    token: fake.token,
    config: { kind: 'gitlab', project: fake.projectPath, url: fake.url, tokenEnv: TOKEN_ENV },
    pipeline: { kind: 'gitlab-pipeline' },
    commit: (m) => fake.commit('main', m, { [`${m}.txt`]: m }),
    requests: () => fake.http.log.length,
    newestRun: () => fake.state.pipelines.map((p) => String(p.id)).at(-1),
    finishRun: (id) => fake.finishPipeline(id, 'success'),
    close: () => fake.close(),
  };
}

/** The service's config, validated (and defaulted) like a config file; deploys by `production`. */
function configFor(fake: FakeForge, production: object = { kind: 'command', command: [process.execPath, '-e', '0'] }): TrainyardConfig {
  const staging = { kind: 'command', command: [process.execPath, '-e', '0'] };
  const parsed = parseConfig({
    temporal: { taskQueue: QUEUE },
    services: { [SERVICE]: { forge: fake.config, tagFormat: 'api/v{yyyy}.{MM}.{dd}.{n}', environments: { staging: { deploy: staging }, production: { deploy: production } } } },
  });
  if (!parsed.ok) throw new Error(`bench forge config: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return parsed.config;
}

function pipelineConfigFor(fake: FakeForge): PipelineDriverConfig {
  const deploy = configFor(fake, fake.pipeline).services[SERVICE]?.environments.production.deploy;
  if (deploy?.kind !== 'github-actions' && deploy?.kind !== 'gitlab-pipeline') throw new Error('bench: not a pipeline deployer');
  return deploy;
}

/** Cut → train → promote → released on a fresh server, with the product's activities. */
async function trainCalls(fake: FakeForge, forge: Forge, config: TrainyardConfig, db: DbKind): Promise<Pick<ForgeFigures, 'callsPerTrain' | 'rateLimitedPerTrain' | 'changelogCommits'>> {
  const base = await fake.commit('base');
  const previous = 'api/v2026.01.01.1';
  await forge.createTag(previous, base, 'the version production runs');
  for (let i = 0; i < CHANGELOG_COMMITS; i++) await fake.commit(`change-${i}`);
  const server = await startServer(db);
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection });
    const drivers = createDrivers(config, process.cwd(), () => undefined, { [TOKEN_ENV]: fake.token });
    const worker = await Worker.create({
      connection: native,
      taskQueue: QUEUE,
      workflowBundle: { codePath: prebuiltBundlePath() },
      activities: createActivities({ config, drivers, client: new Client({ connection: native }) }),
      ...WORKER_TUNING,
    });
    const state = { ...initialLedger(SERVICE, 'production'), deployments: [{ tag: previous, commit: base, trainId: 'bench', at: Date.now(), outcome: 'verified' as const, by: 'bench' }] };
    await client.workflow.start('environmentLedger', { workflowId: ledgerId(SERVICE, 'production'), taskQueue: QUEUE, args: [{ service: SERVICE, environment: 'production', state } satisfies LedgerInput] });
    const before = { requests: fake.requests(), limited: fake.rateLimited?.() };
    const status = await worker.runUntil(async () => {
      const cut: CutResult = await client.workflow.execute('cutRelease', { workflowId: cutId(SERVICE), taskQueue: QUEUE, args: [{ service: SERVICE, startedBy: 'bench' }] });
      if (!cut.trainId) throw new Error(`the cut skipped: ${cut.skipped}`);
      const train = client.workflow.getHandle(cut.trainId);
      await reach(train, 'awaiting-release', 120_000);
      await train.executeUpdate(promoteUpdate, { args: [{ by: 'bench', reason: 'benchmark' }] });
      return finalStage(train, 120_000);
    });
    if (status.stage !== 'released') throw new Error(`the ${fake.name} train ended ${status.stage}: ${status.error ?? ''}`);
    return {
      callsPerTrain: fake.requests() - before.requests,
      ...(before.limited !== undefined ? { rateLimitedPerTrain: (fake.rateLimited?.() ?? 0) - before.limited } : {}),
      changelogCommits: status.changelog?.commits ?? 0,
    };
  } finally {
    await connection.close();
    await native.close();
    await server.stop();
  }
}

/** A pipeline deploy that stays in progress for `polls` polls, then succeeds. */
async function pipelineCalls(fake: FakeForge, forge: Forge, polls = 20): Promise<Pick<ForgeFigures, 'pipelineDeployCalls' | 'callsPerPoll' | 'callsPerHourWaiting' | 'rateLimitedPerHourWaiting'>> {
  let polled = 0;
  // Counts the deployer's polls; every other call goes to the forge itself.
  const counting = new Proxy(forge, {
    get(target, prop) {
      if (prop === 'getPipeline') {
        return (id: string) => {
          polled++;
          return target.getPipeline(id);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const deployer = new PipelineDeployer(counting, pipelineConfigFor(fake), { pollMs: 50, timeoutMs: 60_000 });
  const start = fake.requests();
  const deploying = deployer.deploy(
    { service: SERVICE, environment: 'production', tag: 'api/v2026.01.01.1', commit: '', trainId: 'bench' },
    { signal: new AbortController().signal, heartbeat: () => undefined },
  );
  while (polled < 2) await sleep(10);
  const window = { polls: polled, requests: fake.requests(), limited: fake.rateLimited?.() };
  while (polled < window.polls + polls) await sleep(10);
  const during = { polls: polled - window.polls, requests: fake.requests() - window.requests, limited: (fake.rateLimited?.() ?? 0) - (window.limited ?? 0) };
  const run = fake.newestRun();
  if (!run) throw new Error(`no ${fake.name} run was started`);
  await fake.finishRun(run);
  await deploying;
  const perPoll = during.requests / during.polls;
  const perHour = 3600 / DEFAULT_POLL_SECONDS;
  return {
    pipelineDeployCalls: fake.requests() - start - during.requests,
    callsPerPoll: perPoll,
    callsPerHourWaiting: perPoll * perHour,
    ...(window.limited !== undefined ? { rateLimitedPerHourWaiting: (during.limited / during.polls) * perHour } : {}),
  };
}

export async function measureForgeCost(db: DbKind, log: (line: string) => void): Promise<Record<string, ForgeFigures>> {
  installQuietRuntime();
  const figures: Record<string, ForgeFigures> = {};
  for (const start of [fakeGitHub, fakeGitLab]) {
    const fake = await start();
    try {
      const config = configFor(fake);
      const forge = buildForge(config.services[SERVICE]!.forge, process.cwd(), { [TOKEN_ENV]: fake.token });
      const train = await trainCalls(fake, forge, config, db);
      figures[fake.name] = { ...train, ...(await pipelineCalls(fake, forge)) };
      log(`  forge: ${fake.name} ${train.callsPerTrain} calls per train`);
    } finally {
      await fake.close();
    }
  }
  return figures;
}
