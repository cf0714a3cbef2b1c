/**
 * A worker that dies mid-deploy leaves its deploy command running. The next attempt on the same
 * host finds it through the heartbeat's process record (host, pid, start time) and waits for it
 * before running the command again, so the two never run at once. With a version URL, the next
 * attempt then reads what the environment runs and does not run the command again when the tag
 * already runs there.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll.js';
import { createActivities } from '../../activities/index.js';
import { processStartTicks, stillRunning } from '../../activities/process.js';
import { createDrivers } from '../../activities/registry.js';
import type { DeployOutcome } from '../../activities/types.js';
import { parseConfig } from '../../domain/config.js';
import { sdkLogger } from '../../workers/worker.js';

/** What activities log goes to the test file's SDK log (test/setup/sdk-log.ts), not the suite's output. */
const QUIET = { logger: sdkLogger('INFO') };

const dir = mkdtempSync(join(tmpdir(), 'trainyard-orphan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function activities(seconds: number) {
  const deploy = { kind: 'command', command: ['sh', '-c', `echo "start $$" >> "$LOG"; sleep ${seconds}; echo "done $$" >> "$LOG"`], env: { LOG: join(dir, 'log') }, timeoutSeconds: 60 };
  const parsed = parseConfig({ services: { api: { forge: { kind: 'local-git', path: dir }, environments: { staging: { deploy }, production: { deploy } } } } });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return createActivities({ config: parsed.config, drivers: createDrivers(parsed.config, dir, () => undefined), client: {} as Client });
}

const req = { service: 'api', environment: 'staging' as const, tag: 'v1', commit: 'c0ffee', trainId: 'train/api/v1' };
const events = () => readFileSync(join(dir, 'log'), 'utf8').trim().split('\n').map((l) => l.split(' ')[0]);

describe('an orphaned deploy command', () => {
  it('is waited for by the next attempt on the same host, which then runs its own', { timeout: 30_000 }, async () => {
    const first = new MockActivityEnvironment({ attempt: 1 }, QUIET);
    const beats: unknown[] = [];
    first.on('heartbeat', (d: unknown) => beats.push(d));
    // The first attempt's worker "dies": nobody waits for its activity; its command runs on.
    const abandoned = first.run(activities(2).deploy, req);
    await pollUntil('the first attempt to heartbeat its command', () => beats.length > 0);
    const record = beats[0] as { process: { pid: number; start: string; host: string } };
    expect(record.process.pid).toBeGreaterThan(0);
    expect(stillRunning(record.process.pid, record.process.start)).toBe(true);

    const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: record }, QUIET);
    await second.run(activities(0).deploy, req);
    // The second command started only after the first had finished.
    expect(events()).toEqual(['start', 'done', 'start', 'done']);
    await abandoned;
    expect(processStartTicks(record.process.pid)).toBeUndefined();
  });

  it('a record from another host does not hold anything up', { timeout: 30_000 }, async () => {
    rmSync(join(dir, 'log'), { force: true });
    const elsewhere = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { process: { host: 'another-host', pid: process.pid, start: processStartTicks(process.pid), startedAt: Date.now() } } }, QUIET);
    const started = Date.now();
    await elsewhere.run(activities(0).deploy, req);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(events()).toEqual(['start', 'done']);
  });
});

