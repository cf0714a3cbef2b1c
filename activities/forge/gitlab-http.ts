/**
 * How the GitLab forge talks HTTP: a Gitbeaker requester with our own retry rules, and the one place
 * where whatever it throws becomes a `TrainyardError`.
 *
 * Gitbeaker's default requester retries 429 and 502 ten times within about a quarter of a second and
 * ignores `Retry-After`; it retries no other 5xx; its `queryTimeout` is one signal for a whole paginated
 * call. So we plug our own request handler into Gitbeaker's `createRequesterFn`: a timeout per attempt,
 * GitLab's `Retry-After` honoured when the wait is short (a long one goes back to Temporal as
 * FORGE_RATE_LIMITED with `retryAfterMs`), and a few quick retries of 5xx and dropped connections.
 * Gitbeaker's `rateLimits` / `rateLimitDuration` are a client-side throttle (a token bucket per
 * endpoint glob, 3,000 a minute by default) that never looks at GitLab's answers: kept at its defaults.
 */
import { createRequesterFn, getMatchingRateLimiter, type RateLimiters, type RequestOptions } from '@gitbeaker/requester-utils';
import { GitbeakerRequestError, GitbeakerRetryError, GitbeakerTimeoutError } from '@gitbeaker/rest';
import { TrainyardError } from '../../domain/errors.js';

export interface HttpPolicy {
  /**
   * One attempt's bound: connect, send and read the whole answer. A timeout is not retried here, so
   * a call never outlasts its activity's own timeout by much; Temporal's retry policy decides.
   */
  requestTimeoutMs: number;
  /** A 429 whose wait is at most this is waited for here; longer ones go back to the caller. */
  maxInlineWaitMs: number;
  /** Attempts per request for 5xx / dropped connections, and separately for short 429s. */
  attempts: number;
  /** First 5xx backoff; doubled each time. */
  backoffMs: number;
}

export const DEFAULT_POLICY: Omit<HttpPolicy, 'requestTimeoutMs'> = { maxInlineWaitMs: 5_000, attempts: 3, backoffMs: 200 };

/** When GitLab gives no hint, a rate limit is retried this much later (GitLab's window is a minute). */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/** A non-2xx answer, with what GitLab said in its body (`message`/`error`, and `error_code`). */
export class GitLabRequestError extends GitbeakerRequestError {
  constructor(
    description: string,
    cause: { description: string; request: Request; response: Response },
    readonly errorCode: string | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(description, { cause });
  }
}

/** A 2xx answer whose JSON body does not parse. */
export class MalformedAnswerError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `Retry-After` (seconds or an HTTP date), else GitLab's `RateLimit-Reset` (epoch seconds). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const after = headers.get('retry-after')?.trim();
  if (after) {
    if (/^\d+$/.test(after)) return Number(after) * 1000;
    const date = Date.parse(after);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = headers.get('ratelimit-reset')?.trim();
  if (reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - now);
  return undefined;
}

/** GitLab's error bodies: `{"message": "..."}`, `{"message": {"field": ["..."]}}`, `{"error": "..."}` or text. */
function describeBody(text: string, contentType: string | null): { description: string; errorCode?: string } {
  if (!contentType?.includes('json')) return { description: text.trim().slice(0, 500) };
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown; error_code?: unknown };
    const said = body.message ?? body.error ?? '';
    const description = typeof said === 'string' ? said : JSON.stringify(said);
    return typeof body.error_code === 'string' ? { description, errorCode: body.error_code } : { description };
  } catch {
    return { description: text.trim().slice(0, 500) };
  }
}

async function parseAnswer(response: Response, asStream: boolean | undefined) {
  const headers = Object.fromEntries(response.headers.entries());
  const answer = (body: unknown) => ({ body: body as never, headers, status: response.status });
  if (asStream) return answer(response.body);
  if (response.status === 204) return answer(null);
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  if (type === 'application/json') {
    const text = await response.text();
    if (!text) return answer({});
    try {
      return answer(JSON.parse(text) ?? {});
    } catch {
      throw new MalformedAnswerError(`GitLab answered ${response.status} with a body that is not JSON`);
    }
  }
  if (type.startsWith('text/')) return answer(await response.text());
  return answer(await response.blob());
}

