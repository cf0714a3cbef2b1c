/**
 * How the GitHub forge talks HTTP: Octokit with GitHub's rate-limit rules (plugin-throttling) and
 * retries of 5xx and dropped connections (plugin-retry), over a fetch of our own that bounds every
 * attempt, answers unchanged GETs from a conditional-request cache (a 304 costs no rate limit), and
 * refuses malformed JSON. `gitHubFailure` is the one place where whatever Octokit throws becomes a
 * `TrainyardError`.
 */
import { createHash } from 'node:crypto';
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { TrainyardError } from '../../domain/errors.js';

const GitHubOctokit = Octokit.plugin(retry, throttling);
export type GitHubApi = InstanceType<typeof GitHubOctokit>;
type ThrottleOptions = NonNullable<ConstructorParameters<typeof GitHubOctokit>[0]>['throttle'];

export interface ClientOptions {
  apiUrl: string;
  token: string;
  /** One attempt's bound: connect, send and read the whole answer. */
  requestTimeoutMs: number;
  /** Attempts after the first for 5xx, timeouts, dropped connections and malformed answers. */
  retries: number;
  /** Wait before retry n is n² times this (plugin-retry's schedule). */
  retryBaseDelayMs: number;
  /** A rate limit whose wait is at most this is waited for here; longer ones go back to Temporal. */
  maxRateLimitWaitMs: number;
  /** Rate-limit waits per request before giving up to Temporal. */
  rateLimitRetries: number;
  /** GitHub asks for a pause between content-creating requests; tests set 0. */
  writeSpacingMs: number;
}

/** Conditional-request cache: ETag and body per token and URL, least recently used first out. */
const conditional = new Map<string, { etag: string; body: string; headers: [string, string][] }>();
const CACHE_MAX_BODY = 512 * 1024;
/** Bodies kept at most, in UTF-16 code units (about 32 MB of memory). */
const CACHE_BUDGET = 16 * 1024 * 1024;
let cachedLength = 0;

/** The answer was 2xx but its JSON does not parse (a proxy page, a cut connection). */
class MalformedAnswer extends Error {
  override name = 'MalformedAnswer';
}

function isJson(contentType: string | null): boolean {
  return /\bjson\b/i.test(contentType ?? '');
}

function remember(key: string, value: { etag: string; body: string; headers: [string, string][] }): void {
  cachedLength -= conditional.get(key)?.body.length ?? 0;
  conditional.delete(key);
  conditional.set(key, value);
  cachedLength += value.body.length;
  for (const [oldest, entry] of conditional) {
    if (cachedLength <= CACHE_BUDGET) break;
    conditional.delete(oldest);
    cachedLength -= entry.body.length;
  }
}

/** A made-up Response has no URL; Octokit's pagination reads it. */
function withUrl(response: Response, url: string): Response {
  Object.defineProperty(response, 'url', { value: url });
  return response;
}

/** fetch with a timeout per attempt, If-None-Match from the cache, and a JSON check. */
function gitHubFetch(timeoutMs: number, cacheScope: string): typeof fetch {
  return async (input, init) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const headers = new Headers(init?.headers);
    const key = method === 'GET' ? `${cacheScope} ${headers.get('accept') ?? ''} ${String(input)}` : undefined;
    const known = key === undefined ? undefined : conditional.get(key);
    if (known) headers.set('if-none-match', known.etag);
    const response = await fetch(input, { ...init, headers, signal });
    if (response.status === 304 && known && key) {
      remember(key, known);
      // The cached body with this answer's rate-limit headers, as if GitHub had sent it again.
      const merged = new Headers(known.headers);
      response.headers.forEach((value, name) => merged.set(name, value));
      return withUrl(new Response(known.body, { status: 200, headers: merged }), response.url);
    }
    const body = await response.text();
    if (response.ok && body && isJson(response.headers.get('content-type'))) {
      try {
        JSON.parse(body);
      } catch {
        throw new MalformedAnswer(`GitHub answered ${response.status} with a body that is not JSON`);
      }
    }
    const etag = response.headers.get('etag');
    if (key && response.status === 200 && etag && body.length <= CACHE_MAX_BODY) remember(key, { etag, body, headers: [...response.headers] });
    const empty = [204, 205, 304].includes(response.status);
    return withUrl(new Response(empty ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers }), response.url);
  };
}

