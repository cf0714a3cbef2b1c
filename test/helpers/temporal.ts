/** Temporal servers for tests, always from the binaries `npm run setup` installed (never downloaded). */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { freePort, startDevServer } from '../../client/dev-server.js';
import { connectClient, localTarget } from '../../client/temporal.js';
import { registerSearchAttributes } from '../../client/search-attributes.js';
import { testServerPath } from '../../client/toolchain.js';
import { WORKER_TUNING, installQuietRuntime } from '../../workers/worker.js';
import { prebuiltBundlePath } from '../../workers/bundle.js';

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testServerPath() } } });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

/** A dev server for one test file, with a client and a worker connection on it. */
export interface DevServerEnv {
  address: string;
  namespace: string;
  client: Client;
  /** The client's connection (for a second client, e.g. one without the codec). */
  connection: Client['connection'];
  nativeConnection: NativeConnection;
  /** The server's clock: real time on the dev server (the time-skipping server has its own). */
  currentTimeMs(): Promise<number>;
  teardown(): Promise<void>;
}

/**
 * The real dev server (the CLI `npm run setup` built), in memory, in real time: for tests where
 * several workflows signal one another, which the Java time-skipping server handles unreliably.
 * Started the way `npm start` starts it (client/dev-server.ts), so its output stays out of the
 * suite's and its search attributes are Trainyard's.
 */
export async function devServerEnv(): Promise<DevServerEnv> {
  installQuietRuntime();
  const server = await startDevServer({ port: await freePort() });
  const client = await connectClient(localTarget(server.address));
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  return {
    address: server.address,
    namespace: 'default',
    client,
    connection: client.connection,
    nativeConnection,
    currentTimeMs: async () => Date.now(),
    async teardown() {
      await client.connection.close();
      await nativeConnection.close();
      await server.stop();
    },
  };
}

/** A worker on the prebuilt bundle (built once by `npm test`), with the given activities. */
export async function bundleWorker(env: { nativeConnection: NativeConnection; namespace?: string }, taskQueue: string, activities: object, extra: Partial<WorkerOptions> = {}): Promise<Worker> {
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
