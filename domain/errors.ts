/**
 * The error catalogue. Every error a user can see has a stable code, says what happened, and gives
 * a hint that says what to do next. Library errors are translated into these at the driver boundary;
 * activities turn them into Temporal failures whose `type` is the code.
 */

export const ERROR_CODES = {
  CONFIG_INVALID: { retryable: false },
  UNKNOWN_SERVICE: { retryable: false },
  UNKNOWN_ENVIRONMENT: { retryable: false },
  INVALID_REF: { retryable: false },
  REF_NOT_FOUND: { retryable: false },
  TAG_CONFLICT: { retryable: false },
  FORGE_AUTH: { retryable: false },
  FORGE_UNAVAILABLE: { retryable: true },
  DEPLOY_FAILED: { retryable: true },
  DEPLOY_TIMEOUT: { retryable: true },
  COMMAND_NOT_FOUND: { retryable: false },
  CHECK_MISCONFIGURED: { retryable: false },
  NOTIFY_FAILED: { retryable: true },
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
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  /** One line for logs, failures and notifications. */
  describe(): string {
    return `${this.message}. ${this.hint}`;
  }
}
