/** Temporal servers for tests, always from the binaries `npm run setup` installed (never downloaded). */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { registerSearchAttributes } from '../../client/search-attributes.js';
import { temporalCliPath, testServerPath } from '../../client/toolchain.js';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { WORKER_TUNING, installQuietRuntime } from '../../workers/worker.js';
import { prebuiltBundlePath } from '../../workers/bundle.js';

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testServerPath() } } });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

/**
 * The real dev server (the CLI `npm run setup` built), in memory, in real time: for tests where
 * several workflows signal one another, which the Java time-skipping server handles unreliably.
 */
export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalCliPath() }, searchAttributes: ALL_SEARCH_ATTRIBUTES, extraArgs: ['--log-level', 'error'] },
  });
}

/** A worker on the prebuilt bundle (built once by `npm test`), with the given activities. */
export async function bundleWorker(env: TestWorkflowEnvironment, taskQueue: string, activities: object, extra: Partial<WorkerOptions> = {}): Promise<Worker> {
  return Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: { codePath: prebuiltBundlePath() },
    activities,
    ...WORKER_TUNING,
    ...extra,
  });
}
