/**
 * `webhook` deployer: asks another system to deploy with a signed JSON POST
 * {service, environment, tag, commit, trainId, deliveryId, callbackUrl?}.
 *
 * - mode `response`: the answer is the result. 2xx is success (JSON `{summary}` optional); anything
 *   else fails the attempt. The request may take up to `timeoutSeconds`; the activity heartbeats
 *   meanwhile, and an abort cancels the request.
 * - mode `callback`: a 2xx answer only means "accepted". The deployer returns an AwaitingCallback
 *   marker; the activity then completes asynchronously (CompleteAsyncError) and the target later
 *   POSTs a signed `{service, environment, ok, summary, url?}` to `callbackUrl`, which the worker's
 *   callback server (workers/callbacks.ts) turns into the activity's result. Until then
 *   CallbackWaits heartbeats the waiting activity, so an abort still reaches it and a callback that
 *   never comes fails it after `timeoutSeconds`.
 */
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { ActivityCancelledError, ActivityNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import type { WebhookDeployerConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import { bodyTail, displayUrl, postSigned, readSecret, type PostOutcome } from '../signing.js';
import type { DeployRequest } from '../types.js';
import type { DeployContext, Deployer } from './deployer.js';

export interface WebhookDeployContext extends DeployContext {
  /** The activity's task token: callback mode completes the activity with it. */
  taskToken?: Uint8Array;
  /** Where the deploy target reaches this worker's callback server, e.g. https://trainyard-worker.internal:8788 */
  callbackBaseUrl?: string;
}

/** Callback mode: the target accepted the deploy; the activity must wait for its callback. */
export interface AwaitingCallback {
  summary: string;
  awaitingCallback: { deliveryId: string; /** ms since the epoch */ deadline: number };
}

export function isAwaitingCallback(result: { summary: string }): result is AwaitingCallback {
  return typeof (result as Partial<AwaitingCallback>).awaitingCallback === 'object';
}

export const CALLBACK_PATH = '/callbacks/deploy/';

/** How long the target may take to accept a deploy in callback mode. */
const ACCEPT_TIMEOUT_MS = 30_000;
const HEARTBEAT_MS = 10_000;

export class WebhookDeployer implements Deployer {
  constructor(
    private readonly config: WebhookDeployerConfig,
    private readonly environment: Record<string, string | undefined> = process.env,
    private readonly now: () => number = Date.now,
    private readonly heartbeatEveryMs = HEARTBEAT_MS,
  ) {}

  async deploy(req: DeployRequest, ctx: WebhookDeployContext): Promise<{ summary: string; url?: string } | AwaitingCallback> {
    const secret = readSecret({ env: this.config.secretEnv, what: 'webhook deployer signing secret' }, '.', this.environment);
    const deliveryId = randomUUID();
    const payload: Record<string, unknown> = { service: req.service, environment: req.environment, tag: req.tag, commit: req.commit, trainId: req.trainId, deliveryId };
    const callback = this.config.mode === 'callback';
    if (callback) {
      if (!ctx.taskToken || !ctx.callbackBaseUrl) {
        throw new TrainyardError(
          'CONFIG_INVALID',
          `the webhook deployer of ${req.service} ${req.environment} is in callback mode, but this worker has no callback server`,
          'Start the worker with a callback URL the deploy target can reach, or use mode: response',
        );
      }
      payload.callbackUrl = `${ctx.callbackBaseUrl.replace(/\/+$/, '')}${CALLBACK_PATH}${Buffer.from(ctx.taskToken).toString('base64url')}`;
    }
    const timeoutMs = callback ? Math.min(ACCEPT_TIMEOUT_MS, this.config.timeoutSeconds * 1000) : this.config.timeoutSeconds * 1000;
    // A response-mode deploy may answer after many minutes: keep the activity alive meanwhile.
    const beat = setInterval(() => ctx.heartbeat(), this.heartbeatEveryMs);
    let outcome: PostOutcome;
    try {
      outcome = await postSigned(this.config.url, secret, payload, { timeoutMs, signal: ctx.signal, deliveryId });
    } finally {
      clearInterval(beat);
    }
    const result = this.resultOf(req, outcome, secret, timeoutMs);
    if (!callback) return result;
    return { summary: `${displayUrl(this.config.url)} accepted the deploy of ${req.tag} to ${req.environment}; waiting for its callback`, awaitingCallback: { deliveryId, deadline: this.now() + this.config.timeoutSeconds * 1000 } };
  }

  /** The result of a 2xx answer; throws for everything else. */
  private resultOf(req: DeployRequest, outcome: PostOutcome, secret: string, timeoutMs: number): { summary: string; url?: string } {
    const what = `deploy of ${req.tag} to ${req.environment} via ${displayUrl(this.config.url)}`;
    const retried = 'It is retried with backoff; when retries are exhausted the train waits for `trainyard retry-deploy` or `abort`';
    switch (outcome.kind) {
      case 'cancelled':
        throw new TrainyardError('DEPLOY_FAILED', `${what} was cancelled`, 'The train was aborted or cancelled.');
      case 'timeout':
        throw new TrainyardError('DEPLOY_TIMEOUT', `${what}: no answer within ${Math.round(timeoutMs / 1000)} s`, retried);
      case 'unreachable':
        throw new TrainyardError('DEPLOY_FAILED', `${what}: the deploy target is unreachable (${outcome.reason})`, retried);
      case 'answered':
        break;
    }
    const { status, text } = outcome;
    if (status >= 200 && status < 300) {
      const { summary, url } = parseAnswer(text);
      return { summary: summary ?? `deployed ${req.tag} to ${req.environment} (${displayUrl(this.config.url)} answered ${status})`, ...(url ? { url } : {}) };
    }
    const tail = bodyTail(text, secret);
    const detail = `${what}: the target answered ${status}${tail ? `: ${tail}` : ''}`;
    const after = outcome.retryAfterMs === undefined ? undefined : { retryAfterMs: outcome.retryAfterMs };
    if (status === 401 || status === 403) {
      throw new TrainyardError('DEPLOY_REJECTED', detail, `The target refused the signature: give it the secret in ${this.config.secretEnv}`);
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      throw new TrainyardError('DEPLOY_REJECTED', detail, 'The deploy target rejected the request; check its log and the config');
    }
    throw new TrainyardError('DEPLOY_FAILED', detail, retried, after);
  }
}

/** `{summary?, url?}` of a JSON answer; anything else is no information. */
function parseAnswer(text: string): { summary?: string; url?: string } {
  let body: { summary?: unknown; url?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return {};
  }
  const summary = typeof body?.summary === 'string' && body.summary.trim() ? body.summary.trim().slice(0, 1_000) : undefined;
  const url = typeof body?.url === 'string' && /^https?:\/\//.test(body.url) ? body.url.slice(0, 2_000) : undefined;
  return { ...(summary ? { summary } : {}), ...(url ? { url } : {}) };
}

/** The part of a Temporal client that async completion needs (`client.activity`). */
export interface AsyncCompletion {
  heartbeat(taskToken: Uint8Array, details?: unknown): Promise<void>;
  fail(taskToken: Uint8Array, err: unknown): Promise<void>;
  reportCancellation(taskToken: Uint8Array, details?: unknown): Promise<void>;
}

/**
 * Activities waiting for a deploy callback, heartbeated from the worker that started them. That
 * keeps the workflow's usual heartbeat timeout meaningful (a dead worker is noticed and the attempt
 * is retried, which re-sends the deploy request), delivers an abort (cancellation reaches an
 * activity only through a heartbeat's answer), and fails the wait once `timeoutSeconds` have passed.
 */
export class CallbackWaits {
  private readonly timers = new Set<NodeJS.Timeout>();
  private open = 0;

  constructor(
    private readonly completion: AsyncCompletion,
    private readonly log: (line: string) => void = (line) => console.warn(line),
    private readonly now: () => number = Date.now,
  ) {}

  /** `what` names the deploy in log lines and the timeout failure, e.g. "deploy of api/v1 to staging". */
  keep(taskToken: Uint8Array, options: { deadline: number; what: string; heartbeatTimeoutMs?: number }): void {
    const every = Math.max(200, Math.min(5_000, (options.heartbeatTimeoutMs ?? 15_000) / 3));
    this.open++;
    const next = () => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void this.tick(taskToken, options).then((again) => (again ? next() : this.open--));
      }, every);
      timer.unref();
      this.timers.add(timer);
    };
    next();
  }

  /** One heartbeat; false when the wait is over (completed, cancelled, timed out). */
  private async tick(taskToken: Uint8Array, { deadline, what }: { deadline: number; what: string }): Promise<boolean> {
    try {
      if (this.now() >= deadline) {
        const e = new TrainyardError('DEPLOY_TIMEOUT', `${what}: no callback arrived before the deploy's timeout`, 'It is retried (the deploy request is sent again); check that the deploy target calls back');
        await this.completion.fail(taskToken, ApplicationFailure.create({ type: e.code, message: e.describe(), nonRetryable: false }));
        return false;
      }
      await this.completion.heartbeat(taskToken);
      return true;
    } catch (err) {
      if (err instanceof ActivityNotFoundError) return false; // completed by the callback, timed out or retried
      if (err instanceof ActivityCancelledError) {
        await this.completion.reportCancellation(taskToken).catch(() => undefined);
        this.log(`[trainyard] ${what}: cancelled while waiting for the callback (the target may still finish the deploy)`);
        return false;
      }
      this.log(`[trainyard] ${what}: heartbeat while waiting for the callback failed (${(err as Error).message}); trying again`);
      return true;
    }
  }

  /** Deploys still waiting for their callback (a wait ends when completed, cancelled or timed out). */
  get waiting(): number {
    return this.open;
  }

  /** Stops heartbeating (worker shutdown): the activities time out and are retried elsewhere. */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.open = 0;
  }
}

/**
 * The deploy activity's body: runs the deployer and, when it answers "accepted, I will call back",
 * hands the activity over to async completion. `callbacks` is the worker's callback server URL and
 * waits; without it a callback-mode deployer fails with CONFIG_INVALID.
 */
export async function runDeploy(deployer: Deployer, req: DeployRequest, ctx: DeployContext, callbacks?: { baseUrl: string; waits: CallbackWaits }): Promise<{ summary: string; url?: string }> {
  const info = Context.current().info;
  const withCallback: WebhookDeployContext = callbacks ? { ...ctx, taskToken: info.taskToken, callbackBaseUrl: callbacks.baseUrl } : ctx;
  const result = await deployer.deploy(req, withCallback);
  if (!isAwaitingCallback(result)) return result;
  if (!callbacks) throw new TrainyardError('CONFIG_INVALID', 'a deployer waits for a callback, but this worker has no callback server', 'Start the worker with a callback URL');
  callbacks.waits.keep(info.taskToken, { deadline: result.awaitingCallback.deadline, heartbeatTimeoutMs: info.heartbeatTimeoutMs ?? undefined, what: `deploy of ${req.tag} to ${req.environment}` });
  throw new CompleteAsyncError();
}
