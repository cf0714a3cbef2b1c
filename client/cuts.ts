/**
 * Commands that cut a release: `start` (now), `tag` (the seed's manual re-tag, superseding the
 * active train) and `hotfix` (from the production tag with chosen commits). All run the
 * `cutRelease` workflow; `changelog` regenerates a train's changelog from another tag.
 */
import { WorkflowFailedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { declare } from './commands.js';
import { describeTime } from '../domain/calendar.js';
import { cutId } from '../domain/ids.js';
import type { CutRequest, CutResult } from '../workflows/cutRelease.js';
import { regenerateChangelogUpdate } from '../workflows/messages.js';
import { operator, Rejected, taskQueue, withClient } from './cli-context.js';
import { activeTrains, resolveTrain } from './trains.js';

/** The innermost failure message: what the cut's activity or validator said. */
function rootMessage(err: WorkflowFailedError): string {
  let cause: Error | undefined = err;
  while ((cause as { cause?: Error } | undefined)?.cause) cause = (cause as { cause: Error }).cause;
  return cause?.message ?? err.message;
}

type Started = Extract<CutResult, { trainId: string }>;

async function cut(client: Client, program: Command, req: CutRequest, workflowSuffix = ''): Promise<Started> {
  let result: CutResult;
  try {
    result = await client.workflow.execute('cutRelease', { workflowId: cutId(req.service) + workflowSuffix, taskQueue: taskQueue(program.opts().config), args: [req] });
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new Rejected(`cut rejected: ${rootMessage(err)}`);
    throw err;
  }
  if (result.trainId === undefined) throw new Rejected(`nothing was cut: ${result.skipped}`);
  return result;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  declare(program, 'start')
    .option('--ref <ref>', 'branch, tag or commit to tag (default: the default branch head)')
    .option('--tag <tag>', 'explicit tag (default: the next free tag of the release date)')
    .action(async (service: string, opts: { ref?: string; tag?: string }) =>
      withClient(async (client) => {
        const req: CutRequest = { service, startedBy: operator(program.opts().as), ...(opts.ref ? { ref: opts.ref } : {}), ...(opts.tag ? { tag: opts.tag } : {}) };
        const result = await cut(client, program, req);
        console.log(`started ${result.trainId} at ${result.commit.slice(0, 12)}; release slot ${describeTime(result.releaseAt, result.timeZone ?? 'UTC')}`);
      }),
    );

  declare(program, 'tag')
    .requiredOption('--from <sha>', 'the commit to tag')
    .requiredOption('--reason <text>', 'why the release candidate is replaced')
    .action(async (service: string, opts: { from: string; reason: string }) =>
      withClient(async (client) => {
        const [active, ...more] = await activeTrains(client, service);
        if (more.length > 0) throw new Rejected(`service ${service} has ${more.length + 1} active trains; abort the ones you do not want first`);
        const req: CutRequest = { service, ref: opts.from, startedBy: operator(program.opts().as) };
        if (active) req.supersedes = { trainId: active.trainId, tag: active.tag, reason: opts.reason };
        const result = await cut(client, program, req);
        console.log(`started ${result.trainId} at ${result.commit.slice(0, 12)}${active ? `; ${active.trainId} is superseded` : ''}`);
      }),
    );

  declare(program, 'hotfix')
    .requiredOption('--from <tag>', 'the tag running in production')
    .requiredOption('--pick <sha>', 'a commit to cherry-pick (repeat for several, applied in order)', collect)
    .action(async (service: string, opts: { from: string; pick: string[] }) =>
      withClient(async (client) => {
        const req: CutRequest = { service, startedBy: operator(program.opts().as), hotfix: { fromTag: opts.from, picks: opts.pick } };
        const result = await cut(client, program, req, '-hotfix');
        console.log(`started hotfix ${result.trainId} at ${result.commit.slice(0, 12)}; production is frozen for other trains until it is done`);
      }),
    );

  declare(program, 'changelog')
    .option('--from <tag>', 'start from this tag instead of the last production version')
    .requiredOption('--reason <text>', 'why (recorded and notified)')
    .action(async (train: string, opts: { from?: string; reason: string }) =>
      withClient(async (client) => {
        const id = await resolveTrain(client, train);
        const req = { by: operator(program.opts().as), reason: opts.reason, ...(opts.from ? { previousTag: opts.from } : {}) };
        try {
          const status = await client.workflow.getHandle(id).executeUpdate(regenerateChangelogUpdate, { args: [req] });
          console.log(`changelog of ${id}: ${status.changelog?.url ?? '(not published)'}${status.changelog?.fromTag ? ` (since ${status.changelog.fromTag})` : ''}`);
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) throw new Rejected(`changelog rejected: ${err.cause?.message ?? err.message}`);
          throw err;
        }
      }),
    );
}
