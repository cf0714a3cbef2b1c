/**
 * How a service's long steps (deploys and checks) are watched and retried: its `heartbeatSeconds`
 * and `stepRetry` settings, carried as plain JSON in the inputs of the workflows that run the steps.
 */

/** Retries of a failed deploy or check: the first `initialIntervalSeconds` after the failure, each next twice as long (at most 2 minutes). */
export interface StepRetry {
  initialIntervalSeconds: number;
  /** Attempts in all, the first included. */
  maximumAttempts: number;
}

export interface StepPolicy {
  /** Heartbeat timeout of deploys and checks (default: 1 minute). */
  heartbeatSeconds?: number;
  /** Retries of a failed deploy or check (default: the first after 10 s, 4 attempts). */
  stepRetry?: StepRetry;
}

/** The step settings a service sets (absent ones stay absent, so old inputs and new ones read alike). */
export function stepPolicyOf(service: StepPolicy): StepPolicy {
  return {
    ...(service.heartbeatSeconds ? { heartbeatSeconds: service.heartbeatSeconds } : {}),
    ...(service.stepRetry ? { stepRetry: service.stepRetry } : {}),
  };
}
