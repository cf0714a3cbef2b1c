/** `trainyard status|watch|promote|abort|retry-deploy|rerun-e2e`: a train and the updates an operator sends it. */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { stableVersion } from '../domain/ledger.js';
import { ENVIRONMENTS, isFinal, type OperatorRequest } from '../domain/train.js';
import { abortUpdate, promoteUpdate, rerunE2EUpdate, retryDeployUpdate } from '../workflows/messages.js';
import { operator, withClient } from './cli-context.js';
import { declare, Rejected, type CommandName } from './commands.js';
import { formatTrain, formatTrainList, type Running } from './format.js';
import { readLedger } from './ledgers.js';
import { activeTrains, followTrain, resolveTrain, trainStatus } from './trains.js';
import { say } from './terminal.js';
import { sendUpdate } from './updates.js';

async function sendTrainUpdate(train: string, update: typeof promoteUpdate, req: OperatorRequest, verb: string): Promise<void> {
  await withClient(async (client) => {
    const id = await resolveTrain(client, train);
    const before = await trainStatus(client, id); // an unknown train is reported with the list of active ones
    let status;
    try {
      status = await sendUpdate(client.workflow.getHandle(id), update, [req], verb);
    } catch (err) {
      const frozen = err instanceof Rejected && update === promoteUpdate && !req.overrideFreeze && !isFinal(before.stage) && before.freezes?.production?.frozen;
      if (frozen) throw new Rejected(`${err.message}\nWith the override-freeze right: trainyard promote ${id} --override-freeze --reason "…"`);
      throw err;
    }
    const override = `${req.overrideFreeze ? ', overriding the production freeze' : ''}${req.overrideBackwards ? `, over ${status.actions.at(-1)?.overrideBackwards ?? 'what production runs'}` : ''}`;
    say(`${verb} ${id} (by ${req.by}: ${req.reason}${override}); stage: ${status.stage}`);
  });
}


function operatorCommand(program: Command, name: CommandName, update: typeof promoteUpdate, verb: string): Command {
  return declare(program, name)
    .requiredOption('--reason <text>', 'why (recorded in the train and notified)')
    .action(async (train: string, opts: { reason: string; overrideFreeze?: boolean; overrideBackwards?: boolean }) => {
      const req: OperatorRequest = { by: operator(program.opts().as), reason: opts.reason };
      if (opts.overrideFreeze) req.overrideFreeze = true;
      if (opts.overrideBackwards) req.overrideBackwards = true;
      await sendTrainUpdate(train, update, req, verb);
    });
}

/** What each environment of a service runs, per its ledger: the train's own view may predate it. */
async function runningVersions(client: Client, service: string): Promise<Running> {
  const running: Running = {};
  await Promise.all(
    ENVIRONMENTS.map(async (env) => {
      const ledger = await readLedger(client, service, env);
      const verified = ledger && stableVersion(ledger);
      if (verified) running[env] = verified;
    }),
  );
  return running;
}

export function register(program: Command): void {
  declare(program, 'status')
    .option('--json', 'machine-readable output')
    .action(async (train: string | undefined, opts: { json?: boolean }) => {
      await withClient(async (client) => {
        if (!train) {
          const trains = await activeTrains(client);
          say(opts.json ? JSON.stringify(trains, null, 2) : formatTrainList(trains));
          return;
        }
        const status = await trainStatus(client, await resolveTrain(client, train, { latestIfNoneActive: true }));
        if (opts.json) {
          say(JSON.stringify(status, null, 2));
          return;
        }
        say(formatTrain(status, await runningVersions(client, status.service)));
      });
    });

  declare(program, 'watch')
    .action(async (train: string) =>
      withClient(async (client) => {
        await followTrain(client, await resolveTrain(client, train, { latestIfNoneActive: true }), (line) => say(line));
      }),
    );

  operatorCommand(program, 'promote', promoteUpdate, 'promote')
    .option('--override-freeze', 'promote through a production freeze (needs the override-freeze right)')
    .option('--override-backwards', 'deploy a train held because production runs a version it does not contain (needs the rollback right)');
  operatorCommand(program, 'abort', abortUpdate, 'abort');
  operatorCommand(program, 'retry-deploy', retryDeployUpdate, 'retry-deploy');
  operatorCommand(program, 'rerun-e2e', rerunE2EUpdate, 'rerun-e2e');
}
