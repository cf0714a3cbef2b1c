/**
 * The error catalogue. Every error a user can see has a stable code, says what happened, and gives
 * a hint that says what to do next. Library errors are translated into these at the driver boundary;
 * activities turn them into Temporal failures whose `type` is the code.
 */

export const ERROR_CODES = {
  CONFIG_INVALID: { retryable: false },
  UNKNOWN_SERVICE: { retryable: false },
  /** No train by that id, tag or service (or several: name one). */
  UNKNOWN_TRAIN: { retryable: false },
  UNKNOWN_ENVIRONMENT: { retryable: false },
  INVALID_REF: { retryable: false },
  REF_NOT_FOUND: { retryable: false },
  TAG_CONFLICT: { retryable: false },
  FORGE_AUTH: { retryable: false },
  /** The forge has no such object (repository, pull request, run, file). */
  FORGE_NOT_FOUND: { retryable: false },
  /** The forge refused a write that conflicts with its state (not mergeable, branch exists elsewhere). */
  FORGE_CONFLICT: { retryable: false },
  /** The forge rejected the request as invalid (422 / 400): a bug or bad config, not a blip. */
  FORGE_INVALID: { retryable: false },
  /** Rate limited: retried after the server's Retry-After / reset time (`retryAfterMs`). */
  FORGE_RATE_LIMITED: { retryable: true },
  /** The CLI cannot reach the Temporal cluster (not running, wrong address, TLS or key refused). */
  TEMPORAL_UNAVAILABLE: { retryable: true },
  /** 5xx, network errors, timeouts, malformed answers: retried with backoff. */
  FORGE_UNAVAILABLE: { retryable: true },
  DEPLOY_FAILED: { retryable: true },
  DEPLOY_TIMEOUT: { retryable: true },
  COMMAND_NOT_FOUND: { retryable: false },
  CHECK_MISCONFIGURED: { retryable: false },
  NOTIFY_FAILED: { retryable: true },
  /** A notifier or annotator that cannot work as configured (bad token, unknown channel, 401/403). */
  NOTIFY_MISCONFIGURED: { retryable: false },
  /** A deploy target refused the request itself (a 4xx other than 408/429): retrying cannot help. */
  DEPLOY_REJECTED: { retryable: false },
  CHERRY_PICK_CONFLICT: { retryable: false },
  /** A workflow's validator refused an operator request. */
  REJECTED: { retryable: false },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const NON_RETRYABLE_CODES: ErrorCode[] = (Object.keys(ERROR_CODES) as ErrorCode[]).filter(
  (code) => !ERROR_CODES[code].retryable,
);

export class TrainyardError extends Error {
  override readonly name = 'TrainyardError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** What the user should do next. */
    readonly hint: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  /** When the server said when to come back (rate limits): the delay before the next attempt. */
  readonly retryAfterMs?: number;

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  /** One line for logs, failures and notifications. */
  describe(): string {
    return `${this.message}. ${this.hint}`;
  }
}
