/**
 * The world the reliability tests inflict faults on: services whose forges are real git repositories
 * (with a hook that logs every tag write), whose environments and checks are the fixture scripts
 * (test/fixtures/reliability), a Temporal dev server persisting to its own database file, and the
 * trains' operator surface. Everything started here is stopped by `close()`, failures included.
 */
import type { Client } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startDevServer, type DevServer } from '../../client/dev-server.js';
import { connectClient, localTarget } from '../../client/temporal.js';
import { cutId } from '../../domain/ids.js';
import type { TrainStatus } from '../../domain/train.js';
import type { CutResult } from '../../workflows/cutRelease.js';
import { promoteUpdate, retryDeployUpdate, statusQuery } from '../../workflows/messages.js';
import { pollUntil, queryUntil } from '../helpers/poll.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';
import { readLedger } from './tally.js';
import { startVersionEndpoint } from './version-endpoint.js';
import { trainResult } from '../../client/train-result.js';
import { STAGE } from '../../workflows/search-attributes.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'reliability');
const DAYS = '[mon, tue, wed, thu, fri, sat, sun]';

export interface ServiceSpec {
  name: string;
  /** Smoke checks: the fixture's check.sh, or an http URL. */
  smoke?: { staging?: 'command' | { url: string }; production?: 'command' | { url: string } };
  /**
   * The deploy command of both environments: `careful` (default) is deploy.sh (a lock, nothing done
   * when the tag already runs); `blind` is deploy-blind.sh, which deploys on every run.
   */
  deploy?: 'careful' | 'blind';
  /**
   * Both environments get a `versionUrl` on the world's version endpoint, which reports what the
   * deploy scripts left there (staging as JSON `version`, production as an `X-Version` header).
   */
  versionUrl?: boolean;
}

export interface WorldOptions {
  services: ServiceSpec[];
  /** Local UTC release time `HH:mm` of every service (see `releaseClock`). */
  releaseTime: string;
}

/**
 * Every service's `heartbeatSeconds`: the lowest the config allows (15; steps heartbeat every 5 s),
 * so a step interrupted by a kill resumes after 15 s + the first retry interval (1 s, `STEP_RETRY`) instead of
 * 70 s, which is what users get when they set it. RELIABILITY_HEARTBEAT_SECONDS=default runs the
 * slow path (no setting: the 1-minute default).
 */
export const HEARTBEAT_SECONDS = process.env.RELIABILITY_HEARTBEAT_SECONDS === 'default' ? undefined : Number(process.env.RELIABILITY_HEARTBEAT_SECONDS ?? 15);

/**
 * Every service's `stepRetry`: a failed or interrupted step is retried after 1 s, then 2 s, 4 s (4
 * attempts, as by default) instead of 10, 20, 40 s. RELIABILITY_HEARTBEAT_SECONDS=default keeps the
 * defaults here too (the slow path users get without the settings).
 */
export const STEP_RETRY = HEARTBEAT_SECONDS === undefined ? undefined : { initialIntervalSeconds: 1, maximumAttempts: 4 };

