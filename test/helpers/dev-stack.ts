/**
 * A dev server and a worker in this process for one config text: what the suites that run whole
 * trains against fake forges share. The config is written to a temporary folder and loaded like a
 * user's file (so its problems are the user's problems).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { LogLevel } from '@temporalio/worker';
import { loadConfigFile } from '../../client/config-file.js';
import { connectClient, connectWorker, localTarget } from '../../client/temporal.js';
import { createTrainyardWorker, installQuietRuntime } from '../../workers/worker.js';
import { runCli, spawnCli, type CliResult } from './cli.js';
import { startTestDevServer } from './temporal.js';

export interface DevStack {
  client: Client;
  /** What the worker's log notifier and annotator wrote. */
  logs: string[];
  dir: string;
  configFile: string;
  /** Runs the `trainyard` CLI in this process with this config against this server (test/helpers/cli.ts). */
  cli(args: string[]): Promise<CliResult>;
  /** The same through the built bin, as a child process. */
  bin(args: string[]): Promise<CliResult>;
  /** Stops the worker, the client and the server, and removes the folder. */
  stop(): Promise<void>;
}

export async function startDevStack(configYaml: string, options: { logLevel?: LogLevel } = {}): Promise<DevStack> {
  installQuietRuntime(options.logLevel);
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-stack-'));
  const configFile = join(dir, 'trainyard.yaml');
  writeFileSync(configFile, configYaml);
  const { config, baseDir } = loadConfigFile(configFile);
  const server = await startTestDevServer();
  const target = localTarget(server.address);
  const client = await connectClient(target);
  const logs: string[] = [];
  const worker = await createTrainyardWorker({ connection: await connectWorker(target), namespace: 'default', config, baseDir, log: (line) => logs.push(line) });
  const running = worker.run();
  const connection = { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default' };
  const cli = (args: string[]) => runCli(['--config', configFile, ...args], connection);
  const bin = (args: string[]) => spawnCli(['--config', configFile, ...args], connection);
  return {
    client,
    logs,
    dir,
    configFile,
    cli,
    bin,
    async stop() {
      worker.shutdown();
      await running.catch(() => undefined);
      await client.connection.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
