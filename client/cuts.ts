/**
 * Commands that cut a release: `start` (now), `tag` (the seed's manual re-tag, superseding the
 * active train) and `hotfix` (from the production tag with chosen commits). Each is the production
 * ledger's `cut` update: its validator checks the operator's right (`start`, or `hotfix`) and
 * reason before anything is written, then the ledger starts the `cutRelease` workflow, whose result
 * names the train. `changelog` regenerates a train's changelog from another tag.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { declare } from './commands.js';
import { describeTime } from '../domain/calendar.js';
import type { ChangelogCommand, CutCommand } from '../domain/service-actions.js';
import type { CutResult } from '../workflows/cutRelease.js';
import { changelogUpdate, cutUpdate } from '../workflows/ledger-messages.js';
import { regenerateChangelogUpdate } from '../workflows/messages.js';
import { operator, Rejected, withClient } from './cli-context.js';
import { serviceAction, serviceContext } from './ledgers.js';
import { activeTrains, resolveTrain, trainStatus } from './trains.js';
import { isFinal } from '../domain/train.js';
import { say } from './terminal.js';
import { sendUpdate } from './updates.js';

/** The innermost failure message: what the cut's activity or validator said. */
function rootMessage(err: WorkflowFailedError): string {
  let cause: Error | undefined = err;
  while ((cause as { cause?: Error } | undefined)?.cause) cause = (cause as { cause: Error }).cause;
  return cause?.message ?? err.message;
}

type Started = Extract<CutResult, { trainId: string }>;

/** Sends the cut to the service's production ledger and waits for the cut it started. */
async function cut(client: Client, program: Command, service: string, verb: string, command: CutCommand): Promise<Started> {
  const ctx = serviceContext(program.opts().config, service);
  const started = await serviceAction(client, ctx, verb, (ledger) => ledger.executeUpdate(cutUpdate, { args: [command] }));
  let result: CutResult;
  try {
    result = await client.workflow.getHandle(started.workflowId, started.runId).result();
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
    .requiredOption('--reason <text>', 'why you cut now (recorded and shown in the train)')
    .action(async (service: string, opts: { ref?: string; tag?: string; reason: string }) =>
      withClient(async (client) => {
        const command: CutCommand = { by: operator(program.opts().as), reason: opts.reason, ...(opts.ref ? { ref: opts.ref } : {}), ...(opts.tag ? { tag: opts.tag } : {}) };
        const result = await cut(client, program, service, 'start', command);
        say(`started ${result.trainId} at ${result.commit.slice(0, 12)}; release slot ${describeTime(result.releaseAt, result.timeZone ?? 'UTC')}`);
      }),
    );

  declare(program, 'tag')
    .requiredOption('--from <sha>', 'the commit to tag')
    .requiredOption('--reason <text>', 'why the release candidate is replaced')
    .action(async (service: string, opts: { from: string; reason: string }) =>
      withClient(async (client) => {
        // A train that has just ended (released, aborted) may still be listed as running for a
        // moment: its own status decides whether there is a train to supersede.
        const listed = await activeTrains(client, service);
        const stages = await Promise.all(listed.map((t) => trainStatus(client, t.trainId).then((s) => s.stage, () => undefined)));
        const [active, ...more] = listed.filter((_, i) => !isFinal(stages[i] ?? 'cut'));
        if (more.length > 0) throw new Rejected(`service ${service} has ${more.length + 1} active trains; abort the ones you do not want first`);
        const command: CutCommand = { by: operator(program.opts().as), reason: opts.reason, ref: opts.from, ...(active ? { supersedes: { trainId: active.trainId, tag: active.tag } } : {}) };
        const result = await cut(client, program, service, 'tag', command);
        say(`started ${result.trainId} at ${result.commit.slice(0, 12)}${active ? `; ${active.trainId} is superseded` : ''}`);
      }),
    );

  declare(program, 'hotfix')
    .requiredOption('--from <tag>', 'the tag running in production')
    .requiredOption('--pick <sha>', 'a commit to cherry-pick (repeat for several, applied in order)', collect)
    .requiredOption('--reason <text>', 'why production needs this now (recorded and notified; the hotfix freezes production for other trains)')
    .action(async (service: string, opts: { from: string; pick: string[]; reason: string }) =>
      withClient(async (client) => {
        const command: CutCommand = { by: operator(program.opts().as), reason: opts.reason, hotfix: { fromTag: opts.from, picks: opts.pick } };
        const result = await cut(client, program, service, 'hotfix', command);
        say(`started hotfix ${result.trainId} at ${result.commit.slice(0, 12)}; production is frozen for other trains until it is done`);
      }),
    );

  declare(program, 'changelog')
    .option('--from <tag>', 'start from this tag instead of the version production ran before this train')
    .requiredOption('--reason <text>', 'why (recorded and notified)')
    .action(async (train: string, opts: { from?: string; reason: string }) =>
      withClient(async (client) => {
        const id = await resolveTrain(client, train, { latestIfNoneActive: true });
        const status = await trainStatus(client, id);
        const by = operator(program.opts().as);
        const previous = opts.from ? { previousTag: opts.from } : {};
        if (isFinal(status.stage)) {
          // An ended train takes no update: its service's production ledger publishes the notes.
          const ctx = serviceContext(program.opts().config, status.service);
          const command: ChangelogCommand = { by, reason: opts.reason, tag: status.tag, ...previous };
          const summary = await serviceAction(client, ctx, 'changelog', (ledger) => ledger.executeUpdate(changelogUpdate, { args: [command] }));
          say(`changelog of ${id} (${status.stage}): ${summary.url}${summary.fromTag ? ` (since ${summary.fromTag})` : ''}`);
          return;
        }
        const after = await sendUpdate(client.workflow.getHandle(id), regenerateChangelogUpdate, [{ by, reason: opts.reason, ...previous }], 'changelog');
        say(`changelog of ${id}: ${after.changelog?.url ?? '(not published)'}${after.changelog?.fromTag ? ` (since ${after.changelog.fromTag})` : ''}`);
      }),
    );
}
