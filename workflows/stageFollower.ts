/**
 * Stage on every merge (seed 004): `stage/<service>` deploys the newest green commit of the followed
 * branch to staging, once per burst of pushes, through the staging ledger (one deploy at a time; a
 * staging freeze holds it, and when the lock comes it deploys the newest commit by then, not the one
 * it asked for). It looks when the webhook receiver signals a push and every `pollMinutes` anyway;
 * while the head's CI runs it looks sooner. A failed deploy or smoke check is recorded, notified and
 * not retried for the same commit: the next green commit, or the `retry` update, goes on.
 * Settings come from the worker's config at every look; without `stageOnMerge` the follower ends.
 */
import { ActivityFailure, condition, continueAsNew, isCancellation, patched, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { StageActivities } from '../activities/stage.js';
import { NON_RETRYABLE_CODES } from '../domain/errors.js';
import type { DeploymentRecord } from '../domain/ledger.js';
import {
  heardPush,
  initialStageState,
  nextLookMs,
  recordDeployment,
  requestRetry,
  seedFromLedger,
  stageRetryProblem,
  shouldDeploy,
  stageStatusOf,
  type BranchLook,
  type StageDeployment,
  type StagePolicy,
  type StageStart,
  type StageState,
  type StageStatus,
} from '../domain/stage.js';
import { longRunning, quietNotifier, step } from './activity-options.js';
import { stagePushSignal, stageRetryUpdate, stageStatusQuery } from './stage-messages.js';
import { ENVIRONMENT, SERVICE, STAGE, STATUS } from './search-attributes.js';
import { LedgerLink } from './train-ledger.js';
import { rejectIf } from './rejections.js';

/** Looks at the config and the branch: short, retried through a forge outage (about ten minutes). */
const looks = proxyActivities<StageActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 12, nonRetryableErrorTypes: [...NON_RETRYABLE_CODES] },
});

/** A new run before the history gets long: a look every few minutes adds about 15 events. */
const MAX_HISTORY_EVENTS = 2_000;
const MAX_DEPLOYS_PER_RUN = 50;

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

const short = (sha: string) => sha.slice(0, 12);

/** The activity's result, or undefined when it failed for good (cancellation still ends the caller). */
async function orUndefined<T>(activity: Promise<T>): Promise<T | undefined> {
  try {
    return await activity;
  } catch (err) {
    if (isCancellation(err)) throw err;
    return undefined;
  }
}

