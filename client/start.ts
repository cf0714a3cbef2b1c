/**
 * `npm start`: Trainyard's main job on its embedded default. Starts a Temporal dev server (with the
 * Web UI, persisted to .trainyard/temporal.db), a worker, and the demo service's release train —
 * or resumes the one already running. Ctrl-C stops everything; running it again resumes the train.
 *
 * With TEMPORAL_ADDRESS (or TEMPORAL_PROFILE) set, it uses that cluster and starts no server.
 */
import type { Client } from '@temporalio/client';
import { join } from 'node:path';
import { restartTargets, setupDemoRepo, stopTargets } from '../demo/demo.js';
import { cutId } from '../domain/ids.js';
import type { CutResult } from '../workflows/cutRelease.js';
import { projectRoot } from '../workers/bundle.js';
import { createTrainyardWorker, installQuietRuntime } from '../workers/worker.js';
import { configPath, loadConfigFile } from './config-file.js';
import { startDevServer, type DevServer } from './dev-server.js';
import { upsertAllSchedules } from './schedules.js';
import { ensureStageFollowers } from './stage-commands.js';
import { connectClient, connectWorker, configuredTarget, localTarget } from './temporal.js';
import { activeTrains, followTrain } from './trains.js';

const root = projectRoot();
const dataDir = join(root, '.trainyard');
const demoDir = join(dataDir, 'demo');
const DEMO_SERVICE = 'demo';

async function findOrStartTrain(client: Client, taskQueue: string): Promise<{ id: string; resumed: boolean }> {
  const running = await activeTrains(client, DEMO_SERVICE);
  if (running[0]) return { id: running[0].trainId, resumed: true };
  const result: CutResult = await client.workflow.execute('cutRelease', {
    workflowId: cutId(DEMO_SERVICE),
    taskQueue,
    args: [{ service: DEMO_SERVICE, startedBy: 'npm start' }],
  });
  if (!result.trainId) throw new Error(`the cut started no train: ${result.skipped}`);
  return { id: result.trainId, resumed: false };
}

function banner(uiUrl: string | undefined, id: string, resumed: boolean): string {
  const q = (s: string) => `'${s}'`;
  const link = uiUrl ? `${uiUrl}/namespaces/default/workflows/${encodeURIComponent(id)}` : '(your cluster\'s UI)';
  return [
    '',
    `Trainyard is running${uiUrl ? `; Temporal UI: ${uiUrl}` : ''}`,
    `${resumed ? 'Resumed' : 'Started'} train ${id}`,
    `  in the UI:  ${link}`,
    '',
    'In another terminal:',
    `  npx trainyard status ${q(id)}`,
    `  npx trainyard watch ${DEMO_SERVICE}`,
    `  npx trainyard promote ${DEMO_SERVICE} --reason "E2E reviewed, ship it"`,
    `  temporal workflow query --workflow-id ${q(id)} --name status`,
    '',
    'Staging: http://127.0.0.1:18081/version   Production: http://127.0.0.1:18082/version',
    'Ctrl-C stops everything; `npm start` again resumes the same train.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const demo = !process.env.TRAINYARD_CONFIG;
  const { config, baseDir } = loadConfigFile(demo ? join(root, 'demo', 'trainyard.yaml') : configPath(undefined));
  if (demo && setupDemoRepo(demoDir)) console.log(`Created the demo's git repository at ${join(demoDir, 'repo')}`);

  installQuietRuntime();
  let server: DevServer | undefined;
  let target = configuredTarget();
  if (!target) {
    console.log('Starting the Temporal dev server (data in .trainyard/temporal.db)…');
    server = await startDevServer({ dbFile: join(dataDir, 'temporal.db'), port: 7233, uiPort: 8233 });
    target = localTarget(server.address);
  }
  const client = await connectClient(target);
  const worker = await createTrainyardWorker({ connection: await connectWorker(target), namespace: target.namespace, config, baseDir });
  const running = worker.run();
  for (const [verb, ids] of Object.entries(await upsertAllSchedules(client, config))) {
    if (ids.length > 0) console.log(`Schedules ${verb}: ${ids.join(', ')}`);
  }
  const followers = await ensureStageFollowers(client, config);
  if (followers.length > 0) console.log(`Stage followers: ${followers.join(', ')}`);
  if (demo) {
    const restarted = restartTargets(demoDir);
    if (restarted.length > 0) console.log(`Restarted demo environments: ${restarted.join(', ')}`);
  }

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    worker.shutdown();
    await running.catch(() => undefined);
    await client.connection.close();
    if (demo) stopTargets(demoDir);
    await server?.stop();
    console.log('Stopped. `npm start` resumes where it was.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  const { id, resumed } = await findOrStartTrain(client, config.temporal.taskQueue);
  console.log(banner(server?.uiUrl, id, resumed));
  const ended = await followTrain(client, id, (line) => console.log(`[train] ${line}`), { stopped: () => stopping, tolerateErrors: true });
  if (ended) console.log(`[train] ${id} has ended (${ended.stage}). Run \`npx trainyard start ${DEMO_SERVICE}\` for a new one.`);
  await running;
}

main().catch((err: Error) => {
  console.error(`trainyard: ${err.message}`);
  process.exit(1);
});
