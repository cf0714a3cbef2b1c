/**
 * The webhook receiver: GitHub and GitLab pull/merge request events become signal-with-start of the
 * preview workflow (`preview/<service>/<pr>`); pushes to a branch a service follows to staging
 * (`stageOnMerge`) become signal-with-start of its stage follower (`stage/<service>`).
 *
 *   POST /webhooks/github   X-Hub-Signature-256 (HMAC of the raw body), X-GitHub-Event, X-GitHub-Delivery
 *   POST /webhooks/gitlab   X-Gitlab-Token (compared in constant time), X-Gitlab-Event-UUID or Idempotency-Key
 *
 * Answers: 202 accepted (or ignored, with why), 400 malformed, 401 unsigned / mis-signed, 404 unknown
 * path or forge not configured, 409 replayed delivery, 413 too large, 503 Temporal unreachable (the
 * forge redelivers; the delivery id is forgotten so the redelivery is accepted).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhooks } from '@octokit/webhooks';
import { redact } from '../activities/signing.js';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { stageFollowerId } from '../domain/ids.js';
import { previewWorkflowId, type PreviewEvent, type PreviewEventKind } from '../domain/preview.js';
import { PREVIEW_WORKFLOW, previewEventSignal } from '../workflows/preview-messages.js';
import { STAGE_WORKFLOW, stagePushSignal } from '../workflows/stage-messages.js';

export interface WebhookReceiverOptions {
  /** Builds the default `start` (signal-with-start); not needed when `start` is given. */
  client?: Client;
  taskQueue?: string;
  port: number;
  host?: string;
  github?: { secret: string };
  gitlab?: { token: string };
  /** owner/name (GitHub) or group/name (GitLab) → service. */
  services: Record<string, string>;
  /** Per service: the preview's timing, sent as the workflow's start input. */
  previews?: Record<string, { quietSeconds: number; ttlHours: number }>;
  maxBodyBytes?: number;
  /** What an accepted event does; default: signal-with-start through `client`. */
  start?: (event: PreviewEvent) => Promise<void>;
  /** owner/name or group/name → the service that follows `branch` to staging. */
  stages?: Record<string, { service: string; branch: string }>;
  /** What an accepted push to a followed branch does; default: signal-with-start of the follower through `client`. */
  startStage?: (push: StagePushEvent) => Promise<void>;
  /** How long `start` may take before the delivery is answered 503 (forges give up after ~10 s). */
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;