/** GitHub's own advice: mutating requests one at a time, a pause between them (per token). */
function spacedWrites(spacingMs: number) {
  const lanes = new Map<string, { tail: Promise<unknown>; last: number }>();
  return {
    key(id: string) {
      return {
        schedule<T>(_options: unknown, task: (...args: unknown[]) => Promise<T>, ...args: unknown[]): Promise<T> {
          const lane = lanes.get(id) ?? { tail: Promise.resolve(), last: 0 };
          lanes.set(id, lane);
          const turn = lane.tail.then(async () => {
            const wait = lane.last + spacingMs - Date.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            lane.last = Date.now();
          });
          lane.tail = turn.catch(() => undefined);
          return turn.then(() => task(...args));
        },
      };
    },
  };
}
const writeLanes = new Map<number, ReturnType<typeof spacedWrites>>();

export function createGitHubApi(options: ClientOptions): GitHubApi {
  // The token is only ever kept hashed outside Octokit's auth: it scopes caches and write lanes.
  const scope = createHash('sha256').update(`${options.apiUrl}\n${options.token}`).digest('hex').slice(0, 24);
  let writes = writeLanes.get(options.writeSpacingMs);
  if (!writes) writeLanes.set(options.writeSpacingMs, (writes = spacedWrites(options.writeSpacingMs)));
  const group = writes as unknown as NonNullable<ThrottleOptions>['write'];
  const wantRetry = (retryAfterSeconds: number, retryCount: number) =>
    retryCount < options.rateLimitRetries && retryAfterSeconds * 1000 <= options.maxRateLimitWaitMs;
  const quiet = () => undefined;
  const api = new GitHubOctokit({
    auth: options.token,
    baseUrl: options.apiUrl.replace(/\/+$/, ''),
    userAgent: 'trainyard',
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    request: { fetch: gitHubFetch(options.requestTimeoutMs, scope) },
    // 409 (conflict) and 429 are not blips: plugin-retry would retry them blindly, ignoring Retry-After.
    retry: { retries: options.retries, retryAfterBaseValue: options.retryBaseDelayMs, doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422, 429, 451] },
    throttle: {
      id: scope,
      write: group,
      notifications: group,
      onRateLimit: (after, _options, _octokit, count) => wantRetry(after, count),
      onSecondaryRateLimit: (after, _options, _octokit, count) => wantRetry(after, count),
    },
  });
  // plugin-retry keeps its attempt counter in `options.request`, an object Octokit shares between
  // calls: without a fresh one per call, one call's retries lengthen every later call's backoff.
  // (Hooks share one options object, so it is replaced in place, before the plugins see it.)
  api.hook.wrap('request', (request, options) => {
    options.request = { ...options.request, retryCount: 0 };
    return request(options);
  });
  return api;
}

// ── errors ────────────────────────────────────────────────────────────────────────────────────

interface OctokitLikeError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
}

