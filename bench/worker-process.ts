/**
 * The bench's worker, as a child process so its memory is its own: a Trainyard worker on the
 * prebuilt workflow bundle (the product's tuning) and a baseline worker on the bench's bundle,
 * side by side on one runtime. Exposes the runtime's Prometheus metrics (workflow task counts) on
 * BENCH_METRICS_PORT and reports events to the bench over IPC. Stops on SIGTERM or a `stop` message.
 */
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { prebuiltBundlePath } from '../workers/bundle.js';
import { WORKER_TUNING, workerTuning } from '../workers/worker.js';
import { baselineActivities } from './baseline-activities.js';
import { BASELINE_QUEUE, TRAIN_QUEUE, type BenchEvent, type WorkerMessage } from './events.js';
import { trainActivities } from './train-activities.js';

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const address = process.env.BENCH_ADDRESS;
  const baselineBundle = process.env.BENCH_BASELINE_BUNDLE;
  if (!address || !baselineBundle || !process.env.BENCH_METRICS_PORT) throw new Error('BENCH_ADDRESS, BENCH_BASELINE_BUNDLE and BENCH_METRICS_PORT are required');
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${process.env.BENCH_METRICS_PORT}` } } },
  });
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection });
  const emit = (event: BenchEvent) => send({ kind: 'event', event });
  const trainyard = await Worker.create({
    connection,
    taskQueue: TRAIN_QUEUE,
    workflowBundle: { codePath: prebuiltBundlePath() },
    activities: trainActivities(client, TRAIN_QUEUE, emit),
    ...workerTuning(),
  });
  const baseline = await Worker.create({
    connection,
    taskQueue: BASELINE_QUEUE,
    workflowBundle: { codePath: baselineBundle },
    activities: baselineActivities(client, emit),
    ...WORKER_TUNING,
  });
  const stop = () => {
    for (const w of [trainyard, baseline]) if (w.getState() === 'RUNNING') w.shutdown();
  };
  process.on('message', (m: { kind?: string }) => m.kind === 'stop' && stop());
  process.on('disconnect', stop);
  const status = setInterval(() => send({ kind: 'status', cachedWorkflows: trainyard.getStatus().numCachedWorkflows }), 500);
  const running = Promise.all([trainyard.run(), baseline.run()]);
  send({ kind: 'ready', maxCachedWorkflows: trainyard.options.maxCachedWorkflows });
  try {
    await running;
  } finally {
    clearInterval(status);
    await connection.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
