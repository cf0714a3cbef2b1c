/**
 * `trainyard flag start|status|approve|advance|pause|resume|rollback|abort <flag>`: a thin client
 * over the `flagRollout` workflow's messages. The validators decide; this prints their verdict.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { declare } from './commands.js';
import { flagWorkflowId, type FlagState } from '../domain/flag-rollout.js';
import { type ApproveRequest, type FlagRequest } from '../domain/flag-requests.js';
import { abortFlagUpdate, advanceFlagUpdate, approveFlagUpdate, flagStatusQuery, pauseFlagUpdate, resumeFlagUpdate, rollbackStageFlagUpdate } from '../workflows/flag-messages.js';
import { operator, Rejected, taskQueue, withClient } from './cli-context.js';
import { say } from './terminal.js';
import { sendUpdate } from './updates.js';

async function statusOf(client: Client, flag: string): Promise<FlagState> {
  try {
    return await client.workflow.getHandle(flagWorkflowId(flag)).query(flagStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new Rejected(`flag ${flag} has no rollout; start one with: trainyard flag start ${flag}`);
    throw err;
  }
}

export function formatFlag(s: FlagState): string {
  const rate = (v: number | undefined) => (v === undefined ? '—' : String(v));
  const rows = s.environments.map(
    (e) => `  ${e.name.padEnd(14)} ${e.result.padEnd(8)} flag ${e.enabled ? 'on ' : 'off'}  before ${rate(e.before).padEnd(8)} after ${rate(e.after).padEnd(8)} ${e.by ?? ''}${e.at ? ` ${new Date(e.at).toISOString()}` : ''}`,
  );
  const lines = [`${flagWorkflowId(s.flag)}: ${s.status}${s.ended ? ` (${s.ended})` : ''}${s.paused ? ` PAUSED by ${s.paused.by}: ${s.paused.reason}` : ''}`, ...rows];
  if (s.approval) lines.push(`approved by ${s.approval.by}: ${s.approval.reason}`);
  if (s.cleanup) lines.push(`clean-up merge request: ${s.cleanup.url}`);
  if (s.waitingFor) lines.push(`waiting for: ${s.waitingFor}`);
  return lines.join('\n');
}

type Update = typeof advanceFlagUpdate;

/** `command` names the request in a rejection ("approve rejected: …"); `verb` tells what happened ("approved flag/x"). */
async function send(flag: string, update: Update | typeof approveFlagUpdate, req: FlagRequest | ApproveRequest, command: string, verb: string): Promise<void> {
  await withClient(async (client) => {
    await statusOf(client, flag); // an unknown flag says how to start it
    const state = await sendUpdate(client.workflow.getHandle(flagWorkflowId(flag)), update as Update, [req as FlagRequest], command);
    say(`${verb} ${flagWorkflowId(flag)} (by ${req.by}: ${req.reason}); now ${state.status}`);
  });
}

export function register(program: Command): void {
  const flag = declare(program, 'flag');
  flag
    .command('start <flag>')
    .description('start the rollout of a flag from the config (acceptance testing begins at once)')
    .action(async (name: string) =>
      withClient(async (client) => {
        const startedBy = operator(program.opts().as);
        try {
          await client.workflow.start('flagRollout', { workflowId: flagWorkflowId(name), taskQueue: taskQueue(program.opts().config), args: [{ flag: name, startedBy }] });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) throw new Rejected(`flag ${name} is already rolling out; trainyard flag status ${name}`);
          throw err;
        }
        say(`started ${flagWorkflowId(name)} (by ${startedBy})`);
      }),
    );
  flag
    .command('status <flag>')
    .description('status, per-environment test records and what the rollout waits for')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        const state = await statusOf(client, name);
        say(opts.json ? JSON.stringify(state, null, 2) : formatFlag(state));
      }),
    );
  flag
    .command('approve <flag>')
    .description("a maintainer's approval for Opt-in (dashboard, alerts and runbook links must be known)")
    .requiredOption('--reason <text>', 'why (recorded and notified)')
    .option('--dashboard <url>', 'the dashboard row watching the flag')
    .option('--alerts <url>', 'the alert rules for the flag')
    .option('--runbook <url>', 'the runbook section on disabling the flag')
    .action(async (name: string, opts: { reason: string; dashboard?: string; alerts?: string; runbook?: string }) => {
      const req: ApproveRequest = { by: operator(program.opts().as), reason: opts.reason };
      if (opts.dashboard) req.dashboard = opts.dashboard;
      if (opts.alerts) req.alerts = opts.alerts;
      if (opts.runbook) req.runbook = opts.runbook;
      await send(name, approveFlagUpdate, req, 'approve', 'approved');
    });
  const simple: [string, Update, string, string][] = [
    ['advance', advanceFlagUpdate, 'advanced', 'next status now; or test again after a breach; or retry a failed driver'],
    ['pause', pauseFlagUpdate, 'paused', 'stop automatic progress until resume'],
    ['resume', resumeFlagUpdate, 'resumed', 'resume automatic progress'],
    ['rollback', rollbackStageFlagUpdate, 'rolled back a stage of', 'go back one status (flag disabled where needed) and hold'],
    ['abort', abortFlagUpdate, 'aborted', 'end the rollout; the flag is turned off everywhere'],
  ];
  for (const [command, update, verb, description] of simple) {
    flag
      .command(`${command} <flag>`)
      .description(description)
      .requiredOption('--reason <text>', 'why (recorded and notified)')
      .action(async (name: string, opts: { reason: string }) => send(name, update, { by: operator(program.opts().as), reason: opts.reason }, command, verb));
  }
}