export async function stageFollower(start: StageStart): Promise<StageStatus> {
  const { service } = start;
  const id = workflowInfo().workflowId;
  let state: StageState = start.state ?? initialStageState(service);
  let policy: StagePolicy | null = null;
  let deploysThisRun = 0;
  /**
   * Marked in the first workflow task: a retry accepted while a deploy ran (the notice of its
   * failure going out, say) was wiped when that deploy was recorded, and the follower slept until a
   * push. Now it counts once that deploy failed (one that verified did what the retry asked).
   * Runs started before replay without it.
   */
  const keepsRetries = patched('retry-during-deploy');
  setHandler(stagePushSignal, (push) => {
    state = heardPush(state, push, Date.now());
  });
  setHandler(stageStatusQuery, () => stageStatusOf(state, policy));
  setHandler(
    stageRetryUpdate,
    (req) => {
      state = requestRetry(state, req, Date.now());
      return stageStatusOf(state, policy);
    },
    {
      validator: (req) => {
        const problem = stageRetryProblem(state, policy, req);
        rejectIf(problem);
      },
    },
  );

  const tell = quietNotifier(service, id);

  /**
   * What the follower does now, for people: its query, the "current details" of its page in the
   * Temporal UI, and (on a change between deploying and waiting) the search attributes trains use,
   * so `TrainyardService = "<service>"` lists it beside the service's trains.
   */
  let shownStatus: 'running' | 'waiting' | 'ended' | undefined;
  const show = (waitsFor: string, status: 'running' | 'waiting' | 'ended') => {
    state = { ...state, waitsFor };
    if (status !== shownStatus) {
      shownStatus = status;
      upsertSearchAttributes([
        { key: SERVICE, value: service },
        { key: ENVIRONMENT, value: 'staging' },
        { key: STAGE, value: status === 'running' ? 'deploying' : status === 'ended' ? 'ended' : 'following' },
        { key: STATUS, value: status },
      ]);
    }
    const rows = state.history.slice(0, 10).map((d) => `| ${new Date(d.at).toISOString()} | \`${short(d.commit)}\` | ${d.outcome} | ${d.summary.replaceAll('|', '/')} |`);
    const branch = policy?.branch ?? '?';
    setCurrentDetails(`**${service}**: staging follows \`${branch}\`\n\n**${status === 'running' ? 'Doing' : 'Waiting for'}:** ${waitsFor}\n\n| when | commit | outcome | note |\n|---|---|---|---|\n${rows.join('\n')}`);
  };

  const look = async (p: StagePolicy) => {
    const seen = await looks.lookAtBranch.executeWithOptions({ summary: `Look at ${p.branch}` }, [{ service, branch: p.branch, requireGreen: p.requireGreen, lookback: p.lookback }]);
    state = { ...state, lastLook: { ...seen, at: Date.now() } };
    return seen;
  };

  /** Deploys `wanted` (or a newer candidate found once the lock is ours) to staging, then smoke-tests it. */
  const deploy = async (p: StagePolicy, wanted: string) => {
    const by = state.lastPush?.by ?? `merge to ${p.branch}`;
    let done: StageDeployment | undefined;
    const ledgers = new LedgerLink({ service, tag: wanted }, id, {});
    await ledgers.withLock('staging', false, (why) => show(`the staging lock: ${why}`, 'waiting'), async (): Promise<DeploymentRecord[]> => {
      // The lock may have taken a while (a freeze): deploy what is newest now (or, if the forge
      // does not answer, what was asked for).
      const commit = (await orUndefined(look(p)))?.candidate ?? wanted;
      const record = (outcome: StageDeployment['outcome'], summary: string): DeploymentRecord[] => {
        done = { commit, at: Date.now(), outcome, summary };
        return [{ tag: commit, commit, trainId: id, at: done.at, outcome, by }];
      };
      show(`the deploy of ${p.branch}@${short(commit)} to staging`, 'running');
      try {
        await longRunning.deploy.executeWithOptions(step(`Deploy ${p.branch}@${short(commit)} to staging`, p), [{ service, environment: 'staging', tag: commit, commit, trainId: id }]);
      } catch (err) {
        if (isCancellation(err)) throw err;
        const why = `deploy of ${p.branch}@${short(commit)} to staging failed: ${failureMessage(err)}`;
        await tell('failed', `${why}. The next green commit, or \`trainyard stage retry ${service} --reason …\`, tries again.`);
        return record('failed', why);
      }
      if (p.smoke) {
        show(`the smoke check of ${p.branch}@${short(commit)} in staging`, 'running');
        const check = await longRunning.runCheck
          .executeWithOptions(step(`Smoke test ${p.branch}@${short(commit)} in staging`, p), [{ service, check: 'smoke', environment: 'staging', tag: commit, commit, trainId: id }])
          .catch((err: unknown) => {
            if (isCancellation(err)) throw err;
            return { passed: false, summary: `the check could not run: ${failureMessage(err)}` };
          });
        if (!check.passed) {
          await tell('check-failed', `Smoke check of ${p.branch}@${short(commit)} in staging failed: ${check.summary}`);
          return record('failed', `smoke check failed: ${check.summary}`);
        }
      }
      await tell('deployed', `Deployed ${p.branch}@${short(commit)} to staging (${by}).`);
      return record('verified', `staging runs ${p.branch}@${short(commit)}`);
    });
    if (!done) return;
    const retryAgain = keepsRetries && state.retryRequested && done.outcome === 'failed';
    state = recordDeployment(state, done);
    if (retryAgain) state = { ...state, retryRequested: true };
  };

  /**
   * Waits for a push after the `since`-th one, or `ms`; true when one came. A push heard while the
   * look ran was counted before this wait began, so the count is taken before the look: else that
   * push is lost and the follower sleeps until its next poll (`patched`: older runs replay the
   * count taken here).
   */
  const pushOr = (ms: number, since: number) => {
    const pushes = patched('push-during-look') ? since : state.pushesHeard;
    return condition(() => state.pushesHeard !== pushes, ms);
  };

  if (!state.last) state = seedFromLedger(state, (await orUndefined(looks.latestStagingDeployment.executeWithOptions({ summary: "Read staging's last deployment" }, [{ service }]))) ?? null);
  for (;;) {
    const pushesBeforeLook = state.pushesHeard;
    let seen: BranchLook;
    try {
      policy = await looks.stagePolicy.executeWithOptions({ summary: 'Read the stageOnMerge settings' }, [{ service }]);
      if (!policy) {
        show('nothing: the service no longer has stageOnMerge in the config', 'ended');
        return stageStatusOf(state, null);
      }
      seen = await look(policy);
      state = { ...state, lastError: undefined };
    } catch (err) {
      if (isCancellation(err)) throw err;
      // A forge down for longer than the look's retries, a branch that is gone: the follower waits, it does not end.
      const why = failureMessage(err);
      state = { ...state, lastError: why };
      const retryMs = (policy?.pollMinutes ?? 5) * 60_000;
      show(`the branch to be readable (${why}); looking again in ${Math.round(retryMs / 60_000)} min or at the next push`, 'waiting');
      await pushOr(retryMs, pushesBeforeLook);
      continue;
    }
    const wanted = shouldDeploy(state, seen);
    if (wanted) {
      // This deploy answers the retries asked so far; one asked while it runs is for after it.
      if (keepsRetries) state = { ...state, retryRequested: false };
      await deploy(policy, wanted);
      deploysThisRun++;
      continue;
    }
    if (deploysThisRun >= MAX_DEPLOYS_PER_RUN || workflowInfo().historyLength > (start.maxHistoryEvents ?? MAX_HISTORY_EVENTS) || workflowInfo().continueAsNewSuggested) {
      // Between looks nothing is in flight: the state (plain JSON) is all the next run needs.
      await continueAsNew<typeof stageFollower>({ ...start, state });
    }
    const waitMs = nextLookMs(policy, seen);
    const pending = seen.headState === 'pending' && seen.head !== seen.candidate;
    show(pending ? `CI of ${policy.branch}@${short(seen.head)} (looking again in ${Math.round(waitMs / 1000)} s)` : `a push to ${policy.branch} (or the next look in ${policy.pollMinutes} min)`, 'waiting');
    const heard = await pushOr(waitMs, pushesBeforeLook);
    if (heard && policy.quietSeconds > 0) {
      show(`${policy.quietSeconds} s without another push (a burst deploys once)`, 'waiting');
      let last = state.pushesHeard;
      while (await condition(() => state.pushesHeard !== last, policy.quietSeconds * 1000)) last = state.pushesHeard;
    }
  }
}