describe('a retried deploy with a version URL', () => {
  const state = join(dir, 'running');
  const log = join(dir, 'once-log');
  /** What the environment reports: the state file the command writes, or `override` when set. */
  let override: { status: number; version?: string } | undefined;
  let reads = 0;
  const server = createServer((req, res) => {
    reads++;
    if (override) return res.writeHead(override.status, override.version ? { 'x-version': override.version } : {}).end();
    if (!existsSync(state)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version: readFileSync(state, 'utf8').trim() }));
  });
  const listening = new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  /**
   * A deploy command that is not idempotent: every run deploys (and logs it). It works `seconds`
   * after it deployed, or with `late`, before (the deploy takes effect as the command ends).
   */
  async function onceActivities(seconds: number, { late = false } = {}) {
    await listening;
    const { port } = server.address() as AddressInfo;
    const work = `sleep ${seconds}`;
    const deployIt = `echo "$TRAINYARD_TAG" > "$STATE"; echo "deployed $$" >> "$LOG"`;
    const script = `echo "start $$" >> "$LOG"; ${late ? `${work}; ${deployIt}` : `${deployIt}; ${work}`}; echo "done $$" >> "$LOG"`;
    const deploy = { kind: 'command', command: ['sh', '-c', script], env: { LOG: log, STATE: state }, timeoutSeconds: 60 };
    // A token in the query, as a version endpoint behind one might need: never shown.
    const versionUrl = `http://127.0.0.1:${port}/version?token=s3cret-token`;
    const parsed = parseConfig({ services: { api: { forge: { kind: 'local-git', path: dir }, environments: { staging: { deploy, versionUrl }, production: { deploy } } } } });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return createActivities({ config: parsed.config, drivers: createDrivers(parsed.config, dir, () => undefined), client: {} as Client });
  }
  const runs = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')[0]) : []);
  const fresh = () => {
    for (const f of [log, state]) rmSync(f, { force: true });
    override = undefined;
    reads = 0;
  };

  it('waits for the orphan, then finds the tag running and does not run the command again', { timeout: 30_000 }, async () => {
    fresh();
    const first = new MockActivityEnvironment({ attempt: 1 }, QUIET);
    const beats: unknown[] = [];
    first.on('heartbeat', (d: unknown) => beats.push(d));
    // The orphan's deploy takes effect only as it ends: a version read before it ended would miss it.
    const abandoned = first.run((await onceActivities(2, { late: true })).deploy, req);
    await pollUntil('the first attempt to heartbeat its command', () => beats.length > 0);
    expect(runs()).toEqual(['start']);
    expect(reads).toBe(0); // a first attempt does not look

    const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beats[0] }, QUIET);
    const result = (await second.run((await onceActivities(0)).deploy, req)) as DeployOutcome;
    // The version was read once the orphan had ended, and the command did not run again.
    expect(runs()).toEqual(['start', 'deployed', 'done']);
    expect(reads).toBe(1);
    expect(result).toEqual({ alreadyRunning: true, summary: `v1 already runs in staging (read from http://127.0.0.1:${(server.address() as AddressInfo).port}/version): not deployed again` });
    expect(JSON.stringify(result)).not.toMatch(/s3cret/);
    await abandoned;
  });

  it('runs the command again when the environment reports another version', { timeout: 30_000 }, async () => {
    fresh();
    override = { status: 200, version: 'v0' };
    const result = (await new MockActivityEnvironment({ attempt: 2 }, QUIET).run((await onceActivities(0)).deploy, req)) as DeployOutcome;
    expect(runs()).toEqual(['start', 'deployed', 'done']);
    expect(result.alreadyRunning).toBeUndefined();
    expect(reads).toBe(1);
  });

  it('runs the command again when the version cannot be read', { timeout: 30_000 }, async () => {
    fresh();
    override = { status: 503 };
    const result = (await new MockActivityEnvironment({ attempt: 3 }, QUIET).run((await onceActivities(0)).deploy, req)) as DeployOutcome;
    expect(runs()).toEqual(['start', 'deployed', 'done']);
    expect(result.alreadyRunning).toBeUndefined();
  });

  it('runs a first attempt without looking, even when the tag already runs', { timeout: 30_000 }, async () => {
    fresh();
    override = { status: 200, version: 'v1' };
    await new MockActivityEnvironment({ attempt: 1 }, QUIET).run((await onceActivities(0)).deploy, req);
    expect(runs()).toEqual(['start', 'deployed', 'done']);
    expect(reads).toBe(0);
  });

  it('runs a retry as before in an environment without a version URL', { timeout: 30_000 }, async () => {
    fresh();
    override = { status: 200, version: 'v1' };
    await new MockActivityEnvironment({ attempt: 2 }, QUIET).run((await onceActivities(0)).deploy, { ...req, environment: 'production' as const });
    expect(runs()).toEqual(['start', 'deployed', 'done']);
    expect(reads).toBe(0);
  });
});