/** `HH:mm` (UTC) of the first whole minute at least `leadSeconds` from now; negative: one that has just passed. */
export function releaseClock(leadSeconds: number): string {
  const at = new Date(Math.ceil((Date.now() + leadSeconds * 1000) / 60_000) * 60_000);
  return `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
}

function smokeYaml(smoke: 'command' | { url: string } | undefined, env: string): string {
  if (!smoke) return '';
  if (smoke === 'command') return `, smoke: { kind: command, command: [sh, ${JSON.stringify(join(FIXTURES, 'check.sh'))}], timeoutSeconds: 300, ${env} }`;
  return `, smoke: { kind: http, urls: [${JSON.stringify(smoke.url)}], settleSeconds: 30, timeoutSeconds: 2 }`;
}

/** `versionBase`: the world's version endpoint, once it listens (services with `versionUrl` need it). */
function configYaml(dir: string, taskQueue: string, options: WorldOptions, versionBase: string | undefined): string {
  const env = `env: { RELIABILITY_DIR: ${JSON.stringify(dir)} }`;
  const deploy = (s: ServiceSpec) =>
    `{ kind: command, command: [sh, ${JSON.stringify(join(FIXTURES, s.deploy === 'blind' ? 'deploy-blind.sh' : 'deploy.sh'))}], timeoutSeconds: 300, ${env} }`;
  const versionUrl = (s: ServiceSpec, environment: string) => {
    if (!s.versionUrl) return '';
    if (!versionBase) throw new Error(`${s.name} has a versionUrl: start the version endpoint first (startServer does)`);
    return `, versionUrl: ${JSON.stringify(`${versionBase}/${s.name}/${environment}`)}`;
  };
  const services = options.services.map(
    (s) => `
  ${s.name}:
    forge: { kind: local-git, path: ${JSON.stringify(join(dir, 'repos', s.name))} }
    release: { timeZone: UTC, days: ${DAYS}, time: "${options.releaseTime}", minLeadHours: 0 }
    e2e: { kind: command, command: [sh, ${JSON.stringify(join(FIXTURES, 'check.sh'))}], timeoutSeconds: 300, ${env} }
    environments:
      staging: { deploy: ${deploy(s)}${smokeYaml(s.smoke?.staging, env)}${versionUrl(s, 'staging')} }
      production: { deploy: ${deploy(s)}${smokeYaml(s.smoke?.production, env)}${versionUrl(s, 'production')} }
    notify: [{ kind: log }]${HEARTBEAT_SECONDS ? `\n    heartbeatSeconds: ${HEARTBEAT_SECONDS}` : ''}${STEP_RETRY ? `\n    stepRetry: ${JSON.stringify(STEP_RETRY)}` : ''}`,
  );
  return `temporal: { taskQueue: ${taskQueue} }\nservices:${services.join('')}\n`;
}

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@test.invalid', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@test.invalid' };

/** Adds a commit to the service's main branch (a merged change). */
export function commit(repo: string, message: string): void {
  writeFileSync(join(repo, 'CHANGES.md'), `${message}\n`, { flag: 'a' });
  execFileSync('git', ['-C', repo, 'add', 'CHANGES.md'], { env: gitEnv });
  execFileSync('git', ['-C', repo, 'commit', '--quiet', '-m', message], { env: gitEnv });
}

function createRepo(repo: string): void {
  mkdirSync(repo, { recursive: true });
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', repo], { env: gitEnv });
  copyFileSync(join(FIXTURES, 'reference-transaction'), join(repo, '.git', 'hooks', 'reference-transaction'));
  commit(repo, 'First change');
}

export class World {
  readonly dir = mkdtempSync(join(tmpdir(), 'trainyard-reliability-'));
  readonly configFile = join(this.dir, 'trainyard.yaml');
  readonly dbFile = join(this.dir, 'temporal.db');
  readonly taskQueue = `reliability-${process.pid}`;
  server!: DevServer;
  client!: Client;
  private port = 0;
  private readonly workers: WorkerProcess[] = [];
  private versions?: Server;

  constructor(readonly options: WorldOptions) {
    for (const sub of ['repos', 'pids', 'locks', 'envs', 'faults', 'park']) mkdirSync(join(this.dir, sub));
    for (const s of options.services) createRepo(this.repo(s.name));
    // Services with a versionUrl get their config once the version endpoint has its port (startServer).
    if (!options.services.some((s) => s.versionUrl)) writeFileSync(this.configFile, configYaml(this.dir, this.taskQueue, options, undefined));
  }

  repo(service: string): string {
    return join(this.dir, 'repos', service);
  }

  /** The dev server, on its database file; again on the same port after a stop (a restart). */
  async startServer(): Promise<void> {
    if (!this.versions && this.options.services.some((s) => s.versionUrl)) {
      this.versions = await startVersionEndpoint((service, environment) => this.running(service, environment));
      const { port } = this.versions.address() as AddressInfo;
      writeFileSync(this.configFile, configYaml(this.dir, this.taskQueue, this.options, `http://127.0.0.1:${port}`));
    }
    this.port ||= await freePort();
    this.server = await startDevServer({ port: this.port, dbFile: this.dbFile });
    this.client ??= await connectClient(localTarget(this.server.address));
  }

  /** Kills the dev server with SIGKILL (a crash: no shutdown); its database file stays. */
  async crashServer(): Promise<void> {
    const { process: child } = this.server;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async startWorker(name: string): Promise<WorkerProcess> {
    const worker = await startWorkerProcess({ configFile: this.configFile, address: this.server.address, logFile: join(this.dir, `${name}.log`) });
    this.workers.push(worker);
    return worker;
  }

  /**
   * The next attempt of `service`'s `target` (`staging`, `production`, `e2e`, `smoke-…`) holds inside
   * its command until `releaseParked()`, then works `seconds` more.
   */
  park(service: string, target: string, seconds: number): void {
    writeFileSync(join(this.dir, 'park', `${service}-${target}`), `${seconds.toFixed(2)}\n`);
  }

  /** Lets every parked command go on (those orphaned by a killed worker included). */
  releaseParked(): void {
    writeFileSync(join(this.dir, 'park', 'go'), '');
  }

  /** `fail N`, `down` (deploys) or `fail` (checks); undefined clears the fault. */
  fault(service: string, target: string, fault: string | undefined): void {
    const file = join(this.dir, 'faults', `${service}-${target}`);
    if (fault === undefined) rmSync(file, { force: true });
    else writeFileSync(file, `${fault}\n`);
  }

  /** What an environment runs now, as the fixture's deploy script left it. */
  running(service: string, environment: string): string | undefined {
    const file = join(this.dir, 'envs', `${service}-${environment}`);
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  }

  async cut(service: string): Promise<string> {
    const result = await this.client.workflow.execute('cutRelease', { workflowId: cutId(service), taskQueue: this.taskQueue, args: [{ service, startedBy: 'reliability' }] });
    const cut = result as CutResult;
    if (!cut.trainId) throw new Error(`the cut of ${service} started no train: ${cut.skipped}`);
    return cut.trainId;
  }

  status(trainId: string): Promise<TrainStatus> {
    return this.client.workflow.getHandle(trainId).query(statusQuery);
  }

  /** The train's result: answered by the server, so it needs no worker while it waits. */
  result(trainId: string): Promise<TrainStatus> {
    return trainResult(this.client.workflow.getHandle(trainId));
  }

  async promote(trainId: string): Promise<void> {
    await this.client.workflow.getHandle(trainId).executeUpdate(promoteUpdate, { args: [{ by: 'rita', reason: 'release manager: ship it' }] });
  }

  /**
   * Every train's final status; on timeout, fails naming the trains still running and what each
   * waits for, so a stuck train explains itself.
   */
  async awaitEnded(trainIds: string[], timeoutMs: number): Promise<TrainStatus[]> {
    const ended = new Map<string, TrainStatus>();
    const all = Promise.all(trainIds.map(async (id) => ended.set(id, await this.result(id)).get(id) as TrainStatus));
    try {
      return await within(timeoutMs, 'every train ended', all);
    } catch (err) {
      const stuck = await Promise.all(
        trainIds
          .filter((id) => !ended.has(id))
          .map(async (id) => {
            const s = await this.status(id).catch((e: Error) => ({ stage: `(no answer: ${e.message})`, waitingFor: '' }));
            return `  ${id}: ${s.stage}${s.waitingFor ? ` waiting for ${s.waitingFor}` : ''}`;
          }),
      );
      throw new Error(`${(err as Error).message}; still running:\n${stuck.join('\n')}`);
    }
  }

  /** Promotes the train as soon as it waits for its release time (a release manager watching it). */
  /**
   * Promotes the train once it waits for its release time. Waiting trains are found as a release
   * manager finds them in the UI, by the stage search attribute: one list query every half second
   * serves every train waiting here, and costs the worker nothing (a status query per train would
   * have the worker answer dozens of queries a second, replaying each train on a new worker).
   */
  async promoteWhenWaiting(trainId: string, timeoutMs = 60_000): Promise<void> {
    await pollUntil(`${trainId} to wait for its release time`, async () => (await this.atGate()).has(trainId), { timeoutMs, intervalMs: 500 });
    await this.promote(trainId);
  }

  private gate?: { at: number; ids: Promise<Set<string>> };

  /** Running trains whose stage is awaiting-release; one list query shared by callers within 400 ms. */
  private atGate(): Promise<Set<string>> {
    if (!this.gate || Date.now() - this.gate.at > 400) {
      const ids = (async () => {
        const found = new Set<string>();
        for await (const wf of this.client.workflow.list({ query: `${STAGE.name} = "awaiting-release" AND ExecutionStatus = "Running"` })) found.add(wf.workflowId);
        return found;
      })();
      ids.catch(() => undefined);
      this.gate = { at: Date.now(), ids };
    }
    return this.gate.ids;
  }

  async retryDeploy(trainId: string): Promise<void> {
    await this.client.workflow.getHandle(trainId).executeUpdate(retryDeployUpdate, { args: [{ by: 'rita', reason: 'the target is back' }] });
  }

  /** Polls the train's status until `done` holds (queries need a running worker). */
  waitForStatus(trainId: string, done: (s: TrainStatus) => boolean, timeoutMs = 60_000): Promise<TrainStatus> {
    return queryUntil(this.client.workflow.getHandle(trainId), statusQuery, done, `${trainId} to get there`, { timeoutMs, intervalMs: 250 });
  }

  /** Stops everything this world started: workers, deploy and check processes, the server, its files. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.kill()));
    this.killTargets();
    await this.client?.connection.close().catch(() => undefined);
    await this.server?.stop().catch(() => undefined);
    this.versions?.closeAllConnections();
    await new Promise((resolve) => (this.versions ? this.versions.close(resolve) : resolve(undefined)));
    // RELIABILITY_KEEP=1 keeps the logs, the targets' ledger, the repositories and the database.
    if (process.env.RELIABILITY_KEEP === '1') console.log(`[reliability] kept ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  /** The fixture scripts' process groups (a killed worker leaves its running commands behind). */
  killTargets(): void {
    const pids = join(this.dir, 'pids');
    for (const pid of existsSync(pids) ? readdirSync(pids).map(Number) : []) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

export type Step = 'staging' | 'e2e' | 'production';
export interface Parked {
  service: string;
  step: Step;
}

/** `perStep` services per step, named by the step's initial and a number (s1, e1, p1, …), after `prefix`. */
export function parkingPlan(perStep: number, prefix = ''): Parked[] {
  return (['staging', 'e2e', 'production'] as const).flatMap((step) => Array.from({ length: perStep }, (_, i) => ({ service: `${prefix}${step.slice(0, 1)}${i + 1}`, step })));
}

/**
 * Cuts a train of each planned service and gets it into the middle of its step: the step's command
 * holds until `world.releaseParked()`, then works `seconds(p)` more (p: its plan). Trains parked in production are
 * promoted by a release manager as soon as they wait for the release time. Resolves once every
 * command has started; returns train id → plan.
 */
export async function parkTrains(world: World, plan: Parked[], seconds: (p: Parked) => number): Promise<Map<string, Parked>> {
  for (const p of plan) world.park(p.service, p.step, seconds(p));
  const trains = new Map<string, Parked>();
  await Promise.all(
    plan.map(async (p) => {
      const trainId = await world.cut(p.service);
      trains.set(trainId, p);
      if (p.step === 'production') await world.promoteWhenWaiting(trainId);
    }),
  );
  await pollUntil(
    'every train parked',
    () => {
      const started = new Set(readLedger(world).filter((l) => l.event === 'start').map((l) => `${l.trainId} ${l.target}`));
      return [...trains].every(([id, p]) => started.has(`${id} ${p.step}`));
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  return trains;
}

/** A seeded PRNG (mulberry32): the same seed gives the same kill points. */
export function seeded(seed: number): (min: number, max: number) => number {
  let a = seed >>> 0;
  return (min, max) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return min + (((t ^ (t >>> 14)) >>> 0) / 4294967296) * (max - min);
  };
}

/** The seed of every reliability test's random choices (`RELIABILITY_SEED` draws others). */
export const SEED = Number(process.env.RELIABILITY_SEED ?? 20261123);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with `promise`, or fails after `ms` saying what was awaited. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
