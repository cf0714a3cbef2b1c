/**
 * One start of Trainyard's worker as `trainyard worker` starts it (demo config), in a fresh process
 * so no bundle or compile cache of an earlier start helps. `node startup-probe.js prebuilt|bundle`;
 * reports over IPC how long Worker creation took and how long since the process started.
 */
import { NativeConnection } from '@temporalio/worker';
import { join } from 'node:path';
import { loadConfigFile } from '../client/config-file.js';
import { projectRoot } from '../workers/bundle.js';
import { createTrainyardWorker, installQuietRuntime } from '../workers/worker.js';

export interface StartupSample {
  mode: 'prebuilt' | 'bundle';
  /** createTrainyardWorker called → the worker is running. */
  readyMs: number;
  /** The process started → the worker is running (Node start and module loading included). */
  processMs: number;
}

async function main(): Promise<void> {
  const mode = process.argv[2] === 'bundle' ? 'bundle' : 'prebuilt';
  const address = process.env.BENCH_ADDRESS;
  if (!address) throw new Error('BENCH_ADDRESS is required');
  installQuietRuntime();
  const connection = await NativeConnection.connect({ address });
  const loaded = loadConfigFile(join(projectRoot(), 'demo', 'trainyard.yaml'));
  const config = { ...loaded.config, temporal: { ...loaded.config.temporal, taskQueue: `bench-startup-${process.pid}` } };
  const t0 = performance.now();
  const worker = await createTrainyardWorker({ connection, namespace: 'default', config, baseDir: loaded.baseDir, bundleAtStart: mode === 'bundle', log: () => undefined });
  const running = worker.run();
  while (worker.getState() !== 'RUNNING') await new Promise((r) => setTimeout(r, 1));
  const sample: StartupSample = { mode, readyMs: performance.now() - t0, processMs: process.uptime() * 1000 };
  process.send?.(sample);
  worker.shutdown();
  await running;
  await connection.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`startup probe: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
