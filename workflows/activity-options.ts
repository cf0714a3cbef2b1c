/**
 * Activity proxies with explicit timeouts and retry policies, one per kind of side effect.
 * Permanent failures (the error catalogue's non-retryable codes) are never retried.
 */
import { ActivityCancellationType, isCancellation, log, proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { StepPolicy } from '../domain/steps.js';
import type { TrainActivities, TrainEvent } from '../activities/types.js';
import { NON_RETRYABLE_CODES } from '../domain/errors.js';

const nonRetryableErrorTypes = [...NON_RETRYABLE_CODES];

/**
 * Short forge calls: retried with backoff for about ten minutes (a forge outage), then the train
 * decides. They heartbeat by themselves (activities/index.ts `keptAlive`), so a call on a worker that
 * died is retried 20 s later rather than after its whole minute.
 */
export const forge = proxyActivities<TrainActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 12, nonRetryableErrorTypes },
});

/**
 * Deploys and checks: they run as long as the driver's own timeout allows and heartbeat meanwhile,
 * so a killed worker is noticed within the heartbeat timeout and the attempt resumes elsewhere.
 * Cancellation waits for the driver to stop the external run.
 */
const longRunningRetry = { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 4, nonRetryableErrorTypes };

export const longRunning = proxyActivities<TrainActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: longRunningRetry,
});

/**
 * Call-site options of a long-running step: its summary (the UI's timeline) and what the service
 * sets of its heartbeat timeout and retries (`heartbeatSeconds`, `stepRetry`). Trains cut before a
 * setting existed keep the proxy's defaults; options are not part of what a replay compares.
 */
export function step(summary: string, policy: StepPolicy = {}): ActivityOptions & { summary: string } {
  const options: ActivityOptions & { summary: string } = { summary };
  if (policy.heartbeatSeconds) options.heartbeatTimeout = `${policy.heartbeatSeconds}s`;
  if (policy.stepRetry) {
    const { initialIntervalSeconds, maximumAttempts } = policy.stepRetry;
    options.retry = { ...longRunningRetry, initialInterval: `${initialIntervalSeconds}s`, maximumInterval: `${Math.max(120, initialIntervalSeconds)}s`, maximumAttempts };
  }
  return options;
}

/**
 * Notifications: local activities (one history event each instead of three; a train sends a dozen),
 * three quick tries (a local activity's retries hold the train's workflow task, so a notifier that
 * is down must cost seconds, not a minute); the caller swallows the final failure. Drivers retry
 * within their own bounds too (Slack: ≤ 3 tries, rate limits ≤ 3 s inline).
 */
export const notifier = proxyLocalActivities<TrainActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '2 seconds', maximumAttempts: 3 },
});

/** A notification that never stops the caller: a failure (after the notifier's tries) is only logged. */
export function quietNotifier(service: string, id: string): (event: TrainEvent, text: string) => Promise<void> {
  return async (event, text) => {
    try {
      await notifier.notify.executeWithOptions({ summary: `Notify: ${event}` }, [{ service, trainId: id, event, text }]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('notification failed; going on without it', { event, error: String(err) });
    }
  };
}

/**
 * Notifications sent from inside a message handler: a regular activity. A local activity awaited in
 * an update handler replays in a different order than it ran (core reports nondeterminism when a
 * worker replays such a history, e.g. to answer a query).
 */
export const handlerNotifier = proxyActivities<TrainActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/** Forge-side calls from inside an update handler (a rollback start): short, a few retries, then the caller hears. */
export const handlerForge = proxyActivities<TrainActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5, nonRetryableErrorTypes },
});
