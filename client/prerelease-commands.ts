/**
 * `trainyard deploy <service> --tag <tag> --env production` (Monitor's 1-click deploy of a
 * pre-release), `trainyard prerelease status|waive|ack-env|recheck <service> --tag <tag>` (the QA
 * gate) and `trainyard revert <service> --pr <n>… --reason …` (stage-fixes). Each operator action
 * is an update: the pre-release's (their validators check the gate and the operator's right) or, for
 * reverts, the production ledger's `revert` (the `revert` right; its history records who, why and
 * what was opened), so the UI and `temporal workflow update` follow the same rules.
 */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { declare } from './commands.js';
import { preReleaseId, prNumber } from '../domain/prerelease.js';
import type { PreReleaseStatus } from '../domain/prerelease.js';
import { revertUpdate } from '../workflows/ledger-messages.js';
import { acknowledgeEnvUpdate, deployUpdate, preReleaseStatusQuery, recheckUpdate, waiveUpdate } from '../workflows/prerelease-messages.js';
import { operator, Rejected, withClient } from './cli-context.js';
import { serviceAction, serviceContext } from './ledgers.js';
import { say } from './terminal.js';
import { sendUpdate } from './updates.js';

function prArg(value: string, previous: number[] = []): number[] {
  const n = prNumber(value);
  if (n === undefined) throw new InvalidArgumentError(`"${value}" is not a pull request number`);
  return [...previous, n];
}

/** The pre-release's handle and status; an unknown one is rejected with how to list them. */
async function preRelease(client: Client, service: string, tag: string, verb: string) {
  const id = preReleaseId(service, tag);
  const handle = client.workflow.getHandle(id);
  try {
    return { id, handle, status: await handle.query(preReleaseStatusQuery) };
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    throw new Rejected(`${verb} rejected: there is no pre-release ${tag} of ${service} (${id}); pre-releases are listed with: temporal workflow list --query 'TrainyardService = "${service}"'`);
  }
}

export function formatPreRelease(s: PreReleaseStatus): string {
  const lines = [`${s.workflowId}: ${s.stage}${s.waitingFor ? ` (waiting for ${s.waitingFor})` : ''}`, `commit ${s.commit.slice(0, 12)}${s.previousTag ? `, since ${s.previousTag}` : ''}${s.releaseUrl ? `, ${s.releaseUrl}` : ''}`];
  for (const pr of s.prs) {
    const qa = pr.approved ? 'QA approved' : pr.waived ? `QA waived by ${pr.waived.by}` : 'QA not approved';
    const env = pr.needsEnvVar ? (pr.envAcknowledged ? `, env var acknowledged by ${pr.envAcknowledged.by}` : ', env var change NOT acknowledged') : '';
    lines.push(`  #${pr.number} ${pr.title}: ${qa}${env}`);
  }
  if (s.error) lines.push(`error: ${s.error}`);
  return lines.join('\n');
}

/** Sends one of the gate's updates and prints the gate after it. */
async function gateAction(service: string, tag: string, verb: string, send: (handle: WorkflowHandle) => Promise<PreReleaseStatus>): Promise<void> {
  await withClient(async (client) => {
    const { handle } = await preRelease(client, service, tag, verb);
    say(formatPreRelease(await send(handle)));
  });
}

async function deploy(service: string, tag: string, by: string, reason: string): Promise<void> {
  await withClient(async (client) => {
    const { id, handle } = await preRelease(client, service, tag, 'deploy');
    const status = await sendUpdate(handle, deployUpdate, [{ by, reason }], 'deploy');
    say(`deploying ${tag} of ${service} to production (by ${by}: ${reason}); follow it with: temporal workflow query --workflow-id '${id}' --name status`);
    say(`stage: ${status.stage}`);
  });
}

/** Asks the service's production ledger to open the reverts; prints each, and fails if any failed. */
async function revert(configFlag: string | undefined, service: string, req: { by: string; reason: string; prs: number[] }): Promise<void> {
  const ctx = serviceContext(configFlag, service);
  await withClient(async (client) => {
    const { results } = await serviceAction(client, ctx, 'revert', (ledger) => ledger.executeUpdate(revertUpdate, { args: [req] }));
    for (const r of results) if (r.revert) say(`#${r.pr}: revert opened as #${r.revert.number} ${r.revert.url}`);
    const failed = results.flatMap((r) => (r.error !== undefined ? [`#${r.pr}: ${r.error}`] : []));
    if (failed.length > 0) throw new Rejected(`revert failed for ${failed.length} pull request(s):\n${failed.join('\n')}`);
  });
}

export function register(program: Command): void {
  declare(program, 'deploy')
    .requiredOption('--tag <tag>', 'the pre-release, e.g. 2024.09.01')
    .addOption(new Option('--env <environment>', 'where to deploy').choices(['production']).default('production'))
    .requiredOption('--reason <text>', 'why (recorded and notified)')
    .action(async (service: string, opts: { tag: string; reason: string }) => {
      await deploy(service, opts.tag, operator(program.opts().as), opts.reason);
    });
  const gate = declare(program, 'prerelease');
  gate
    .command('status <service>')
    .description('the gate: each pull request approved, waived or blocked, and what the pre-release waits for')
    .requiredOption('--tag <tag>', 'the pre-release, e.g. 2024.09.01')
    .option('--json', 'machine-readable output')
    .action(async (service: string, opts: { tag: string; json?: boolean }) => {
      await withClient(async (client) => {
        const { status } = await preRelease(client, service, opts.tag, 'status');
        say(opts.json ? JSON.stringify(status, null, 2) : formatPreRelease(status));
      });
    });
  const prActions: [string, typeof waiveUpdate, string, string][] = [
    ['waive', waiveUpdate, 'let a pull request through the QA gate without its approval label (promote right)', 'why (recorded and notified)'],
    ['ack-env', acknowledgeEnvUpdate, "an SRE's acknowledgement that a pull request's production environment variable change is done", 'what was changed (recorded and notified)'],
  ];
  for (const [command, update, description, reasonHelp] of prActions) {
    gate
      .command(`${command} <service>`)
      .description(description)
      .requiredOption('--tag <tag>', 'the pre-release')
      .requiredOption('--pr <number>', 'the pull request')
      .requiredOption('--reason <text>', reasonHelp)
      .action(async (service: string, opts: { tag: string; pr: string; reason: string }) =>
        gateAction(service, opts.tag, command, (h) => sendUpdate(h, update, [{ by: operator(program.opts().as), reason: opts.reason, pr: opts.pr }], command)),
      );
  }
  gate
    .command('recheck <service>')
    .description("read the pull requests' labels again now")
    .requiredOption('--tag <tag>', 'the pre-release')
    .action(async (service: string, opts: { tag: string }) =>
      gateAction(service, opts.tag, 'recheck', (h) => sendUpdate(h, recheckUpdate, [{ by: operator(program.opts().as) }], 'recheck')),
    );
  declare(program, 'revert')
    .requiredOption('--pr <number...>', 'the merged pull requests to revert', prArg as never)
    .requiredOption('--reason <text>', 'why (recorded in the production ledger and notified)')
    .action(async (service: string, opts: { pr: number[]; reason: string }) => {
      await revert(program.opts().config, service, { by: operator(program.opts().as), reason: opts.reason, prs: opts.pr });
    });
}
