/** What every `trainyard` command needs: who the operator is, the task queue, a client. */
import type { Client } from '@temporalio/client';
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { TrainyardError } from '../domain/errors.js';
import { configPath, loadConfigFile } from './config-file.js';
import { connectClient, operatorTarget } from './temporal.js';
import { cliEnv, currentRun } from './terminal.js';

export { Rejected } from './commands.js';

export function operator(flag: string | undefined): string {
  return flag ?? cliEnv().TRAINYARD_OPERATOR ?? userInfo().username;
}

/** Who this CLI run acts as, set once the command line is parsed (`--as`, else the environment, else the OS user). */
export function actAs(name: string): void {
  currentRun().actingAs = name;
}

/** The client identity Temporal records with each message: the operator and the machine. */
function clientIdentity(): string {
  return `trainyard-cli:${currentRun().actingAs ?? operator(undefined)}@${hostname()}`;
}

export function taskQueue(configFlag: string | undefined): string {
  const path = configPath(configFlag, cliEnv());
  return existsSync(path) ? loadConfigFile(path).config.temporal.taskQueue : 'trainyard';
}

export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  let client: Client;
  const target = operatorTarget(cliEnv());
  try {
    client = await connectClient(target, clientIdentity());
  } catch (err) {
    throw new TrainyardError(
      'TEMPORAL_UNAVAILABLE',
      `cannot reach Temporal at ${target.address} (${(err as Error).message})`,
      'Is `npm start` (or your Temporal cluster) running? Set TEMPORAL_ADDRESS to use another cluster.',
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}
