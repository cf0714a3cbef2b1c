/**
 * A complete demo installation in a temporary folder: a real git repository, a config whose
 * environments are real local processes on free ports, a dev server and a worker.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { TrainStatus } from '../../domain/train.js';
import { loadConfigFile } from '../../client/config-file.js';
import { freePort, type DevServer } from '../../client/dev-server.js';
import { connectClient, connectWorker, localTarget } from '../../client/temporal.js';
import { resolveTrain } from '../../client/trains.js';
import { statusQuery } from '../../workflows/messages.js';
import { pollUntil, queryUntil } from './poll.js';
import { demoSourceDir, setupDemoRepo, stopTargets } from '../../demo/demo.js';
import { createTrainyardWorker, installQuietRuntime } from '../../workers/worker.js';
import { runCli, spawnCli, type CliResult } from './cli.js';
import { startTestDevServer } from './temporal.js';

export interface DemoEnv {
  dir: string;
  /** A client of the installation's server (the tests' own; the CLI makes its own). */
  client: Client;
  configFile: string;
  server: DevServer;
  worker: Worker;
  ports: { staging: number; production: number };
  /** What the worker's log notifier and annotator wrote. */
  logs: string[];
  /** Runs the `trainyard` CLI in this process against this installation (test/helpers/cli.ts). */
  cli(args: string[]): Promise<CliResult>;
  /** The same through the built bin, as a child process. */
  bin(args: string[]): Promise<CliResult>;
  /** `trainyard status <train> --json`. */
  statusOf(train: string): Promise<TrainStatus>;
  /** Polls `status` until the train is in `stage` (or in one of several, so a wrong turn ends the wait at once). */
  waitForStage(train: string, stage: string | string[], timeoutMs?: number): Promise<TrainStatus>;
  /** The version a demo environment's process reports. */
  versionAt(port: number): Promise<string>;
  stop(): Promise<void>;
}

export function demoConfig(dir: string, ports: { staging: number; production: number }, extra = ''): string {
  const deploy = join(demoSourceDir, 'deploy.mjs');
  const e2e = join(demoSourceDir, 'e2e.mjs');
  const env = `env: { DEMO_DIR: ${JSON.stringify(dir)} }`;
  return `
services:
  demo:
    forge: { kind: local-git, path: ${JSON.stringify(join(dir, 'repo'))} }
    tagFormat: "demo/v{yyyy}.{MM}.{dd}.{n}"
    release: { timeZone: America/New_York, days: [mon, tue, wed, thu, fri, sat, sun], time: "11:00", minLeadHours: 12 }
    e2e: { kind: command, command: [node, ${JSON.stringify(e2e)}, --url, "http://127.0.0.1:${ports.staging}"], timeoutSeconds: 60 }
    environments:
      staging:
        deploy: { kind: command, command: [node, ${JSON.stringify(deploy)}, staging, --port, "${ports.staging}"], timeoutSeconds: 60, ${env} }
        smoke: { kind: http, urls: ["http://127.0.0.1:${ports.staging}/health"], settleSeconds: 10 }
        versionUrl: http://127.0.0.1:${ports.staging}/version
      production:
        deploy: { kind: command, command: [node, ${JSON.stringify(deploy)}, production, --port, "${ports.production}"], timeoutSeconds: 60, ${env} }
        smoke: { kind: http, urls: ["http://127.0.0.1:${ports.production}/version"], expectVersion: true, settleSeconds: 10 }
        versionUrl: http://127.0.0.1:${ports.production}/version
        annotate: [{ kind: log }]
${extra}`;
}

/** `ui`: serve the Temporal Web UI too, on a free port (`server.uiUrl`). */
export async function startDemoEnv(extraConfig = '', options: { ui?: boolean } = {}): Promise<DemoEnv> {
  installQuietRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-demo-'));
  setupDemoRepo(dir);
  const ports = { staging: await freePort(), production: await freePort() };
  const configFile = join(dir, 'trainyard.yaml');
  writeFileSync(configFile, demoConfig(dir, ports, extraConfig));
  const { config, baseDir } = loadConfigFile(configFile);

  const server = await startTestDevServer(options.ui ? { ui: true } : {});
  const target = localTarget(server.address);
  const logs: string[] = [];
  const worker = await createTrainyardWorker({ connection: await connectWorker(target), namespace: 'default', config, baseDir, configFile, log: (line) => logs.push(line) });
  const running = worker.run();
  const client = await connectClient(target);

  const connection = { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default' };
  const cli = (args: string[]) => runCli(['--config', configFile, ...args], connection);
  const bin = (args: string[]) => spawnCli(['--config', configFile, ...args], connection);

  const statusOf = async (train: string): Promise<TrainStatus> => {
    const out = await cli(['status', train, '--json']);
    if (out.code !== 0) throw new Error(`trainyard status ${train} failed: ${out.stderr}`);
    return JSON.parse(out.stdout) as TrainStatus;
  };

  return {
    dir,
    client,
    configFile,
    statusOf,
    // Waiting asks the workflow in-process (a CLI process per poll costs a second of CPU each); what
    // a test asserts on goes through the CLI (`statusOf`).
    async waitForStage(train, stage, timeoutMs = 45_000) {
      const id = await pollUntil(`train ${train} to exist`, () => resolveTrain(client, train, { latestIfNoneActive: true }), { timeoutMs });
      const stages = Array.isArray(stage) ? stage : [stage];
      return queryUntil(client.workflow.getHandle(id), statusQuery, (s) => stages.includes(s.stage), `${id} to reach ${stages.join(' or ')}`, { timeoutMs });
    },
    async versionAt(port) {
      const body = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { version: string };
      return body.version;
    },
    server,
    worker,
    ports,
    logs,
    cli,
    bin,
    async stop() {
      await client.connection.close();
      worker.shutdown();
      await running.catch(() => undefined);
      await stopTargets(dir);
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
