/** Temporal servers for tests, always from the binaries `npm run setup` installed (never downloaded). */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { DevServerStartError, freePort, startDevServer, type DevServer } from '../../client/dev-server.js';
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
/**
 * A dev server on free ports. A port found free can be taken by another process before the server
 * binds it (the suite starts servers side by side, each with ports of its own choosing), so a server
 * whose process ends while it starts is started again on new ports, twice at most; a server that is
 * merely slow is not (that is a failure to report).
 */
export async function startTestDevServer(options: { ui?: boolean } = {}): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const uiPort = options.ui ? await freePort() : undefined;
    try {
      return await startDevServer({ port, ...(uiPort !== undefined ? { uiPort } : {}) });
    } catch (err) {
      if (!(err instanceof DevServerStartError) || !err.exited || attempt >= 3) throw err;
    }
  }
}

export async function devServerEnv(): Promise<DevServerEnv> {
  installQuietRuntime();
  const server = await startTestDevServer();
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

/** The segment of a workflow id that names its service or flag (domain/ids.ts: train/<s>/…, env/<s>/…, cut/<s>[-hotfix], rollback/<s>/…, flag/<f>, prerelease/<s>/…). */
function serviceSegment(workflowId: string): string | undefined {
  return /^(?:train|env|cut|rollback|stage|flag|prerelease|prerelease-cut|preview)\/([^/]+)/.exec(workflowId)?.[1];
}

/**
 * One worker for a whole test file, whose activities go to the test that owns the workflow: each
 * test `route`s its service to its own (fake) activities. A worker costs about a second of CPU to
 * start (a workflow thread that loads the SDK and evaluates the bundle), and files that gave each
 * test its own spent more on workers than on their tests.
 *
 * Dev server only. On the time-skipping server a test's leftover activity (one still finishing after
 * its workflow was terminated) stops the clock for every later test; a worker per test, shut down
 * with it, cancels such activities (seen: four release-train tests timed out under load).
 */
export interface RoutedWorker {
  taskQueue: string;
  /** Sends the activities of `service`'s workflows to `activities` until the returned function is called. */
  route(service: string, activities: object): () => void;
  shutdown(): Promise<void>;
}

export async function routedWorker(env: { nativeConnection: NativeConnection; namespace?: string }, taskQueue: string, shape: object): Promise<RoutedWorker> {
  const routes = new Map<string, Record<string, (...args: unknown[]) => Promise<unknown>>>();
  const activities = Object.fromEntries(
    Object.keys(shape).map((name) => [
      name,
      (...args: unknown[]) => {
        const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
        const segment = serviceSegment(workflowId);
        // `cut/<service>-hotfix` and the like: the service is the segment or its start.
        const service = segment === undefined ? undefined : routes.has(segment) ? segment : [...routes.keys()].find((s) => segment.startsWith(`${s}-`));
        const impl = service === undefined ? undefined : routes.get(service)?.[name];
        if (!impl) throw ApplicationFailure.nonRetryable(`no test owns the activities of ${workflowId} (service ${segment ?? 'unknown'})`, 'TEST_ROUTING');
        return impl(...args);
      },
    ]),
  );
  const worker = await bundleWorker(env, taskQueue, activities);
  const running = worker.run();
  return {
    taskQueue,
    route(service, impl) {
      if (routes.has(service)) throw new Error(`service ${service} is routed twice`);
      routes.set(service, impl as Record<string, (...args: unknown[]) => Promise<unknown>>);
      return () => routes.delete(service);
    },
    async shutdown() {
      worker.shutdown();
      await running;
    },
  };
}