/**
 * GET/PUT/DELETE are repeated after a 5xx. A POST only after 503 (GitLab refused it: maintenance,
 * overload): after a 500, a 502 or a gateway timeout GitLab may have done it, and a second pipeline
 * or note is a duplicate. The caller's next activity attempt checks before posting again.
 */
function retriesStatus(status: number, method: string): boolean {
  if (method === 'POST') return status === 503;
  return [500, 502, 503, 504].includes(status);
}

/** A dropped connection: retried when nothing can have been written (GET/PUT/DELETE, or never connected). */
function retriesNetworkError(err: unknown, method: string): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code;
  return method !== 'POST' || code === 'ECONNREFUSED';
}

function isAbort(err: unknown): boolean {
  const name = (err as Error | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

type HandlerOptions = RequestOptions & { rateLimiters?: RateLimiters };

function requestHandler(policy: HttpPolicy) {
  return async (endpoint: string, options?: Record<string, unknown>) => {
    const { rateLimiters, prefixUrl = '', searchParams, method = 'GET', asStream, signal, agent: _agent, timeout: _timeout, ...init } = (options ?? {}) as HandlerOptions;
    const url = new URL(endpoint, prefixUrl.endsWith('/') ? prefixUrl : `${prefixUrl}/`);
    url.search = searchParams ?? '';
    const limit = getMatchingRateLimiter(endpoint, rateLimiters, method);
    let failures = 0;
    let limited = 0;
    for (;;) {
      await limit();
      const bound = AbortSignal.timeout(policy.requestTimeoutMs);
      const request = new Request(url, { ...(init as RequestInit), method, signal: signal ? AbortSignal.any([signal, bound]) : bound });
      let response: Response;
      try {
        response = await fetch(request);
        if (response.ok) return await parseAnswer(response, asStream);
      } catch (err) {
        if (err instanceof MalformedAnswerError) throw err;
        if (isAbort(err)) throw new GitbeakerTimeoutError(`no complete answer within ${policy.requestTimeoutMs} ms`);
        if (++failures < policy.attempts && retriesNetworkError(err, method)) {
          await sleep(policy.backoffMs * 2 ** (failures - 1));
          continue;
        }
        throw err;
      }
      const wait = retryAfterMs(response.headers);
      if (response.status === 429 && ++limited < policy.attempts && (wait ?? 1000 * limited) <= policy.maxInlineWaitMs) {
        await response.body?.cancel();
        await sleep(wait ?? 1000 * limited);
        continue;
      }
      if (response.status !== 429 && retriesStatus(response.status, method) && ++failures < policy.attempts) {
        await response.body?.cancel();
        await sleep(Math.min(wait ?? Infinity, policy.backoffMs * 2 ** (failures - 1)));
        continue;
      }
      const { description, errorCode } = describeBody(await response.text().catch(() => ''), response.headers.get('content-type'));
      throw new GitLabRequestError(description, { description, request, response }, errorCode, wait);
    }
  };
}

/** A Gitbeaker `requesterFn` with these rules. */
export function gitlabRequester(policy: HttpPolicy) {
  return createRequesterFn((_, options) => Promise.resolve(options), requestHandler(policy));
}

/** What went wrong with one request, with nothing secret in it. */
export interface ApiFailure {
  kind: 'http' | 'timeout' | 'network' | 'malformed';
  status?: number;
  /** GitLab's own words (its `message` / `error`), clipped. */
  message: string;
  /** GitLab's `error_code` (cherry-pick and revert: `conflict`, `empty`). */
  errorCode?: string;
  retryAfterMs?: number;
}

/** Every thrown thing from Gitbeaker, fetch or our handler, as an ApiFailure; the token is cut out. */
export function failureOf(err: unknown, secret: string): ApiFailure {
  const clean = (text: string) => (secret.length >= 4 ? text.split(secret).join('[redacted]') : text).slice(0, 300);
  if (err instanceof GitbeakerRequestError) {
    const status = err.cause?.response?.status;
    const failure: ApiFailure = { kind: 'http', message: clean(err.cause?.description ?? err.message) };
    if (status !== undefined) failure.status = status;
    if (err instanceof GitLabRequestError) {
      if (err.errorCode) failure.errorCode = err.errorCode;
      if (err.retryAfterMs !== undefined) failure.retryAfterMs = err.retryAfterMs;
    } else if (err.cause?.response) {
      const wait = retryAfterMs(err.cause.response.headers);
      if (wait !== undefined) failure.retryAfterMs = wait;
    }
    return failure;
  }
  if (err instanceof GitbeakerTimeoutError || isAbort(err)) return { kind: 'timeout', message: clean((err as Error).message) };
  if (err instanceof GitbeakerRetryError) return { kind: 'http', status: 503, message: clean(err.message) };
  if (err instanceof MalformedAnswerError || err instanceof SyntaxError) return { kind: 'malformed', message: clean((err as Error).message) };
  // fetch's own failure: TypeError("fetch failed") with the socket error as its cause.
  const cause = (err as { cause?: { code?: string } }).cause?.code;
  if (err instanceof TypeError && (cause || err.message === 'fetch failed')) {
    return { kind: 'network', message: clean(`${err.message}${cause ? ` (${cause})` : ''}`) };
  }
  // Anything else is a bug of ours: shown as it is rather than retried as if GitLab were down.
  throw err;
}

/**
 * The translation into the catalogue. `what` says what we were doing ("reading tag v1"); `ref` marks a
 * request that looked a ref up, so its 404 is REF_NOT_FOUND rather than FORGE_NOT_FOUND.
 */
export function toTrainyardError(f: ApiFailure, what: string, where: string, lookup?: 'ref'): TrainyardError {
  const said = f.message ? `: ${f.message}` : '';
  if (f.kind === 'timeout') return new TrainyardError('FORGE_UNAVAILABLE', `GitLab did not answer in time while ${what}`, 'Retried automatically; check GitLab\'s status page if it persists.');
  if (f.kind === 'malformed') return new TrainyardError('FORGE_UNAVAILABLE', `GitLab sent an unreadable answer while ${what}`, 'Retried automatically; a proxy in front of GitLab may be answering instead of it.');
  if (f.kind === 'network') return new TrainyardError('FORGE_UNAVAILABLE', `cannot reach GitLab at ${where} while ${what}${said}`, 'Retried automatically; check the forge URL and the network.');
  const status = f.status ?? 0;
  const message = `GitLab answered ${status} while ${what}${said}`;
  if (status === 401 || status === 403) {
    return new TrainyardError('FORGE_AUTH', message, 'Check the GitLab token: it must be valid and have the api scope, with at least Developer access to the project.');
  }
  if (status === 404) {
    if (lookup === 'ref' && !/project not found/i.test(f.message)) return new TrainyardError('REF_NOT_FOUND', message, 'Check the branch, tag or sha.');
    return new TrainyardError('FORGE_NOT_FOUND', message, `Check forge.project (${where}) and that the token can see it.`);
  }
  if ([405, 406, 409, 412].includes(status)) return new TrainyardError('FORGE_CONFLICT', message, 'The project changed under us or the request cannot be applied; look at it in GitLab.');
  if (status === 400 || status === 422) return new TrainyardError('FORGE_INVALID', message, 'GitLab refused the request; this is a bug or a project setting, not a blip.');
  if (status === 429) {
    const retryAfter = f.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS;
    return new TrainyardError('FORGE_RATE_LIMITED', message, `Retried after ${Math.ceil(retryAfter / 1000)} s.`, { retryAfterMs: retryAfter });
  }
  return new TrainyardError('FORGE_UNAVAILABLE', message, 'Retried automatically; check GitLab\'s status page if it persists.');
}
