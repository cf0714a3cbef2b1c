/**
 * A worker that dies mid-deploy leaves its deploy command running. The next attempt on the same
 * host finds it through the heartbeat's process record (host, pid, start time) and waits for it
 * before running the command again, so the two never run at once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll.js';
import { createActivities } from '../../activities/index.js';
import { processStartTicks, stillRunning } from '../../activities/process.js';
import { createDrivers } from '../../activities/registry.js';
import { parseConfig } from '../../domain/config.js';

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
    const first = new MockActivityEnvironment({ attempt: 1 });
    const beats: unknown[] = [];
    first.on('heartbeat', (d: unknown) => beats.push(d));
    // The first attempt's worker "dies": nobody waits for its activity; its command runs on.
    const abandoned = first.run(activities(2).deploy, req);
    await pollUntil('the first attempt to heartbeat its command', () => beats.length > 0);
    const record = beats[0] as { process: { pid: number; start: string; host: string } };
    expect(record.process.pid).toBeGreaterThan(0);
    expect(stillRunning(record.process.pid, record.process.start)).toBe(true);

    const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: record });
    await second.run(activities(0).deploy, req);
    // The second command started only after the first had finished.
    expect(events()).toEqual(['start', 'done', 'start', 'done']);
    await abandoned;
    expect(processStartTicks(record.process.pid)).toBeUndefined();
  });

  it('a record from another host does not hold anything up', { timeout: 30_000 }, async () => {
    rmSync(join(dir, 'log'), { force: true });
    const elsewhere = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { process: { host: 'another-host', pid: process.pid, start: processStartTicks(process.pid), startedAt: Date.now() } } });
    const started = Date.now();
    await elsewhere.run(activities(0).deploy, req);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(events()).toEqual(['start', 'done']);
  });
});
