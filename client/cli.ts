/**
 * `trainyard`: the operator CLI, a thin client over the workflows' messages. Exit codes: 0 success,
 * 1 rejected or failed, 2 usage.
 */
import { Connection, WorkflowUpdateFailedError } from '@temporalio/client';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { TrainyardError } from '../domain/errors.js';
import type { OperatorRequest } from '../domain/train.js';
import { abortUpdate, promoteUpdate, rerunE2EUpdate, retryDeployUpdate } from '../workflows/messages.js';
import { configJsonSchema } from '../domain/config.js';
import { configPath, loadConfigFile } from './config-file.js';
import { planSchedules, upsertAllSchedules } from './schedules.js';
import { planPreReleaseSchedules } from './prerelease-schedules.js';
import { addPreReleaseCommands } from './prerelease-commands.js';
import { addWebhookCommands } from './webhook-commands.js';
import { addFlagCommands } from './flag-commands.js';
import { registerSearchAttributes } from './search-attributes.js';
import { formatLedger, formatTrain, formatTrainList } from './format.js';
import { environmentsOf, freezeLedger, ledgerView, parseUntil, rollbackLedger, serviceContext, unfreezeLedger, type LedgerOutcome } from './ledgers.js';
import type { rollbackEnvironment } from '../workflows/rollbackEnvironment.js';
import { actAs, operator, Rejected, withClient } from './cli-context.js';
import { addCutCommands } from './cuts.js';
import { addScheduleCommands } from './schedule-commands.js';
import { addStageCommands, ensureStageFollowers } from './stage-commands.js';
import { addCodecServerCommand } from './codec-server.js';
import { connectWorker, operatorTarget } from './temporal.js';
import { activeTrains, followTrain, resolveTrain, trainStatus } from './trains.js';

async function sendUpdate(train: string, update: typeof promoteUpdate, req: OperatorRequest, verb: string): Promise<void> {
  await withClient(async (client) => {
    const id = await resolveTrain(client, train);
    const before = await trainStatus(client, id); // an unknown train is reported with the list of active ones
    try {
      const status = await client.workflow.getHandle(id).executeUpdate(update, { args: [req] });
      const override = req.overrideFreeze ? ', overriding the production freeze' : '';
      console.log(`${verb} ${id} (by ${req.by}: ${req.reason}${override}); stage: ${status.stage}`);
    } catch (err) {
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
      const frozen = update === promoteUpdate && !req.overrideFreeze && before.freezes?.production?.frozen;
      const hint = frozen ? `\nWith the override-freeze right: trainyard promote ${id} --override-freeze --reason "…"` : '';
      throw new Rejected(`${verb} rejected: ${err.cause?.message ?? err.message}${hint}`);
    }
  });
}

function operatorCommand(program: Command, name: string, update: typeof promoteUpdate, verb: string, description: string): Command {
  return program
    .command(`${name} <train>`)
    .description(description)
    .requiredOption('--reason <text>', 'why (recorded in the train and notified)')
    .action(async (train: string, opts: { reason: string; overrideFreeze?: boolean }) => {
      const req: OperatorRequest = { by: operator(program.opts().as), reason: opts.reason };
      if (opts.overrideFreeze) req.overrideFreeze = true;
      await sendUpdate(train, update, req, verb);
    });
}

/** Prints what was done; rejections go to stderr and make the command exit 1. */
function report(verb: string, outcomes: LedgerOutcome[]): void {
  const many = outcomes.length > 1;
  for (const o of outcomes.filter((x) => x.ok)) console.log(o.message);
  const failed = outcomes.filter((o) => !o.ok).map((o) => `${verb} rejected${many ? ` in ${o.environment}` : ''}: ${o.message}`);
  if (failed.length > 0) throw new Rejected(failed.join('\n'));
}

function envOption(all: boolean): Option {
  return new Option('--env <environment>', 'the environment').choices(all ? ['production', 'staging', 'all'] : ['production', 'staging']).default('production');
}