/** Delivery ids seen in the last day, bounded; a delivery is claimed while handled and released if that fails. */
class Deliveries {
  private readonly seen = new Map<string, number>();
  constructor(private readonly capacity = 20_000) {}
  claim(id: string, now: number): boolean {
    if ((this.seen.get(id) ?? 0) > now) return false;
    this.seen.delete(id);
    this.seen.set(id, now + DAY_MS);
    for (const oldest of this.seen.keys()) {
      if (this.seen.size <= this.capacity) break;
      this.seen.delete(oldest);
    }
    return true;
  }
  release(id: string): void {
    this.seen.delete(id);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

class TooLarge extends Error {}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  if (Number(header(req, 'content-length') ?? 0) > max) throw new TooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new TooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sameSecret(given: string, expected: string): boolean {
  // Hash both so the comparison has a fixed length and takes the same time whatever was sent.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return expected.length > 0 && timingSafeEqual(a, b);
}

type Parsed = { event: Omit<PreviewEvent, 'service'>; repository: string } | { ignored: string };

/** A push to a branch, as both forges describe it. */
export interface PushEvent {
  repository: string;
  branch: string;
  sha: string;
  by?: string;
}

export interface StagePushEvent {
  service: string;
  sha: string;
  by?: string;
  deliveryId: string;
}

const NO_COMMIT = /^0{40}$/;

/**
 * A GitHub `push` or GitLab `push` hook → the push; undefined when the delivery is not a push (it
 * may be a pull request event). Tag pushes and branch deletions are not pushes of a commit.
 */
export function parsePush(forge: 'github' | 'gitlab', eventName: string, body: any): PushEvent | { ignored: string } | undefined {
  const isPush = forge === 'github' ? eventName === 'push' : body?.object_kind === 'push';
  if (!isPush) return undefined;
  const ref = body?.ref;
  const sha = forge === 'github' ? body?.after : (body?.checkout_sha ?? body?.after);
  const repository = forge === 'github' ? body?.repository?.full_name : body?.project?.path_with_namespace;
  if (typeof ref !== 'string' || typeof repository !== 'string') return { ignored: 'malformed' };
  if (!ref.startsWith('refs/heads/')) return { ignored: `push to ${ref.slice(0, 100)} is not to a branch` };
  if (typeof sha !== 'string' || !/^[0-9a-f]{40}$/.test(sha) || NO_COMMIT.test(sha)) return { ignored: 'push without a new head commit (a deleted branch)' };
  const by = forge === 'github' ? (body?.pusher?.name ?? body?.sender?.login) : body?.user_username;
  return { repository, branch: ref.slice('refs/heads/'.length), sha, ...(typeof by === 'string' ? { by: by.slice(0, 100) } : {}) };
}

/** Signal-with-start of the service's stage follower: it looks at the branch after a quiet period. */
export function stageStarter(client: Client, taskQueue: string): (push: StagePushEvent) => Promise<void> {
  return async (push) => {
    await client.workflow.signalWithStart(STAGE_WORKFLOW, {
      workflowId: stageFollowerId(push.service),
      taskQueue,
      args: [{ service: push.service }],
      signal: stagePushSignal,
      signalArgs: [{ sha: push.sha, ...(push.by ? { by: push.by } : {}) }],
    });
  };
}

const GITHUB_ACTIONS: Record<string, PreviewEventKind> = { opened: 'opened', reopened: 'opened', synchronize: 'pushed', closed: 'closed' };

/** A GitHub `pull_request` delivery → event; anything else is ignored with a reason. */
export function parseGitHub(eventName: string, body: any): Parsed {
  if (eventName !== 'pull_request') return { ignored: `event ${eventName} is not handled` };
  const kind = GITHUB_ACTIONS[String(body?.action)];
  if (!kind) return { ignored: `pull_request action ${String(body?.action)} is not handled` };
  const pr = body?.pull_request;
  const repository = body?.repository?.full_name;
  if (typeof pr?.number !== 'number' || typeof pr?.head?.sha !== 'string' || typeof repository !== 'string') return { ignored: 'malformed' };
  const merged = kind === 'closed' && pr.merged === true;
  return { repository, event: { pr: pr.number, kind: merged ? 'merged' : kind, sha: pr.head.sha, ...(typeof body.sender?.login === 'string' ? { by: body.sender.login } : {}) } };
}

/** A GitLab `merge_request` hook → event. An `update` counts as a push only when it brought commits (`oldrev`). */
export function parseGitLab(body: any): Parsed {
  if (body?.object_kind !== 'merge_request') return { ignored: `event ${String(body?.object_kind)} is not handled` };
  const a = body.object_attributes;
  const repository = body.project?.path_with_namespace;
  const sha = a?.last_commit?.id;
  if (typeof a?.iid !== 'number' || typeof sha !== 'string' || typeof repository !== 'string') return { ignored: 'malformed' };
  const kinds: Record<string, PreviewEventKind | undefined> = { open: 'opened', reopen: 'opened', close: 'closed', merge: 'merged', update: a.oldrev ? 'pushed' : undefined };
  const kind = kinds[String(a.action)];
  if (!kind) return { ignored: `merge_request action ${String(a.action)} without new commits is not handled` };
  return { repository, event: { pr: a.iid, kind, sha, ...(typeof body.user?.username === 'string' ? { by: body.user.username } : {}) } };
}

/** Signal-with-start for open and push; a plain signal for close and merge (nothing to start). */
export function previewStarter(client: Client, taskQueue: string, previews: WebhookReceiverOptions['previews'] = {}): (event: PreviewEvent) => Promise<void> {
  return async (event) => {
    const workflowId = previewWorkflowId(event.service, event.pr);
    if (event.kind === 'closed' || event.kind === 'merged') {
      try {
        await client.workflow.getHandle(workflowId).signal(previewEventSignal, event);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      return;
    }
    const timing = previews[event.service] ?? { quietSeconds: 60, ttlHours: 72 };
    await client.workflow.signalWithStart(PREVIEW_WORKFLOW, {
      workflowId,
      taskQueue,
      args: [{ service: event.service, pr: event.pr, ...timing }],
      signal: previewEventSignal,
      signalArgs: [event],
    });
  };
}

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const max = options.maxBodyBytes ?? 1024 * 1024;
  const sink = options.log ?? (() => undefined);
  // Errors from below (Temporal, a custom `start`) may quote anything: no secret leaves through a log line.
  const log = (line: string) => sink(redact(line, ...[options.github?.secret, options.gitlab?.token].filter((s): s is string => !!s)));
  const deliveries = new Deliveries();
  // Only its HMAC check is used (@octokit/webhooks-methods underneath); routing is ours.
  const github = options.github ? new Webhooks({ secret: options.github.secret }) : undefined;
  const start = options.start ?? (options.client ? previewStarter(options.client, options.taskQueue ?? 'trainyard', options.previews) : undefined);
  if (!start) throw new Error('startWebhookReceiver needs `start` or `client`');
  const startStage = options.startStage ?? (options.client ? stageStarter(options.client, options.taskQueue ?? 'trainyard') : undefined);

  const answer = (res: ServerResponse, status: number, body: Record<string, unknown>) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  /** Authenticates; undefined when fine, else the rejection. */
  async function authenticate(forge: 'github' | 'gitlab', req: IncomingMessage, raw: Buffer): Promise<[number, string] | undefined> {
    if (forge === 'github') {
      const signature = header(req, 'x-hub-signature-256');
      if (!signature) return [401, 'unsigned: X-Hub-Signature-256 is missing'];
      const ok = /^sha256=[0-9a-f]{64}$/i.test(signature) && (await github!.verify(raw.toString('utf8'), signature).catch(() => false));
      return ok ? undefined : [401, 'signature does not match (wrong secret, or the body was changed)'];
    }
    const token = header(req, 'x-gitlab-token');
    if (!token) return [401, 'unsigned: X-Gitlab-Token is missing'];
    return sameSecret(token, options.gitlab!.token) ? undefined : [401, 'X-Gitlab-Token does not match the configured token'];
  }

  async function handle(forge: 'github' | 'gitlab', req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw: Buffer;
    try {
      raw = await readBody(req, max);
    } catch (err) {
      if (err instanceof TooLarge) {
        answer(res, 413, { error: `body is larger than ${max} bytes` });
        req.destroy();
        return;
      }
      throw err;
    }
    const rejected = await authenticate(forge, req, raw);
    if (rejected) return answer(res, rejected[0], { error: rejected[1] });
    const deliveryId = forge === 'github' ? header(req, 'x-github-delivery') : (header(req, 'x-gitlab-event-uuid') ?? header(req, 'idempotency-key'));
    if (!deliveryId) return answer(res, 400, { error: `the delivery id header is missing (${forge === 'github' ? 'X-GitHub-Delivery' : 'X-Gitlab-Event-UUID'})` });
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return answer(res, 400, { error: 'body is not JSON' });
    }
    const eventName = header(req, 'x-github-event') ?? '';
    /** Claims the delivery and runs `act`; a failure releases the claim so the forge's redelivery is taken. */
    const deliver = async (what: string, act: () => Promise<void>): Promise<boolean> => {
      if (!deliveries.claim(`${forge}:${deliveryId}`, Date.now())) {
        answer(res, 409, { error: `delivery ${deliveryId} was already received` });
        return false;
      }
      try {
        await withTimeout(act(), options.startTimeoutMs ?? 5_000);
        return true;
      } catch (err) {
        deliveries.release(`${forge}:${deliveryId}`);
        log(`webhook ${deliveryId}: could not reach the ${what}: ${(err as Error).message}`);
        answer(res, 503, { error: `the ${what} could not be reached; redeliver later` });
        return false;
      }
    };

    const push = parsePush(forge, eventName, body);
    if (push) {
      if ('ignored' in push) return answer(res, push.ignored === 'malformed' ? 400 : 202, push.ignored === 'malformed' ? { error: 'push payload lacks ref or repository' } : { ignored: push.ignored });
      const follows = options.stages?.[push.repository];
      if (!follows || !startStage) return answer(res, 202, { ignored: `repository ${push.repository} has no service that follows a branch to staging` });
      if (follows.branch !== push.branch) return answer(res, 202, { ignored: `${follows.service} follows ${follows.branch}, not ${push.branch.slice(0, 100)}` });
      const { service } = follows;
      if (!(await deliver('stage follower', () => startStage({ service, sha: push.sha, ...(push.by ? { by: push.by } : {}), deliveryId: deliveryId! })))) return;
      log(`webhook ${deliveryId}: ${service} push to ${push.branch} ${push.sha.slice(0, 12)}`);
      return answer(res, 202, { workflowId: stageFollowerId(service), event: 'push' });
    }

    const parsed = forge === 'github' ? parseGitHub(eventName, body) : parseGitLab(body);
    if ('ignored' in parsed) return answer(res, parsed.ignored === 'malformed' ? 400 : 202, parsed.ignored === 'malformed' ? { error: 'pull request payload lacks number, head sha or repository' } : { ignored: parsed.ignored });
    const service = options.services[parsed.repository];
    if (!service) return answer(res, 202, { ignored: `repository ${parsed.repository} is not routed to a service` });
    const event: PreviewEvent = { ...parsed.event, service, deliveryId };
    if (!(await deliver('preview workflow', () => start!(event)))) return;
    log(`webhook ${deliveryId}: ${service} PR #${event.pr} ${event.kind} ${event.sha.slice(0, 12)}`);
    answer(res, 202, { workflowId: previewWorkflowId(service, event.pr), event: event.kind });
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const forge = path === '/webhooks/github' ? 'github' : path === '/webhooks/gitlab' ? 'gitlab' : undefined;
    if (req.method === 'GET' && path === '/healthz') return answer(res, 200, { ok: true });
    if (!forge || req.method !== 'POST' || !options[forge]) return answer(res, 404, { error: 'POST /webhooks/github or /webhooks/gitlab (when configured)' });
    handle(forge, req, res).catch((err) => {
      log(`webhook receiver error: ${(err as Error).message}`);
      if (!res.headersSent) answer(res, 500, { error: 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
