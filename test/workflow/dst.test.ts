/**
 * A release day across the start of daylight saving time, on a fresh time-skipping server (its
 * clock only moves forward, so this test needs one of its own).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TrainStatus } from '../../domain/train.js';
import { fakeActivities, fakeWorld, policy } from '../helpers/fake-activities.js';
import { bundleWorker, timeSkippingEnv } from '../helpers/temporal.js';
import { cleanUp } from '../helpers/train-harness.js';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

it('cut on Friday (EST), production at 11:00 EDT on Monday after the change', async () => {
  const service = 'dst';
  const taskQueue = 'dst-test';
  const worker = await bundleWorker(env, taskQueue, fakeActivities(fakeWorld(), policy({ service, hasE2E: false }), env.client, taskQueue));
  // Friday 2027-03-12 14:00 in New York (EST, UTC-5); DST starts on Sunday the 14th.
  const friday = Date.parse('2027-03-12T19:00:00Z');
  const now = await env.currentTimeMs();
  expect(now).toBeLessThan(friday);
  await env.sleep(friday - now);
  try {
    await worker.runUntil(async () => {
      const cut = await env.client.workflow.execute('cutRelease', { workflowId: `cut/${service}`, taskQueue, args: [{ service, startedBy: 'schedule' }] });
      const mondayAt11Edt = Date.parse('2027-03-15T15:00:00Z'); // 11:00 EDT is 15:00 UTC; in EST it would be 16:00
      expect(cut.releaseAt).toBe(mondayAt11Edt);
      expect(cut.tag).toBe(`${service}/v2027.03.15.1`);
      const result = (await env.client.workflow.getHandle(cut.trainId).result()) as TrainStatus;
      expect(result.stage).toBe('released');
      const production = result.stages.find((s) => s.stage === 'production')!;
      expect(production.startedAt).toBeGreaterThanOrEqual(mondayAt11Edt);
      expect(production.startedAt).toBeLessThan(mondayAt11Edt + 60_000);
    });
  } finally {
    await cleanUp(env, service);
  }
});