function untilArg(text: string): number {
  try {
    return parseUntil(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function buildProgram(): Command {
  const program = new Command('trainyard')
    .description('Release trains as durable Temporal workflows')
    .option('--as <operator>', 'your operator name (default: $TRAINYARD_OPERATOR or your OS user)')
    .option('--config <file>', 'config file (default: $TRAINYARD_CONFIG or ./trainyard.yaml)')
    // Before the subcommands are added, so they inherit it: usage errors throw (exit 2), not exit(1).
    .exitOverride()
    .hook('preAction', () => actAs(operator(program.opts().as)));

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
    .action(async (train: string) =>
      withClient(async (client) => {
        await followTrain(client, await resolveTrain(client, train, { latestIfNoneActive: true }), (line) => console.log(`${new Date().toISOString()}  ${line}`));
      }),
    );

  addCutCommands(program);
  addScheduleCommands(program);
  addPreReleaseCommands(program);
  addWebhookCommands(program);
  addFlagCommands(program);
  addStageCommands(program);

  operatorCommand(program, 'promote', promoteUpdate, 'promote', 'promote a train to production now').option(
    '--override-freeze',
    'promote through a production freeze (needs the override-freeze right)',
  );
  operatorCommand(program, 'abort', abortUpdate, 'abort', 'abort a train (cancels its running deploy or check)');
  operatorCommand(program, 'retry-deploy', retryDeployUpdate, 'retry-deploy', 'retry a deploy whose retries were exhausted');
  operatorCommand(program, 'rerun-e2e', rerunE2EUpdate, 'rerun-e2e', 'run E2E again on a train waiting after failed E2E');

  program
    .command('freeze <service>')
    .description("freeze a service's environment: trains wait before deploying there until it is unfrozen or the freeze ends")
    .requiredOption('--reason <text>', 'why (shown to waiting trains and recorded)')
    .addOption(envOption(true))
    .addOption(new Option('--until <when>', 'end by itself at an ISO time or after a duration (90m, 2h, 3d)').argParser(untilArg))
    .action(async (service: string, opts: { reason: string; env: string; until?: number }) => {
      const ctx = serviceContext(program.opts().config, service);
      const req = { by: operator(program.opts().as), reason: opts.reason, ...(opts.until !== undefined ? { until: new Date(opts.until).toISOString() } : {}) };
      await withClient(async (client) => {
        const outcomes: LedgerOutcome[] = [];
        for (const env of environmentsOf(opts.env)) outcomes.push(await freezeLedger(client, ctx, env, req));
        report('freeze', outcomes);
      });
    });

  program
    .command('unfreeze <service>')
    .description("end a freeze of a service's environment")
    .requiredOption('--reason <text>', 'why (recorded)')
    .addOption(envOption(true))
    .action(async (service: string, opts: { reason: string; env: string }) => {
      const ctx = serviceContext(program.opts().config, service);
      const req = { by: operator(program.opts().as), reason: opts.reason };
      await withClient(async (client) => {
        const outcomes: LedgerOutcome[] = [];
        for (const env of environmentsOf(opts.env)) outcomes.push(await unfreezeLedger(client, ctx, env, req, opts.env === 'all'));
        if (opts.env === 'all' && outcomes.every((o) => o.skipped)) {
          throw new Rejected(`unfreeze rejected: ${service} is not frozen in staging or production`);
        }
        report('unfreeze', outcomes);
      });
    });

  program
    .command('rollback <service>')
    .description('roll an environment back to its previous verified version (or --to a verified tag), through any freeze')
    .requiredOption('--reason <text>', 'why (recorded and notified)')
    .addOption(envOption(false))
    .option('--to <tag>', 'the verified tag to go back to (default: the one before the current)')
    .option('--no-wait', 'return once the rollback has started')
    .action(async (service: string, opts: { reason: string; env: string; to?: string; wait: boolean }) => {
      const ctx = serviceContext(program.opts().config, service);
      const environment = environmentsOf(opts.env)[0] ?? 'production';
      const req = { by: operator(program.opts().as), reason: opts.reason, ...(opts.to ? { to: opts.to } : {}) };
      await withClient(async (client) => {
        const { rollbackId, tag } = await rollbackLedger(client, ctx, environment, req);
        console.log(`rolling ${service} ${environment} back to ${tag} (by ${req.by}: ${req.reason}): ${rollbackId}`);
        if (!opts.wait) return;
        const result = await client.workflow.getHandle<typeof rollbackEnvironment>(rollbackId).result();
        if (result.outcome !== 'rolled-back') throw new Rejected(`rollback failed: ${result.summary}`);
        console.log(result.summary);
      });
    });

  program
    .command('env <service>')
    .description("an environment's ledger: deploy lock, queue, freeze, last deployments")
    .addOption(envOption(false))
    .option('--json', 'machine-readable output (the ledger query)')
    .action(async (service: string, opts: { env: string; json?: boolean }) => {
      const ctx = serviceContext(program.opts().config, service);
      await withClient(async (client) => {
        const { view, exists } = await ledgerView(client, ctx, environmentsOf(opts.env)[0] ?? 'production');
        console.log(opts.json ? JSON.stringify(view, null, 2) : formatLedger(view, ctx.timeZone, exists));
      });
    });

  program
    .command('worker')
    .description('run a Trainyard worker against the configured Temporal cluster')
    .action(async () => {
      const { config, baseDir } = loadConfigFile(configPath(program.opts().config));
      const target = operatorTarget();
      const { createTrainyardWorker } = await import('../workers/worker.js');
      const worker = await createTrainyardWorker({ connection: await connectWorker(target), namespace: target.namespace, config, baseDir });
      const schedules = await withClient((client) => upsertAllSchedules(client, config));
      console.log(`schedules: ${schedules.created.length} created, ${schedules.updated.length} updated, ${schedules.unchanged.length} unchanged, ${schedules.deleted.length} deleted`);
      const followers = await withClient((client) => ensureStageFollowers(client, config));
      if (followers.length > 0) console.log(`stage followers: ${followers.join(', ')}`);
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

  addCodecServerCommand(program);

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
      const schedules = planSchedules(config);
      for (const p of schedules) console.log(`  schedule ${p.scheduleId}: cut ${p.service} on ${p.describe}`);
      for (const p of planPreReleaseSchedules(config)) console.log(`  schedule ${p.scheduleId}: pre-release of ${p.service} on ${p.describe}`);
      if (schedules.length === 0) console.log('  no schedules: cuts only on demand (trainyard start)');
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
