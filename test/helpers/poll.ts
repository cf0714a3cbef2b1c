/**
 * The one way tests wait: poll a probe until it yields a value, or fail naming what was awaited and
 * what was last seen. Tests wait for states and events, never for wall time.
 *
 * A probe that throws is tried again (a query that lands while a run continues as new, a server
 * still starting); a probe that does not answer within `attemptMs` is abandoned and tried again
 * (the Java test server never answers a query that lands during continue-as-new).
 *
 * Pauses grow from 50 ms to 400 ms: a query is a round trip through the server and a workflow task
 * on the worker, and polling a wait of seconds every 50 ms cost more CPU than the test itself (on
 * a loaded machine, that CPU slows the very workflows the test waits for).
 */
import type { QueryDefinition, WorkflowHandle } from '@temporalio/client';

export interface PollOptions {
  /** Give up after this long (real time). */
  timeoutMs?: number;
  /**
   * Pause after the first attempt; each later pause is half as long again, up to `maxIntervalMs`.
   * Given alone, it is the pause between every two attempts.
   */
  intervalMs?: number;
  /** Longest pause between attempts (default 400 ms, or `intervalMs` when that is given alone). */
  maxIntervalMs?: number;
  /** Abandon one attempt after this long and try again. */
  attemptMs?: number;
  /** Between attempts instead of a real pause, e.g. `() => env.sleep('5 minutes')` to skip time. */
  between?: () => Promise<unknown>;
  /** A probe error that ends the wait at once (thrown as it is) instead of being tried again. */
  stopOn?: (err: unknown) => boolean;
}

const NO_ANSWER = Symbol('no answer');

export class PollTimeout extends Error {}

/** Resolves with the first value the probe yields other than `undefined` or `false`. */
export async function pollUntil<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, options: PollOptions = {}): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 50, attemptMs = 5_000 } = options;
  const maxIntervalMs = options.maxIntervalMs ?? (options.intervalMs !== undefined ? options.intervalMs : 400);
  let pause = Math.min(intervalMs, maxIntervalMs);
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const value = await Promise.race([
        Promise.resolve().then(probe),
        new Promise<typeof NO_ANSWER>((resolve) => (timer = setTimeout(() => resolve(NO_ANSWER), attemptMs))),
      ]);
      if (value !== NO_ANSWER && value !== undefined && value !== false) return value as T;
      if (value === NO_ANSWER) lastError = new Error(`no answer within ${attemptMs} ms`);
    } catch (err) {
      if (options.stopOn?.(err)) throw err;
      lastError = err;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() > deadline) {
      const cause = lastError ? `; last attempt: ${(lastError as Error).message ?? String(lastError)}` : '';
      throw new PollTimeout(`timed out after ${timeoutMs} ms (${attempt} attempts) waiting for ${what}${cause}`);
    }
    if (options.between) await options.between();
    else {
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(maxIntervalMs, pause * 1.5);
    }
  }
}

/**
 * Queries a workflow until `done` holds for its answer, which it returns. On timeout the message
 * names what was awaited and shows the last answer (through `show`, JSON by default).
 */
export async function queryUntil<S>(
  handle: WorkflowHandle,
  query: QueryDefinition<S, []>,
  done: (state: S) => boolean,
  what: string,
  options: PollOptions & { show?: (state: S) => string } = {},
): Promise<S> {
  let last: S | undefined;
  try {
    return await pollUntil(
      what,
      async () => {
        last = await handle.query(query);
        return done(last) ? last : undefined;
      },
      options,
    );
  } catch (err) {
    if (!(err instanceof PollTimeout) || last === undefined) throw err;
    const shown = options.show ? options.show(last) : JSON.stringify(last).slice(0, 600);
    throw new PollTimeout(`${err.message}\n  ${handle.workflowId} last answered: ${shown}`);
  }
}
