/**
 * `npm start`: Trainyard's main job on its embedded default. Starts a Temporal dev server (with the
 * Web UI, persisted to .trainyard/temporal.db), a worker, and the demo service's release train —
 * or resumes the one already running. Ctrl-C stops everything; running it again resumes the train.
 *
 * With TEMPORAL_ADDRESS (or TEMPORAL_PROFILE) set, it uses that cluster and starts no server.
 */
import { join } from 'node:path';
import { demoBranchHead, restartTargets, setupDemoRepo, stopTargets } from '../demo/demo.js';
import { adjustDemoConfig, demoPortsOf, demoVersionUrls, startSettings } from '../demo/settings.js';
import { projectRoot } from '../workers/bundle.js';
import { createTrainyardWorker, installQuietRuntime } from '../workers/worker.js';
import { configPath, loadConfigFile } from './config-file.js';
import { startDevServer, type DevServer } from './dev-server.js';
import { upsertAllSchedules } from './schedules.js';
import { ensureStageFollowers } from './stage-commands.js';
import { connectClient, connectWorker, configuredTarget, localTarget } from './temporal.js';
import { findOrStartTrain, type TrainChoice } from './start-train.js';
import { followTrain } from './trains.js';

const root = projectRoot();
const DEMO_SERVICE = 'demo';

function trainLines(choice: TrainChoice): string[] {
  if (choice.how === 'resumed') return [`Resumed train ${choice.id}`];
  if (choice.how === 'started') return [`Started train ${choice.id} (${choice.why})`];
  return [
    `Resumed nothing: train ${choice.id} has ended (${choice.stage}) and ${DEMO_SERVICE}'s branch has not moved since (${choice.commit.slice(0, 12)}).`,
    `Cut the next train with: npx trainyard start ${DEMO_SERVICE} --reason "the next release"`,
  ];
}

function banner(opts: { uiUrl?: string; address?: string; choice: TrainChoice; versionUrls?: string }): string {
  const { uiUrl, choice } = opts;
  const id = choice.id;
  const q = (s: string) => `'${s}'`;
  const link = uiUrl ? `${uiUrl}/namespaces/default/workflows/${encodeURIComponent(id)}` : '(your cluster\'s UI)';
  // The CLI's default server is 127.0.0.1:7233; elsewhere, say how to reach this one.
  const address = opts.address && opts.address !== '127.0.0.1:7233' ? [`  export TEMPORAL_ADDRESS=${opts.address}`] : [];
  return [
    '',
    `Trainyard is running${uiUrl ? `; Temporal UI: ${uiUrl}` : ''}`,
    ...trainLines(choice),
    `  in the UI:  ${link}`,
    '',
    'In another terminal:',
    ...address,
    `  npx trainyard status ${q(id)}`,
    `  npx trainyard watch ${DEMO_SERVICE}`,
    `  npx trainyard promote ${DEMO_SERVICE} --reason "E2E reviewed, ship it"`,
    `  temporal workflow query --workflow-id ${q(id)} --name status${address.length > 0 ? ` --address ${opts.address}` : ''}`,
    '',
    ...(opts.versionUrls ? [opts.versionUrls] : []),
    'Ctrl-C stops everything; `npm start` again resumes the same train.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const settings = startSettings(root);
  const demoDir = join(settings.dataDir, 'demo');
  const demo = !process.env.TRAINYARD_CONFIG;
  const { config, baseDir, path } = demo
    ? loadConfigFile(join(root, 'demo', 'trainyard.yaml'), (raw) => adjustDemoConfig(raw, settings))
    : loadConfigFile(configPath(undefined));
  if (demo && setupDemoRepo(demoDir)) console.log(`Created the demo's git repository at ${join(demoDir, 'repo')}`);

  installQuietRuntime();
  let server: DevServer | undefined;
  let target = configuredTarget();
  if (!target) {
    const dbFile = join(settings.dataDir, 'temporal.db');
    console.log(`Starting the Temporal dev server on port ${settings.temporalPort} (data in ${dbFile})…`);
    server = await startDevServer({ dbFile, port: settings.temporalPort, uiPort: settings.uiPort, ...(settings.uiCodecEndpoint ? { uiCodecEndpoint: settings.uiCodecEndpoint } : {}) });
    target = localTarget(server.address);
  }
  const client = await connectClient(target);
  const worker = await createTrainyardWorker({ connection: await connectWorker(target), namespace: target.namespace, config, baseDir, configFile: path });
  const running = worker.run();
  for (const [verb, ids] of Object.entries(await upsertAllSchedules(client, config))) {
    if (ids.length > 0) console.log(`Schedules ${verb}: ${ids.join(', ')}`);
  }
  const followers = await ensureStageFollowers(client, config);
  if (followers.length > 0) console.log(`Stage followers: ${followers.join(', ')}`);
  if (demo) {
    const restarted = restartTargets(demoDir, demoPortsOf(config.services[DEMO_SERVICE]?.environments ?? {}));
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
    if (demo) await stopTargets(demoDir);
    await server?.stop();
    console.log('Stopped. `npm start` resumes where it was.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  const choice = await findOrStartTrain(client, DEMO_SERVICE, config.temporal.taskQueue, demo ? () => demoBranchHead(demoDir) : undefined);
  const environments = config.services[DEMO_SERVICE]?.environments;
  console.log(banner({ ...(server ? { uiUrl: server.uiUrl, address: server.address } : {}), choice, ...(demo && environments ? { versionUrls: demoVersionUrls(environments) } : {}) }));
  if (choice.how !== 'ended') {
    const ended = await followTrain(client, choice.id, (line) => console.log(`[train] ${line}`), { stopped: () => stopping, tolerateErrors: true });
    if (ended) console.log(`[train] ${choice.id} has ended (${ended.stage}). Run \`npx trainyard start ${DEMO_SERVICE} --reason "…"\` for a new one.`);
  }
  await running;
}

main().catch((err: Error) => {
  console.error(`trainyard: ${err.message}`);
  process.exit(1);
});
