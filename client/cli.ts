/**
 * `trainyard`: the operator CLI, a thin client over the workflows' messages. Exit codes: 0 success,
 * 1 rejected or failed, 2 usage.
 */
import { Connection, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { Command, CommanderError } from 'commander';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { TrainyardError } from '../domain/errors.js';
import { cutId } from '../domain/ids.js';
import { isFinal, type OperatorRequest } from '../domain/train.js';
import { abortUpdate, promoteUpdate, retryDeployUpdate } from '../workflows/messages.js';
import type { CutRequest, CutResult } from '../workflows/cutRelease.js';
import { configJsonSchema } from '../domain/config.js';
import { configPath, loadConfigFile } from './config-file.js';
import { registerSearchAttributes } from './search-attributes.js';
import { formatTrain, formatTrainList } from './format.js';
import { connectClient, connectWorker, operatorTarget } from './temporal.js';
import { activeTrains, resolveTrain, trainStatus } from './trains.js';

/** A failure the CLI reports in one line (plus a hint) and exits 1 for. */
class Rejected extends Error {}

function operator(flag: string | undefined): string {
  return flag ?? process.env.TRAINYARD_OPERATOR ?? userInfo().username;
}

function taskQueue(configFlag: string | undefined): string {
  const path = configPath(configFlag);
  return existsSync(path) ? loadConfigFile(path).config.temporal.taskQueue : 'trainyard';
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  let client: Client;
  const target = operatorTarget();
  try {
    client = await connectClient(target);
  } catch (err) {
    throw new TrainyardError(
      'FORGE_UNAVAILABLE',
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

async function sendUpdate(train: string, update: typeof promoteUpdate, req: OperatorRequest, verb: string): Promise<void> {
  await withClient(async (client) => {
    const id = await resolveTrain(client, train);
    await trainStatus(client, id); // an unknown train is reported with the list of active ones
    try {
      const status = await client.workflow.getHandle(id).executeUpdate(update, { args: [req] });
      console.log(`${verb} ${id} (by ${req.by}: ${req.reason}); stage: ${status.stage}`);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new Rejected(`${verb} rejected: ${err.cause?.message ?? err.message}`);
      throw err;
    }
  });
}

function operatorCommand(program: Command, name: string, update: typeof promoteUpdate, verb: string, description: string): void {
  program
    .command(`${name} <train>`)
    .description(description)
    .requiredOption('--reason <text>', 'why (recorded in the train and notified)')
    .action(async (train: string, opts: { reason: string }) => {
      await sendUpdate(train, update, { by: operator(program.opts().as), reason: opts.reason }, verb);
    });
}

async function watch(client: Client, id: string): Promise<void> {
  let last = '';
  for (;;) {
    const s = await trainStatus(client, id);
    const line = `${s.stage}${s.waitingFor ? ` — waiting for ${s.waitingFor}` : ''}`;
    if (line !== last) console.log(`${new Date().toISOString()}  ${line}`);
    last = line;
    if (isFinal(s.stage)) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function buildProgram(): Command {
  const program = new Command('trainyard')
    .description('Release trains as durable Temporal workflows')
    .option('--as <operator>', 'your operator name (default: $TRAINYARD_OPERATOR or your OS user)')
    .option('--config <file>', 'config file (default: $TRAINYARD_CONFIG or ./trainyard.yaml)')
    // Before the subcommands are added, so they inherit it: usage errors throw (exit 2), not exit(1).
    .exitOverride();

  program
    .command('status [train]')
    .description('active trains, or one train in detail (train id, or a service with one active train)')
    .option('--json', 'machine-readable output')
    .action(async (train: string | undefined, opts: { json?: boolean }) => {
      await withClient(async (client) => {
        if (!train) {
          const trains = await activeTrains(client);
          console.log(opts.json ? JSON.stringify(trains, null, 2) : formatTrainList(trains));
          return;
        }
        const status = await trainStatus(client, await resolveTrain(client, train, { latestIfNoneActive: true }));
        console.log(opts.json ? JSON.stringify(status, null, 2) : formatTrain(status));
      });
    });

  program
    .command('watch <train>')
    .description('print stage changes until the train ends')
    .action(async (train: string) => withClient(async (client) => watch(client, await resolveTrain(client, train, { latestIfNoneActive: true }))));

  program
    .command('start <service>')
    .description('cut a release of a service now and start its train')
    .option('--ref <ref>', 'branch, tag or commit to tag (default: the default branch head)')
    .option('--tag <tag>', 'explicit tag (default: the next free tag of the release date)')
    .action(async (service: string, opts: { ref?: string; tag?: string }) => {
      await withClient(async (client) => {
        const req: CutRequest = { service, startedBy: operator(program.opts().as) };
        if (opts.ref) req.ref = opts.ref;
        if (opts.tag) req.tag = opts.tag;
        const result: CutResult = await client.workflow.execute('cutRelease', {
          workflowId: cutId(service),
          taskQueue: taskQueue(program.opts().config),
          args: [req],
        });
        console.log(`started ${result.trainId} at ${result.commit.slice(0, 12)}; release slot ${new Date(result.releaseAt).toISOString()}`);
      });
    });

  operatorCommand(program, 'promote', promoteUpdate, 'promote', 'promote a train to production now');
  operatorCommand(program, 'abort', abortUpdate, 'abort', 'abort a train (cancels its running deploy or check)');
  operatorCommand(program, 'retry-deploy', retryDeployUpdate, 'retry-deploy', 'retry a deploy whose retries were exhausted');

  program
    .command('worker')
    .description('run a Trainyard worker against the configured Temporal cluster')
    .action(async () => {
      const { config, baseDir } = loadConfigFile(configPath(program.opts().config));
      const target = operatorTarget();
      const { createTrainyardWorker } = await import('../workers/worker.js');
      const worker = await createTrainyardWorker({ connection: await connectWorker(target), namespace: target.namespace, config, baseDir });
      console.log(`worker polling ${config.temporal.taskQueue} on ${target.address}/${target.namespace}`);
      await worker.run();
    });

  program
    .command('setup')
    .description("register Trainyard's search attributes on the configured Temporal namespace (idempotent)")
    .action(async () => {
      const target = operatorTarget();
      const connection = await Connection.connect({ ...target.options, address: target.address, connectTimeout: '5s' });
      try {
        const added = await registerSearchAttributes(connection, target.namespace);
        console.log(added.length > 0 ? `registered ${added.join(', ')} on ${target.namespace}` : `search attributes already registered on ${target.namespace}`);
      } finally {
        await connection.close();
      }
    });

  const configCmd = program.command('config').description('configuration');
  configCmd
    .command('schema')
    .description('print the JSON Schema of the config file (for editors)')
    .action(() => console.log(JSON.stringify(configJsonSchema(), null, 2)));
  configCmd
    .command('check')
    .description('validate the config file and print what it implies')
    .action(() => {
      const { config, path } = loadConfigFile(configPath(program.opts().config));
      console.log(`${path}: valid`);
      for (const [name, s] of Object.entries(config.services)) {
        console.log(`  ${name}: releases ${s.release.days.join(',')} at ${s.release.time} ${s.release.timeZone}; tags like ${s.tagFormat}`);
      }
    });

  return program;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) ? 0 : 2;
    if (err instanceof Rejected) {
      console.error(err.message);
      return 1;
    }
    if (err instanceof TrainyardError) {
      console.error(`error: ${err.message}\n${err.hint}`);
      return 1;
    }
    console.error(`error: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}
