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

/**
 * What a deploy attempt knows before it runs its driver. An attempt after the first follows one
 * whose outcome may have been lost (its worker died, or it failed after the deploy took effect),
 * so the tag may already run in the environment.
 */
export interface DeployAttempt {
  tag: string;
  environment: string;
  /** Which attempt of the deploy activity this is (1 = the first). */
  attempt: number;
  /** A previous attempt left heartbeat details (a resumed deploy). */
  resumed: boolean;
}

/** Whether an attempt follows one that may have deployed already. */
export function followsEarlierAttempt(a: DeployAttempt): boolean {
  return a.attempt > 1 || a.resumed;
}

/**
 * What the environment's version URL said: `url` for messages (without credentials or query), and
 * the version it reports (null: no answer, an error status, or no version in the answer).
 */
export interface VersionReading {
  url: string;
  version: string | null;
}

export type DeployDecision = { kind: 'run'; why: string } | { kind: 'already-running'; summary: string };

/** A version as a target reported it, bounded for messages (a target may answer anything). */
const shown = (version: string) => (version.length > 100 ? `${version.slice(0, 100)}…` : version);

/**
 * Whether to run the deploy driver. A first attempt always runs it. A later one that finds the tag
 * running at the version URL records the deploy as done instead (running the command again would
 * deploy twice if it is not idempotent); a reading of another version, or none, runs it. Without a
 * version URL (`reading` undefined) it runs as it always did: the command must be idempotent.
 */
export function deployDecision(a: DeployAttempt, reading: VersionReading | undefined): DeployDecision {
  if (!followsEarlierAttempt(a)) return { kind: 'run', why: 'first attempt' };
  if (!reading) return { kind: 'run', why: `attempt ${a.attempt}, no versionUrl to check: the deploy command must be idempotent` };
  if (reading.version === null) return { kind: 'run', why: `attempt ${a.attempt}, ${reading.url} reports no version` };
  if (reading.version !== a.tag) return { kind: 'run', why: `attempt ${a.attempt}, ${a.environment} runs ${shown(reading.version)} (read from ${reading.url})` };
  return { kind: 'already-running', summary: `${a.tag} already runs in ${a.environment} (read from ${reading.url}): not deployed again` };
}
