/**
 * `trainyard deploy <service> --tag <tag> --env production` (Monitor's 1-click deploy of a
 * pre-release) and `trainyard revert <service> --pr <n>…` (stage-fixes). The deploy is the
 * pre-release's `deploy` update: its validator checks the QA gate and the operator's right, so the
 * UI and `temporal workflow update` follow the same rules. Reverts go straight to the forge.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { buildForge } from '../activities/registry.js';
import { TrainyardError } from '../domain/errors.js';
import { preReleaseId, prNumber } from '../domain/prerelease.js';
import { deployUpdate, preReleaseStatusQuery } from '../workflows/prerelease-messages.js';
import { operator, Rejected, withClient } from './cli-context.js';
import { configPath, loadConfigFile } from './config-file.js';

function prArg(value: string, previous: number[] = []): number[] {
  const n = prNumber(value);
  if (n === undefined) throw new InvalidArgumentError(`"${value}" is not a pull request number`);
  return [...previous, n];
}

async function deploy(service: string, tag: string, by: string, reason: string): Promise<void> {
  await withClient(async (client) => {
    const id = preReleaseId(service, tag);
    const handle = client.workflow.getHandle(id);
    try {
      await handle.query(preReleaseStatusQuery);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      throw new Rejected(`deploy rejected: there is no pre-release ${tag} of ${service} (${id}); pre-releases are listed with: temporal workflow list --query 'TrainyardService = "${service}"'`);
    }
    try {
      const status = await handle.executeUpdate(deployUpdate, { args: [{ by, reason }] });
      console.log(`deploying ${tag} of ${service} to production (by ${by}: ${reason}); follow it with: temporal workflow query --workflow-id '${id}' --name status`);
      console.log(`stage: ${status.stage}`);
    } catch (err) {
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
      throw new Rejected(`deploy rejected: ${err.cause?.message ?? err.message}`);
    }
  });
}

async function revert(configFlag: string | undefined, service: string, prs: number[]): Promise<void> {
  const { config, baseDir, path } = loadConfigFile(configPath(configFlag));
  const s = config.services[service];
  if (!s) throw new TrainyardError('UNKNOWN_SERVICE', `service "${service}" is not in ${path}`, `Services there: ${Object.keys(config.services).join(', ')}.`);
  const forge = buildForge(s.forge, baseDir);
  const failed: string[] = [];
  // One by one, so a failure names its pull request and the others are still opened.
  for (const n of prs) {
    try {
      const change = await forge.revertChangeRequest(n);
      console.log(`#${n}: revert opened as #${change.number} ${change.url}`);
    } catch (err) {
      failed.push(`#${n}: ${err instanceof TrainyardError ? err.describe() : (err as Error).message}`);
    }
  }
  if (failed.length > 0) throw new Rejected(`revert failed for ${failed.length} pull request(s):\n${failed.join('\n')}`);
}

export function addPreReleaseCommands(program: Command): void {
  program
    .command('deploy <service>')
    .description("deploys a pre-release whose QA gate is open to production (marks it latest, smoke-tests, rolls back on failure)")
    .requiredOption('--tag <tag>', 'the pre-release, e.g. 2024.09.01')
    .addOption(new Option('--env <environment>', 'where to deploy').choices(['production']).default('production'))
    .requiredOption('--reason <text>', 'why (recorded and notified)')
    .action(async (service: string, opts: { tag: string; reason: string }) => {
      await deploy(service, opts.tag, operator(program.opts().as), opts.reason);
    });
  program
    .command('revert <service>')
    .description('opens a revert pull request for each merged pull request (stage-fixes)')
    .requiredOption('--pr <number...>', 'the merged pull requests to revert', prArg as never)
    .action(async (service: string, opts: { pr: number[] }) => {
      await revert(program.opts().config, service, opts.pr);
    });
}
