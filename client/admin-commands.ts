/** `trainyard worker|setup|config`: running and setting up Trainyard itself. */
import { Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { configJsonSchema } from '../domain/config.js';
import { withClient } from './cli-context.js';
import { declare } from './commands.js';
import { configPath, loadConfigFile } from './config-file.js';
import { planPreReleaseSchedules } from './prerelease-schedules.js';
import { planSchedules, upsertAllSchedules } from './schedules.js';
import { registerSearchAttributes } from './search-attributes.js';
import { ensureStageFollowers } from './stage-commands.js';
import { connectWorker, operatorTarget } from './temporal.js';
import { cliEnv, say } from './terminal.js';

export function register(program: Command): void {
  declare(program, 'worker')
    .action(async () => {
      const { config, baseDir, path } = loadConfigFile(configPath(program.opts().config, cliEnv()));
      const target = operatorTarget(cliEnv());
      const { createTrainyardWorker } = await import('../workers/worker.js');
      const worker = await createTrainyardWorker({ connection: await connectWorker(target), namespace: target.namespace, config, baseDir, configFile: path });
      const schedules = await withClient((client) => upsertAllSchedules(client, config));
      say(`schedules: ${schedules.created.length} created, ${schedules.updated.length} updated, ${schedules.unchanged.length} unchanged, ${schedules.deleted.length} deleted`);
      const followers = await withClient((client) => ensureStageFollowers(client, config));
      if (followers.length > 0) say(`stage followers: ${followers.join(', ')}`);
      say(`worker polling ${config.temporal.taskQueue} on ${target.address}/${target.namespace}`);
      await worker.run();
    });

  declare(program, 'setup')
    .action(async () => {
      const target = operatorTarget(cliEnv());
      const connection = await Connection.connect({ ...target.options, address: target.address, connectTimeout: '5s' });
      try {
        const added = await registerSearchAttributes(connection, target.namespace);
        say(added.length > 0 ? `registered ${added.join(', ')} on ${target.namespace}` : `search attributes already registered on ${target.namespace}`);
      } finally {
        await connection.close();
      }
    });

  const configCmd = declare(program, 'config');
  configCmd
    .command('schema')
    .description('print the JSON Schema of the config file (for editors)')
    .action(() => say(JSON.stringify(configJsonSchema(), null, 2)));
  configCmd
    .command('check')
    .description('validate the config file and print what it implies')
    .action(() => {
      const { config, path } = loadConfigFile(configPath(program.opts().config, cliEnv()));
      say(`${path}: valid`);
      for (const [name, s] of Object.entries(config.services)) {
        say(`  ${name}: releases ${s.release.days.join(',')} at ${s.release.time} ${s.release.timeZone}; tags like ${s.tagFormat}`);
      }
      const schedules = planSchedules(config);
      for (const p of schedules) say(`  schedule ${p.scheduleId}: cut ${p.service} on ${p.describe}`);
      for (const p of planPreReleaseSchedules(config)) say(`  schedule ${p.scheduleId}: pre-release of ${p.service} on ${p.describe}`);
      if (schedules.length === 0) say('  no schedules: cuts only on demand (trainyard start)');
    });

}