export function statusOf(err: unknown): number | undefined {
  const status = (err as OctokitLikeError | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** One entry of a 422's `errors`: a string, `{message}`, or `{resource, field, code}` ("already_exists"). */
function errorDetail(x: unknown): string {
  if (typeof x === 'string') return x;
  const e = (x ?? {}) as { message?: unknown; resource?: unknown; field?: unknown; code?: unknown };
  if (typeof e.message === 'string') return e.message;
  return [e.resource, e.field, e.code].filter((v) => typeof v === 'string').join(' ');
}

/** What GitHub said (`message` of its error body), without the documentation link. */
export function gitHubMessage(err: unknown): string {
  const e = err as OctokitLikeError | null;
  const data = e?.response?.data as { message?: unknown; errors?: unknown } | undefined;
  if (data && typeof data === 'object' && typeof data.message === 'string') {
    const details = Array.isArray(data.errors) ? data.errors.map(errorDetail).filter(Boolean) : [];
    return details.length > 0 ? `${data.message} (${details.join('; ')})` : data.message;
  }
  return e?.message ?? String(err);
}

/** A status and what GitHub said, for the few answers that mean success (already exists, finished). */
export function isAnswer(err: unknown, status: number, message?: RegExp): boolean {
  return statusOf(err) === status && (message === undefined || message.test(gitHubMessage(err)));
}

/** When to come back: Retry-After, else the primary limit's reset time, else a minute. */
export function rateLimitWaitMs(err: unknown, now = Date.now()): number {
  const headers = (err as OctokitLikeError | null)?.response?.headers ?? {};
  const after = headers['retry-after'];
  if (after && /^\d+$/.test(after)) return Number(after) * 1000;
  const reset = headers['x-ratelimit-reset'];
  if (reset && /^\d+$/.test(reset)) return Math.max(1_000, Number(reset) * 1000 - now + 1_000);
  return 60_000;
}

function isRateLimited(err: unknown): boolean {
  const status = statusOf(err);
  if (status === 429) return true;
  const remaining = (err as OctokitLikeError).response?.headers?.['x-ratelimit-remaining'];
  return status === 403 && (remaining === '0' || /rate limit/i.test(gitHubMessage(err)));
}

export interface FailureContext {
  /** What was being done, e.g. `reading tag v1 of acme/api`. */
  what: string;
  token: string;
  /** A 404 here means the ref that was looked up does not exist. */
  notFound?: 'ref';
}

/**
 * The one translation of Octokit's errors. The message never holds the token: GitHub's own words are
 * kept (clipped), any echo of the token is cut out, and the cause is a plain summary rather than the
 * Octokit error (whose request options would travel into Temporal failures).
 */
export function gitHubFailure(err: unknown, context: FailureContext): TrainyardError {
  if (err instanceof TrainyardError) return err;
  const status = statusOf(err);
  const said = redact(gitHubMessage(err), context.token).replace(/\s+/g, ' ').slice(0, 300);
  const message = `GitHub ${context.what} failed${status && status !== 500 ? ` (${status})` : ''}: ${said}`;
  const cause = new Error(message);
  if (status !== undefined && isRateLimited(err)) {
    const retryAfterMs = rateLimitWaitMs(err);
    return new TrainyardError('FORGE_RATE_LIMITED', message, `Retried automatically in ${Math.ceil(retryAfterMs / 1000)} s; if it keeps happening, lower the polling rate or use a token with a higher limit.`, { cause, retryAfterMs });
  }
  switch (status) {
    case 401:
      return new TrainyardError('FORGE_AUTH', message, 'GitHub rejected the token: check that the token in forge.tokenEnv (default GITHUB_TOKEN) is set, not expired or revoked.', { cause });
    case 403:
      return new TrainyardError('FORGE_AUTH', message, 'The token may lack a permission (contents, pull requests, actions: read and write) or this repository may not allow the operation.', { cause });
    case 404:
    case 410:
      return context.notFound === 'ref'
        ? new TrainyardError('REF_NOT_FOUND', message, 'Check the branch, tag or sha on GitHub.', { cause })
        : new TrainyardError('FORGE_NOT_FOUND', message, 'Check forge.repository and that the token can see it (GitHub answers 404 for private repositories it cannot read).', { cause });
    case 405:
    case 409:
      return new TrainyardError('FORGE_CONFLICT', message, 'The repository changed under the request; look at it on GitHub and retry.', { cause });
    case 400:
    case 422:
      // GitHub's answer to an unknown ref on the commit endpoints.
      if (context.notFound === 'ref' && /No commit found/i.test(said)) return new TrainyardError('REF_NOT_FOUND', message, 'Check the branch, tag or sha on GitHub.', { cause });
      return new TrainyardError('FORGE_INVALID', message, 'GitHub refused the request as invalid; check the config values it was built from.', { cause });
    default:
      return new TrainyardError('FORGE_UNAVAILABLE', message, 'GitHub or the network had a problem; retried automatically.', { cause });
  }
}

export function redact(text: string, token: string): string {
  return token.length >= 4 ? text.split(token).join('[REDACTED]') : text;
}
