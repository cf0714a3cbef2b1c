/**
 * The stage followers (`stage/<service>`, seed 004's "every commit to main is deployed to stage"):
 * started with the worker for every service with `stageOnMerge`, and
 *   trainyard stage status <service> [--json]   what staging got last, what the follower waits for
 *   trainyard stage nudge <service>             look at the branch now (what a push webhook does)
 *   trainyard stage retry <service> --reason …  deploy the newest commit again after a failure
 * `retry` is the follower's update: its validator checks the operator's right, so the UI and
 * `temporal workflow update --name retry` follow the same rules.
 */
import { WorkflowIdConflictPolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { declare } from './commands.js';
import type { TrainyardConfig } from '../domain/config.js';
import { stageFollowerId } from '../domain/ids.js';
import type { StageStatus } from '../domain/stage.js';
import { STAGE_WORKFLOW, stagePushSignal, stageRetryUpdate, stageStatusQuery } from '../workflows/stage-messages.js';
import { operator, Rejected, withClient } from './cli-context.js';
import { say } from './terminal.js';
import { sendUpdate } from './updates.js';

/** Starts the follower of every service with `stageOnMerge` that has none running; returns their ids. */
export async function ensureStageFollowers(client: Client, config: TrainyardConfig): Promise<string[]> {
  const ids: string[] = [];
  for (const [service, s] of Object.entries(config.services)) {
    if (!s.stageOnMerge) continue;
    const workflowId = stageFollowerId(service);
    await client.workflow.start(STAGE_WORKFLOW, { workflowId, taskQueue: config.temporal.taskQueue, args: [{ service }], workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING });
    ids.push(workflowId);
  }
  return ids;
}

function formatStage(s: StageStatus): string {
  const when = (at: number) => new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const lines = [`${stageFollowerId(s.service)}: follows ${s.branch ?? '(no branch: not configured)'} to staging`, `waits for: ${s.waitsFor}`];
  if (s.lastLook) lines.push(`last look: ${when(s.lastLook.at)} head ${s.lastLook.head.slice(0, 12)} (${s.lastLook.headState}), candidate ${s.lastLook.candidate?.slice(0, 12) ?? 'none'}`);
  if (s.lastPush) lines.push(`last push heard: ${when(s.lastPush.at)}${s.lastPush.sha ? ` ${s.lastPush.sha.slice(0, 12)}` : ''}${s.lastPush.by ? ` by ${s.lastPush.by}` : ''}`);
  lines.push(s.history.length > 0 ? 'deployed to staging (newest first):' : 'nothing deployed to staging yet');
  for (const d of s.history) lines.push(`  ${when(d.at)}  ${d.commit.slice(0, 12)}  ${d.outcome}  ${d.summary}`);
  return lines.join('\n');
}

async function follower(client: Client, service: string) {
  const handle = client.workflow.getHandle(stageFollowerId(service));
  try {
    return { handle, status: await handle.query(stageStatusQuery) };
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    throw new Rejected(`${service} has no stage follower (${stageFollowerId(service)}); add stageOnMerge to the service in the config and start the worker`);
  }
}

export function register(program: Command): void {
  const stage = declare(program, 'stage');
  stage
    .command('status <service>')
    .description('what staging got from the follower, and what it waits for')
    .option('--json', 'machine-readable output')
    .action(async (service: string, opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const { status } = await follower(client, service);
        say(opts.json ? JSON.stringify(status, null, 2) : formatStage(status));
      });
    });
  stage
    .command('nudge <service>')
    .description('look at the branch now instead of at the next poll (what a push webhook does)')
    .action(async (service: string) => {
      const by = operator(program.opts().as);
      await withClient(async (client) => {
        const { handle } = await follower(client, service);
        await handle.signal(stagePushSignal, { by });
        say(`nudged ${stageFollowerId(service)}; it looks at the branch after its quiet period`);
      });
    });
  stage
    .command('retry <service>')
    .description('deploy the newest commit to staging again after a failed deploy or smoke check')
    .requiredOption('--reason <text>', 'why (recorded and notified)')
    .action(async (service: string, opts: { reason: string }) => {
      const by = operator(program.opts().as);
      await withClient(async (client) => {
        const { handle } = await follower(client, service);
        await sendUpdate(handle, stageRetryUpdate, [{ by, reason: opts.reason }], 'retry');
        say(`retrying: ${stageFollowerId(service)} deploys the newest commit to staging again (by ${by}: ${opts.reason})`);
      });
    });
}
