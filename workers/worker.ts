/**
 * The worker: runs Trainyard's workflows from the prebuilt bundle and its activities, built from
 * the config's drivers.
 */
import { NativeConnection, Runtime, Worker, DefaultLogger, type LogLevel } from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { existsSync } from 'node:fs';
import { createActivities } from '../activities/index.js';
import { createDrivers } from '../activities/registry.js';
import type { TrainyardConfig } from '../domain/config.js';
import { bundleOptions, prebuiltBundlePath } from './bundle.js';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  config: TrainyardConfig;
  /** Folder that relative paths in the config are resolved against. */
  baseDir: string;
  /** Bundle the workflow code at start instead of loading the prebuilt bundle. */
  bundleAtStart?: boolean;
  /** Where notifications of the `log` notifier and worker messages go. */
  log?: (line: string) => void;
  identity?: string;
}

/**
 * Heartbeats are sent at most this often. The SDK's default (80% of the heartbeat timeout, up to a
 * minute) would leave an operator waiting ~50 s for `abort` to reach a running deploy.
 */
export const WORKER_TUNING = { maxHeartbeatThrottleInterval: '5 seconds' } as const;

let runtimeInstalled = false;

/** Keeps the SDK's own logging to warnings, so the operator's terminal stays readable. */
export function installQuietRuntime(level: LogLevel = 'WARN'): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger(level) });
}

export async function createTrainyardWorker(options: WorkerOptions): Promise<Worker> {
  const drivers = createDrivers(options.config, options.baseDir, options.log);
  const bundlePath = prebuiltBundlePath();
  if (!options.bundleAtStart && !existsSync(bundlePath)) {
    throw new Error(`the prebuilt workflow bundle ${bundlePath} is missing; run \`npm run build\` first`);
  }
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.config.temporal.taskQueue,
    activities: createActivities({ config: options.config, drivers, client: new Client({ connection: options.connection, namespace: options.namespace }) }),
    ...WORKER_TUNING,
    ...(options.bundleAtStart ? { workflowsPath: bundleOptions().workflowsPath, bundlerOptions: { webpackConfigHook: bundleOptions().webpackConfigHook } } : { workflowBundle: { codePath: bundlePath } }),
    ...(options.identity ? { identity: options.identity } : {}),
  });
}
