/**
 * The production ledger's service actions (domain/service-actions.ts): cut a train, open reverts,
 * pause, unpause or trigger the cut schedule. Validators are the pure rules; the handlers do what
 * was allowed, so the ledger's history records who asked, why, and what came of it.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  ParentClosePolicy,
  patched,
  setHandler,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { cutId, hotfixCutId } from '../domain/ids.js';
import type { LedgerState } from '../domain/ledger.js';
import type { ChangelogSummary } from '../domain/train.js';
import {
  cutProblem,
  changelogProblem,
  cutScheduleProblem,
  describeReverts,
  revertProblem,
  type ChangelogCommand,
  type CutCommand,
  type CutScheduleCommand,
  type CutStarted,
  type RevertCommand,
  type RevertOutcome,
} from '../domain/service-actions.js';
import type { cutRelease, CutRequest } from './cutRelease.js';
import { handlerForge } from './activity-options.js';
import { changelogUpdate, cutScheduleUpdate, cutUpdate, revertUpdate } from './ledger-messages.js';
import { rejectIf } from './rejections.js';

/** The message an operator needs from an activity failure: the driver's, not the wrapper's. */
function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

export function handleServiceActions(state: LedgerState, tell: (text: string) => Promise<void>): void {
  // A start marker (asked in the run's first workflow task): ledger runs that began before cuts
  // checked their refs replay without the check.
  const cutsCheckRefs = patched('cut-checks-refs');
  setHandler(cutUpdate, (req) => startCut(state, req, cutsCheckRefs), { validator: (req) => rejectIf(cutProblem(state, req)) });
  setHandler(revertUpdate, (req) => revert(state, req, tell), { validator: (req) => rejectIf(revertProblem(state, req)) });
  setHandler(changelogUpdate, (req) => regenerateChangelog(state, req, tell), { validator: (req) => rejectIf(changelogProblem(state, req)) });
  setHandler(cutScheduleUpdate, (req) => controlSchedule(state, req, tell), { validator: (req) => rejectIf(cutScheduleProblem(state, req, Date.now())) });
}

/**
 * Starts the cut as an abandoned child: the start is in this history (who, why, what), it happens
 * once however often the task is retried, and the cut outlives the ledger's continue-as-new.
 */
/**
 * The refs a cut names must exist before the cut starts: a misspelled `--ref`, hotfix tag or pick
 * is refused with the forge's answer and leaves no failed cut workflow behind.
 */
async function checkRefs(state: LedgerState, req: CutCommand): Promise<void> {
  const resolve = async (ref: string, what?: string) => {
    try {
      return await handlerForge.resolveCommit.executeWithOptions({ summary: `Check ${what ?? 'the ref'} ${ref}` }, [{ service: state.service, ref }]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      throw ApplicationFailure.nonRetryable(`${what ? `${what}: ` : ''}${failureMessage(err)}`, 'REJECTED');
    }
  };
  if (req.hotfix) {
    await resolve(req.hotfix.fromTag, 'the hotfix tag (--from)');
    for (const pick of req.hotfix.picks) await resolve(pick, 'a commit to pick (--pick)');
  } else if (req.ref !== undefined) {
    await resolve(req.ref);
  }
}

async function startCut(state: LedgerState, req: CutCommand, refsChecked: boolean): Promise<CutStarted> {
  const { service } = state;
  if (refsChecked) await checkRefs(state, req);
  const request: CutRequest = {
    service,
    startedBy: req.by,
    reason: req.reason,
    ...(req.ref !== undefined ? { ref: req.ref } : {}),
    ...(req.tag !== undefined ? { tag: req.tag } : {}),
    ...(req.supersedes ? { supersedes: { ...req.supersedes, reason: req.reason } } : {}),
    ...(req.hotfix ? { hotfix: req.hotfix } : {}),
  };
  const workflowId = req.hotfix ? hotfixCutId(service) : cutId(service);
  try {
    const child = await startChild<typeof cutRelease>('cutRelease', {
      workflowId,
      args: [request],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `${req.hotfix ? 'Hotfix cut' : 'Cut'} of ${service} by ${req.by}`,
      staticDetails: `Asked by ${req.by} through ${state.service}'s production ledger: ${req.reason}`,
    });
    return { workflowId, runId: child.firstExecutionRunId };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    throw ApplicationFailure.nonRetryable(`a cut of ${service} is already running (${workflowId}); wait for it to start its train (trainyard status), then try again`, 'REJECTED');
  }
}

/** One revert request per pull request, in order; a failure names its pull request and the others still go. */
async function revert(state: LedgerState, req: RevertCommand, tell: (text: string) => Promise<void>): Promise<{ results: RevertOutcome[] }> {
  const results: RevertOutcome[] = [];
  for (const pr of req.prs) {
    try {
      const change = await handlerForge.revertChange.executeWithOptions({ summary: `Open the revert of #${pr}` }, [{ service: state.service, pr }]);
      results.push({ pr, revert: change });
    } catch (err) {
      if (isCancellation(err)) throw err;
      results.push({ pr, error: failureMessage(err) });
    }
  }
  await tell(describeReverts(req, results));
  return { results };
}

/** Publishes the notes again; a tag that does not exist refuses the request with the tags that do. */
async function regenerateChangelog(state: LedgerState, req: ChangelogCommand, tell: (text: string) => Promise<void>): Promise<ChangelogSummary> {
  let summary: ChangelogSummary;
  try {
    summary = await handlerForge.publishChangelog.executeWithOptions({ summary: `Publish the changelog of ${req.tag}${req.previousTag ? ` from ${req.previousTag}` : ''}` }, [
      { service: state.service, tag: req.tag, ...(req.previousTag !== undefined ? { previousTag: req.previousTag } : {}) },
    ]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.nonRetryable(`could not publish the changelog of ${req.tag}: ${failureMessage(err)}`, 'REJECTED');
  }
  await tell(`Changelog of ${req.tag} regenerated by ${req.by}${summary.fromTag ? ` (since ${summary.fromTag})` : ''}: ${summary.url} (${req.reason})`);
  return summary;
}

const NOTE_VERB = { pause: 'Paused', unpause: 'Unpaused', trigger: 'Triggered' } as const;

async function controlSchedule(state: LedgerState, req: CutScheduleCommand, tell: (text: string) => Promise<void>) {
  const note = `${NOTE_VERB[req.action]} by ${req.by}: ${req.reason}`;
  let outcome;
  try {
    outcome = await handlerForge.controlCutSchedule.executeWithOptions({ summary: `${NOTE_VERB[req.action]} the cut schedule of ${state.service}` }, [
      { service: state.service, action: req.action, note },
    ]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.nonRetryable(failureMessage(err), 'REJECTED');
  }
  if (outcome.done) await tell(`${note} (the cut schedule of ${state.service})`);
  return outcome;
}
