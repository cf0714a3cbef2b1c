/**
 * A preview environment per pull request (id `preview/<service>/<pr>`), driven by the webhook
 * receiver's signal-with-start: created when the PR opens (its URL commented on the PR), redeployed
 * once per burst of pushes, destroyed when the PR is closed or merged or nobody touched it for the
 * idle TTL. Destroy runs whatever happened before (a creation that failed half-way, a cancelled
 * workflow) in a non-cancellable scope; drivers make it idempotent.
 */
import { ActivityCancellationType, ActivityFailure, CancellationScope, condition, continueAsNew, isCancellation, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { PreviewActivities } from '../activities/preview.js';
import { NON_RETRYABLE_CODES } from '../domain/errors.js';
import { applyPreviewEvent, decidePreview, initialPreviewState, previewComment, previewTiming, type PreviewStart, type PreviewState } from '../domain/preview.js';
import { previewEventSignal, previewStatusQuery, type PreviewStatus } from './preview-messages.js';

const nonRetryableErrorTypes = [...NON_RETRYABLE_CODES];

/** Create and update run as long as the driver's own timeout allows, heartbeating meanwhile. */
const steps = proxyActivities<PreviewActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 3, nonRetryableErrorTypes },
});

/** Destroy is the step that must happen: retried for about three hours before it is reported as failed. */
const cleanup = proxyActivities<PreviewActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 20, nonRetryableErrorTypes },
});

/** PR comments: a few quick tries; a lost comment never blocks the preview. */
const comments = proxyActivities<PreviewActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes },
});

const DEFAULT_DEPLOYS_PER_RUN = 50;

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

function statusOf(s: PreviewState): PreviewStatus {
  return {
    service: s.service,
    pr: s.pr,
    name: s.name,
    state: s.phase,
    url: s.url ?? null,
    shaDeployed: s.deployedSha ?? null,
    shaWanted: s.wantedSha ?? null,
    waitsFor: s.waitsFor,
    deploys: s.deploys,
    lastError: s.lastError ?? null,
    ending: s.ending ?? null,
  };
}

export async function previewEnvironment(start: PreviewStart): Promise<PreviewStatus> {
  const { service, pr } = start;
  const timing = previewTiming(start);
  let state: PreviewState = start.state ?? initialPreviewState(service, pr, Date.now());
  let heard = 0;
  let deploysThisRun = 0;
  setHandler(previewEventSignal, (event) => {
    state = applyPreviewEvent(state, event, Date.now());
    heard++;
  });
  setHandler(previewStatusQuery, () => statusOf(state));

  const comment = async (body: string) => {
    try {
      await comments.commentOnPullRequest({ service, pr, body });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('PR comment failed; the preview goes on', { pr, error: failureMessage(err) });
    }
  };

  const deploy = async (kind: 'create' | 'update', sha: string) => {
    state = { ...state, phase: kind === 'create' ? 'creating' : 'updating', waitsFor: `the ${kind} of ${sha.slice(0, 12)}` };
    try {
      if (kind === 'create') {
        const { url } = await steps.createPreview({ service, pr, name: state.name, sha });
        state = { ...state, url };
      } else {
        await steps.updatePreview({ service, pr, name: state.name, sha });
      }
      state = { ...state, phase: 'ready', deployedSha: sha, deploys: state.deploys + 1, lastError: undefined };
      if (kind === 'create') await comment(previewComment(state));
    } catch (err) {
      if (isCancellation(err)) throw err;
      const why = failureMessage(err);
      // A creation that failed half-way leaves nothing behind: the driver's destroy removes whatever it made.
      if (kind === 'create') await destroy();
      state = { ...state, phase: state.deployedSha ? 'ready' : 'failed', failedSha: sha, lastError: `${kind} of ${sha.slice(0, 12)} failed: ${why}` };
      await comment(`Preview environment \`${state.name}\`: the ${kind} of ${sha.slice(0, 12)} failed (${why}). The next push retries it.`);
    }
  };

  const destroy = async () => {
    await CancellationScope.nonCancellable(() => cleanup.destroyPreview({ service, pr, name: state.name }));
  };

  try {
    for (;;) {
      const action = decidePreview(state, Date.now(), timing);
      if (action.kind === 'destroy') {
        state = { ...state, ending: action.reason };
        break;
      }
      if (action.kind === 'wait') {
        if (deploysThisRun >= (start.deploysPerRun ?? DEFAULT_DEPLOYS_PER_RUN) || workflowInfo().continueAsNewSuggested) {
          // Between steps, nothing in flight: the state (plain JSON) is all the next run needs.
          await continueAsNew<typeof previewEnvironment>({ ...start, state });
        }
        state = { ...state, waitsFor: action.waitsFor };
        const seen = heard;
        await condition(() => heard !== seen, action.ms);
        continue;
      }
      await deploy(action.kind, action.sha);
      deploysThisRun++;
    }
  } catch (err) {
    if (isCancellation(err)) await finish('cancelled');
    throw err;
  }
  await finish(state.ending ?? 'idle');
  return statusOf(state);

  async function finish(reason: string) {
    const hadUrl = state.url;
    state = { ...state, phase: 'destroying', waitsFor: `the destroy of ${state.name}` };
    try {
      await destroy();
      state = { ...state, phase: 'destroyed', url: undefined, waitsFor: 'nothing (ended)' };
      if (hadUrl) await CancellationScope.nonCancellable(() => comment(`Preview environment \`${state.name}\` was destroyed (${reason}).`));
    } catch (err) {
      state = { ...state, phase: 'failed', lastError: `destroy failed: ${failureMessage(err)}`, waitsFor: 'a person to clean up' };
      await CancellationScope.nonCancellable(() => comment(`Preview environment \`${state.name}\` could NOT be destroyed (${failureMessage(err)}). Remove it by hand.`));
      throw err;
    }
  }
}
