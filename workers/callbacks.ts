/**
 * The deploy callback receiver: a small HTTP server in the worker process. A `webhook` deployer in
 * callback mode sends the target a `callbackUrl` ending in the waiting activity's task token; the
 * target POSTs its signed result there:
 *
 *   POST /callbacks/deploy/<token>   {"service": "api", "environment": "production", "ok": true,
 *                                     "summary": "rolled out 12/12 pods", "url": "https://…"}
 *
 * The body names the service and environment so the server picks that deployer's secret; the
 * signature, timestamp and delivery id are checked as for every Trainyard webhook
 * (activities/signing.ts). Answers: 200 done, 400 malformed, 401 unsigned / bad signature / stale,
 * 404 unknown path, 409 replayed, 410 no activity waits for this token any more (it completed,
 * timed out or was retried: the target can stop calling back), 413 too large, 503 Temporal
 * unreachable (call back again).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActivityNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CALLBACK_PATH } from '../activities/deploy/webhook.js';
import { DEFAULT_MAX_BODY_BYTES, ReplayGuard, readSecret, verifySignature } from '../activities/signing.js';
import type { TrainyardConfig } from '../domain/config.js';
import { TrainyardError } from '../domain/errors.js';

export interface CallbackServerOptions {
  /** A Temporal client (only `client.activity.complete/fail` are used). */
  client: { activity: { complete(taskToken: Uint8Array, result: unknown): Promise<void>; fail(taskToken: Uint8Array, err: unknown): Promise<void> } };
  port: number;
  /** Default 127.0.0.1; the deploy target must be able to reach it (e.g. 0.0.0.0 behind a proxy). */
  host?: string;
  /** The signing secret of the callback-mode deployer of this service and environment; undefined when there is none. */
  secretFor(service: string, environment: string): string | undefined;
  maxBodyBytes?: number;
  toleranceSeconds?: number;
  log?: (line: string) => void;
}

export interface CallbackServer {
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

interface Callback {
  service: string;
  environment: string;
  ok: boolean;
  summary?: string;
  url?: string;
  tag?: string;
}

class Reply extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads the body, keeping at most `max` bytes. Past the limit the rest is drained unread so the
 * sender gets its 413 instead of a reset connection; a sender that goes on far past it is cut off.
 */
function readLimited(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else if (size > max * 16 + 65_536) req.destroy();
    });
    req.on('end', () => (size > max ? reject(new Reply(413, `body is larger than ${max} bytes`)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
    req.on('close', () => reject(new Reply(400, 'request ended early')));
  });
}

function parseCallback(raw: Buffer): Callback {
  let body: Partial<Record<keyof Callback, unknown>>;
  try {
    body = JSON.parse(raw.toString('utf8')) as typeof body;
  } catch {
    throw new Reply(400, 'body is not JSON');
  }
  const text = (v: unknown, max: number) => (typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined);
  const service = text(body?.service, 100);
  const environment = text(body?.environment, 100);
  if (!service || !environment || typeof body.ok !== 'boolean') {
    throw new Reply(400, 'body needs "service", "environment" (strings) and "ok" (boolean)');
  }
  const link = text(body.url, 2_000);
  const optional = { summary: text(body.summary, 1_000), url: link && /^https?:\/\//.test(link) ? link : undefined, tag: text(body.tag, 200) };
  return { service, environment, ok: body.ok, ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) };
}

/** The failure a `{ok: false}` callback gives the activity, shaped as activities/index.ts shapes errors. */
function deployFailure(cb: Callback): ApplicationFailure {
  const what = `deploy of ${cb.tag ?? 'the tag'} to ${cb.environment}`;
  const e = new TrainyardError(
    'DEPLOY_FAILED',
    `${what} failed, the deploy target reports: ${cb.summary ?? '(no summary)'}${cb.url ? ` (${cb.url})` : ''}`,
    'It is retried with backoff; when retries are exhausted the train waits for `trainyard retry-deploy` or `abort`',
  );
  return ApplicationFailure.create({ type: e.code, message: e.describe(), nonRetryable: !e.retryable });
}

export async function startCallbackServer(options: CallbackServerOptions): Promise<CallbackServer> {
  const max = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const replays = new ReplayGuard();
  const log = options.log ?? ((line: string) => console.warn(line));

  const handle = async (req: IncomingMessage): Promise<string> => {
    const path = new URL(req.url ?? '/', 'http://callback').pathname;
    const token = path.startsWith(CALLBACK_PATH) ? path.slice(CALLBACK_PATH.length) : '';
    if (!/^[A-Za-z0-9_-]{8,8192}$/.test(token)) throw new Reply(404, 'not a deploy callback URL');
    if (req.method !== 'POST') throw new Reply(405, 'use POST');
    const raw = await readLimited(req, max);
    const cb = parseCallback(raw);
    const secret = options.secretFor(cb.service, cb.environment);
    if (!secret) throw new Reply(401, `no callback-mode webhook deployer is configured for ${cb.service} ${cb.environment}`);
    const verdict = verifySignature(secret, req.headers, raw, { replays, scope: token, maxBodyBytes: max, ...(options.toleranceSeconds ? { toleranceSeconds: options.toleranceSeconds } : {}) });
    if (!verdict.ok) throw new Reply(verdict.status, verdict.message);
    const taskToken = new Uint8Array(Buffer.from(token, 'base64url'));
    try {
      if (cb.ok) await options.client.activity.complete(taskToken, { summary: cb.summary ?? `deployed to ${cb.environment}`, ...(cb.url ? { url: cb.url } : {}) });
      else await options.client.activity.fail(taskToken, deployFailure(cb));
    } catch (err) {
      if (err instanceof ActivityNotFoundError) throw new Reply(410, 'no deploy waits for this callback any more (completed, timed out or retried)');
      log(`[trainyard] deploy callback for ${cb.service} ${cb.environment} could not reach Temporal: ${(err as Error).message}`);
      throw new Reply(503, 'Temporal is unavailable; call back again');
    }
    log(`[trainyard] deploy callback: ${cb.service} ${cb.environment} ${cb.ok ? 'succeeded' : 'failed'} (delivery ${verdict.deliveryId})`);
    return cb.ok ? 'completed' : 'failed';
  };

  const answer = (res: ServerResponse, status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 413 ? { connection: 'close' } : {}) });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    handle(req).then(
      (result) => answer(res, 200, { ok: true, result }),
      (err: unknown) => {
        if (err instanceof Reply) answer(res, err.status, { ok: false, error: err.message });
        else {
          log(`[trainyard] deploy callback server: ${(err as Error).message}`);
          answer(res, 500, { ok: false, error: 'internal error' });
        }
      },
    );
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * `secretFor` from the config: the secret of the service's callback-mode webhook deployer in that
 * environment. Unknown names (including `__proto__` and friends) have none.
 */
export function callbackSecrets(config: TrainyardConfig, environment: Record<string, string | undefined> = process.env, log: (line: string) => void = console.warn) {
  return (service: string, env: string): string | undefined => {
    if (!Object.hasOwn(config.services, service) || (env !== 'staging' && env !== 'production')) return undefined;
    const deploy = config.services[service]?.environments[env].deploy;
    if (deploy?.kind !== 'webhook' || deploy.mode !== 'callback') return undefined;
    try {
      return readSecret({ env: deploy.secretEnv, what: 'webhook deployer signing secret' }, '.', environment);
    } catch (err) {
      log(`[trainyard] deploy callback for ${service} ${env} refused: ${(err as TrainyardError).describe()}`);
      return undefined;
    }
  };
}
