/**
 * Faults outside Temporal: a deploy target that fails for a while or stays down, smoke checks that
 * flap, a production smoke test that fails, and a notification channel that is down. Each scenario
 * is its own service; they run at once on one dev server and one (in-process) worker, whose log
 * notifier writes to a sink the test can break.
 */
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../client/config-file.js';
import { connectWorker, localTarget } from '../../client/temporal.js';
import { createTrainyardWorker, installQuietRuntime } from '../../workers/worker.js';
import { startHttpFake, type HttpFake } from '../fakes/http-fake.js';
import { figures, readLedger, report, tallyTrain } from './tally.js';
import { commit, releaseClock, World, SEED } from './world.js';

/** Share of smoke probes the flapping target fails (503, reset connection, or an answer too late). */
const FLAP_RATE = 0.5;
/** Retries of a deploy: 4 attempts (the services' `stepRetry`, world.ts `STEP_RETRY`: 1 s then doubling). */
const DEPLOY_ATTEMPTS = 4;
const TEST_TIMEOUT_MS = 180_000;

let health: HttpFake;
let worker: Worker | undefined;
let running: Promise<void> | undefined;
/** Notification lines the sink took, and attempts it refused. */
const notes: string[] = [];
let refused = 0;

let world: World;

beforeAll(async () => {
  health = await startHttpFake(() => ({ status: 200, body: { status: 'ok' } }));
  // Each environment's first probes fail (503, a reset connection, an answer too late), then it flaps.
  for (const env of ['staging', 'production']) {
    const match = (r: { path: string }) => r.path.startsWith(`/${env}/`);
    for (const fault of [{ status: 503 }, { reset: true }, { delayMs: 2_500 }]) health.inject({ ...fault, match });
  }
  health.chaos(FLAP_RATE, [{ status: 503 }, { reset: true }, { delayMs: 2_500 }], SEED);
  const flapping = (env: string) => ({ url: `${health.url}/${env}/health` });
  // The release slot is a day away: a release manager promotes each train when it reaches the gate.
  world = new World({
    releaseTime: releaseClock(-60),
    services: [{ name: 'flaky' }, { name: 'down' }, { name: 'flap', smoke: { staging: flapping('staging'), production: flapping('production') } }, { name: 'broken', smoke: { production: 'command' } }, { name: 'mute' }],
  });
  const { config, baseDir } = loadConfigFile(world.configFile);
  await world.startServer();
  // Errors only: every refused notification is otherwise a multi-line warning.
  installQuietRuntime('ERROR');
  // The notification channel of service `mute` is down: every line for it is refused.
  const log = (line: string) => {
    if (line.startsWith('[trainyard] mute ')) {
      refused++;
      throw new Error('notification channel unreachable (injected)');
    }
    notes.push(line);
  };
  worker = await createTrainyardWorker({ connection: await connectWorker(localTarget(world.server.address)), namespace: 'default', config, baseDir, log });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await health?.close();
  await world?.close();
});

/** Cuts a train and promotes it at the gate; returns its id. */
async function ride(service: string): Promise<string> {
  const trainId = await world.cut(service);
  await world.promoteWhenWaiting(trainId, TEST_TIMEOUT_MS);
  return trainId;
}

describe.concurrent('faults of deploy targets, checks and notifications', () => {
  it('a deploy target failing twice is retried and the train releases, deployed once', { timeout: TEST_TIMEOUT_MS }, async () => {
    world.fault('flaky', 'staging', 'fail 2');
    const trainId = await ride('flaky');
    const tally = await tallyTrain(world, await world.result(trainId));
    report(figures('deploy target fails twice, then works', 1, [tally]), [tally]);
    expect(tally).toMatchObject({ completed: true, duplicates: [], lost: [], attempts: { staging: 3, production: 1 } });
  });

  it('a deploy target that stays down makes the train wait for retry-deploy, then it releases', { timeout: TEST_TIMEOUT_MS }, async () => {
    world.fault('down', 'production', 'down');
    const trainId = await ride('down');
    const waiting = await world.waitForStatus(trainId, (s) => s.stage === 'awaiting-decision', TEST_TIMEOUT_MS);
    expect(waiting.failedDeploy).toMatchObject({ environment: 'production', error: expect.stringContaining('unreachable (injected fault)') });
    expect(waiting.waitingFor).toMatch(/retryDeploy or abort/);
    expect(readLedger(world).filter((l) => l.trainId === trainId && l.target === 'production' && l.event === 'failed')).toHaveLength(DEPLOY_ATTEMPTS);

    world.fault('down', 'production', undefined);
    await world.retryDeploy(trainId);
    const tally = await tallyTrain(world, await world.result(trainId));
    report(figures('deploy target down until an operator retries', 1, [tally]), [tally]);
    expect(tally).toMatchObject({ completed: true, duplicates: [], lost: [], attempts: { staging: 1, production: DEPLOY_ATTEMPTS + 1 } });
  });

  it('smoke checks that flap pass within their settle time', { timeout: TEST_TIMEOUT_MS }, async () => {
    const trainId = await ride('flap');
    const tally = await tallyTrain(world, await world.result(trainId));
    report(figures(`smoke checks flapping (${FLAP_RATE * 100}% of probes fail)`, 1, [tally]), [tally]);
    expect(tally).toMatchObject({ completed: true, duplicates: [], lost: [] });
    for (const env of ['staging', 'production']) {
      const answers = health.log.filter((r) => r.path.startsWith(`/${env}/`)).map((r) => r.status);
      expect(answers.slice(0, 2), env).toEqual([503, -1]); // -1: connection reset
      expect(answers.at(-1), env).toBe(200);
    }
  });

  it('a failing production smoke test rolls back to the version production verified before', { timeout: TEST_TIMEOUT_MS }, async () => {
    const first = await world.result(await ride('broken'));
    // Tallied now: the next train changes what staging runs.
    const firstTally = await tallyTrain(world, first);
    commit(world.repo('broken'), 'A change that breaks production');
    // Only the new version is broken: the rollback's own smoke test of the old one passes.
    world.fault('broken', 'smoke-production', `fail-except ${first.tag}`);
    const second = await world.result(await ride('broken'));
    expect(second.stage).toBe('rolled-back');
    const tallies = [firstTally, await tallyTrain(world, second, { stage: 'rolled-back', rolledBackTo: first.tag })];
    report(figures('production smoke test fails (rollback)', 1, tallies.slice(1)), tallies);
    expect(tallies).toMatchObject([{ completed: true, duplicates: [], lost: [] }, { completed: true, duplicates: [], lost: [] }]);
    expect(world.running('broken', 'production')).toBe(first.tag);
  });

  it('a notification channel that is down never stops the train', { timeout: TEST_TIMEOUT_MS }, async () => {
    const started = Date.now();
    const trainId = await ride('mute');
    const tally = await tallyTrain(world, await world.result(trainId));
    report(figures('notification channel down', 1, [tally]), [tally]);
    console.log(`[reliability] with its notifications refused (${refused} attempts), the train took ${Math.round((Date.now() - started) / 1000)} s`);
    expect(tally).toMatchObject({ completed: true, duplicates: [], lost: [] });
    expect(refused).toBeGreaterThan(0);
    expect(notes.some((n) => n.startsWith('[trainyard] mute '))).toBe(false);
  });
});
