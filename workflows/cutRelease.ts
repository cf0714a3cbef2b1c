/**
 * The cut: pick the commit and the next free tag for the next release slot, then start the train.
 * Schedules start this workflow (id `cut/<service>`, so two cuts of one service never overlap); an
 * operator's cut comes from the production ledger's `cut` update, whose validator checked the
 * right. The train is started as an abandoned child: it outlives the cut.
 */
import { ApplicationFailure, ParentClosePolicy, WorkflowIdReusePolicy, patched, startChild } from '@temporalio/workflow';
import { describeTime, nextReleaseTime, releaseDate } from '../domain/calendar.js';
import { SCHEDULE, trainId } from '../domain/ids.js';
import { bumpTag, newestTag, nextTag, parseTag, refNameProblem } from '../domain/tags.js';
import { slotHolder, slotTakenReason } from '../domain/train-slots.js';
import { authorisationProblem, type TrainInput, type TrainPolicy } from '../domain/train.js';
import { forge } from './activity-options.js';
import { releaseTrain } from './releaseTrain.js';
import { SERVICE, STAGE, TAG } from './search-attributes.js';

export interface CutRequest {
  service: string;
  /** Commit or branch to tag; the service's default branch head when absent. */
  ref?: string;
  /** An explicit tag; otherwise the next free tag of the release date (or of `supersedes`). */
  tag?: string;
  startedBy: string;
  /** Why the operator cut (recorded in the train's details); scheduled cuts have none. */
  reason?: string;
  /**
   * A manual re-tag: the train it replaces. Its tag is bumped (`.1` → `.2`) unless `tag` is given,
   * and it ends as superseded before the new train starts (refused once it reached production).
   */
  supersedes?: { trainId: string; tag: string; reason: string };
  /**
   * A hotfix: branch from `fromTag` (the production tag), cherry-pick `picks`, tag the result with
   * the tag after `fromTag`. The train freezes production for the service's other trains.
   */
  hotfix?: { fromTag: string; picks: string[] };
}

export type CutResult =
  /** `timeZone`: the release calendar's zone, in which people read `releaseAt`. */
  | { trainId: string; tag: string; commit: string; releaseAt: number; timeZone?: string; skipped?: undefined }
  /** A scheduled cut found nothing new to release. */
  | { skipped: string; commit: string; releaseAt: number; trainId?: undefined; tag?: undefined };

/** The next free tag: after the superseded train's tag for a re-tag, else for the release date. */
function freeTag(req: CutRequest, format: string, date: string, existing: string[]): string {
  if (!req.supersedes) return nextTag(format, req.service, date, existing);
  try {
    return bumpTag(format, req.service, req.supersedes.tag, existing);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'INVALID_REF');
  }
}

export async function cutRelease(req: CutRequest): Promise<CutResult> {
  const policy = await forge.trainPolicy({ service: req.service });
  // A cut started directly (`temporal workflow start --type cutRelease`) rather than through the
  // ledger is held to the same rule before it tags anything; the schedule is the system, not an
  // operator. (Added after cuts were already running: older ones replay without it.)
  if (req.startedBy !== SCHEDULE && patched('cut-checks-rights')) {
    const problem = authorisationProblem(policy, req.startedBy, req.hotfix ? 'hotfix' : 'start');
    if (problem) throw ApplicationFailure.nonRetryable(problem, 'REJECTED');
  }
  const releaseAt = nextReleaseTime(Date.now(), policy.release);
  // A hotfix goes out as soon as staging and E2E pass; it does not wait for a release slot.
  if (req.hotfix) return cutHotfix(req, req.hotfix, policy, Date.now());
  const commit = await forge.resolveCommit({ service: req.service, ref: req.ref });
  const existing = await forge.listReleaseTags({ service: req.service });
  if (req.startedBy === SCHEDULE && !req.tag && !req.supersedes) {
    // A schedule does not cut the same commit again: nothing merged since the last release tag.
    const latest = newestTag(policy.tagFormat, req.service, existing);
    if (latest && (await forge.resolveCommit({ service: req.service, ref: latest })) === commit) {
      return { skipped: `nothing new since ${latest} (${commit.slice(0, 12)})`, commit, releaseAt };
    }
  }
  const date = releaseDate(releaseAt, policy.release.timeZone);
  const tag = req.tag ?? freeTag(req, policy.tagFormat, date, existing);
  const problem = refNameProblem(tag);
  if (problem) throw ApplicationFailure.nonRetryable(`tag "${tag}" ${problem}; choose a valid git tag name`, 'INVALID_REF');
  // Added after cuts were running (a cut lives seconds, but one may be replaying): one train per
  // release slot. A second one raced the first to production, and the older deployed over the newer.
  if (patched('one-train-per-slot')) {
    const slotTags = existing.filter((t) => parseTag(policy.tagFormat, req.service, t)?.date === date);
    const active = await forge.activeTrains.executeWithOptions({ summary: `Look for ${req.service}'s train of this release slot` }, [
      { service: req.service, trainIds: slotTags.map((t) => trainId(req.service, t)) },
    ]);
    const holder = slotHolder(active, releaseAt, req.supersedes?.trainId);
    if (holder) {
      const why = slotTakenReason(req.service, holder, policy.release.timeZone);
      // A schedule finding the slot taken has nothing to do; a person is told why and what to do.
      if (req.startedBy === SCHEDULE) return { skipped: why, commit, releaseAt };
      throw ApplicationFailure.nonRetryable(why, 'REJECTED');
    }
  }
  if (req.supersedes) {
    const { trainId: old, reason } = req.supersedes;
    await forge.supersedeTrain.executeWithOptions({ summary: `Supersede ${old} with ${tag}` }, [{ trainId: old, by: req.startedBy, reason, newTag: tag }]);
  }

  return startTrain({ service: req.service, tag, commit, policy, startedBy: req.startedBy, releaseAt }, req.reason);
}

async function cutHotfix(req: CutRequest, hotfix: { fromTag: string; picks: string[] }, policy: TrainPolicy, releaseAt: number): Promise<CutResult> {
  const existing = await forge.listReleaseTags({ service: req.service });
  let tag: string;
  try {
    tag = bumpTag(policy.tagFormat, req.service, hotfix.fromTag, existing);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'INVALID_REF');
  }
  const commit = await forge.prepareHotfix.executeWithOptions({ summary: `Hotfix branch from ${hotfix.fromTag} with ${hotfix.picks.length} commit(s)` }, [
    { service: req.service, branch: `hotfix/${tag}`, fromTag: hotfix.fromTag, picks: hotfix.picks },
  ]);
  return startTrain({ service: req.service, tag, commit, policy, startedBy: req.startedBy, releaseAt, hotfix }, req.reason);
}

async function startTrain(input: TrainInput, reason: string | undefined): Promise<CutResult> {
  const { service, tag, commit, releaseAt, startedBy } = input;
  const id = trainId(service, tag);
  await startChild(releaseTrain, {
    workflowId: id,
    args: [input],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    // A train id names one tag; it is never reused, even after the train ended.
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: SERVICE, value: service },
      { key: TAG, value: tag },
      { key: STAGE, value: 'cut' },
    ],
    staticSummary: `${input.hotfix ? 'Hotfix' : 'Release'} train ${tag} of ${service}`,
    staticDetails: `Commit ${commit}, cut by ${startedBy}${reason ? ` (${reason})` : ''}. Release slot: ${describeTime(releaseAt, input.policy.release.timeZone)} (${new Date(releaseAt).toISOString()}).`,
  });
  return { trainId: id, tag, commit, releaseAt, timeZone: input.policy.release.timeZone };
}
