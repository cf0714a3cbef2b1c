/**
 * The signed `webhook` deployer against real receivers on loopback, the signing scheme's
 * verification, and the deploy callback server with a real HTTP request: first with Temporal's
 * completion API stood in for (the world, injected, recording what the server completed), then end
 * to end on a real Temporal dev server with a one-activity workflow.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ActivityCancelledError, ActivityNotFoundError, WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { DefaultLogger, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll.js';
import { CallbackWaits, WebhookDeployer, isAwaitingCallback, runDeploy, type WebhookDeployContext } from '../../activities/deploy/webhook.js';
import { DELIVERY_HEADER, ReplayGuard, SIGNATURE_HEADER, TIMESTAMP_HEADER, readSecret, signatureOf, signedHeaders, verifySignature } from '../../activities/signing.js';
import type { WebhookDeployerConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import { startCallbackServer, type CallbackServer } from '../../workers/callbacks.js';
import { WORKER_TUNING } from '../../workers/worker.js';
import { startHttpFake, type FakeRequest, type HttpFake } from '../fakes/http-fake.js';
import { devServerEnv, type DevServerEnv } from '../helpers/temporal.js';

const SECRET = 'whsec-FAKE-SECRET-deploy-key-4242';
const req = { service: 'api', environment: 'production' as const, tag: 'api/v2026.03.02.1', commit: 'a1b2c3d4', trainId: 'train/api/api/v2026.03.02.1' };
const ctx = (over: Partial<WebhookDeployContext> = {}): WebhookDeployContext => ({ signal: new AbortController().signal, heartbeat: () => undefined, ...over });

async function failure(p: Promise<unknown>): Promise<TrainyardError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(TrainyardError);
  return err as TrainyardError;
}

describe('signing', () => {
  const body = JSON.stringify({ hello: 'world' });
  const now = Date.parse('2026-03-02T16:00:00Z');

  it('accepts what it signed, once', () => {
    const headers = signedHeaders(SECRET, body, { now });
    const replays = new ReplayGuard();
    expect(verifySignature(SECRET, headers, body, { now, replays })).toMatchObject({ ok: true, deliveryId: headers[DELIVERY_HEADER] });
    expect(verifySignature(SECRET, headers, body, { now: now + 1_000, replays })).toMatchObject({ ok: false, reason: 'replayed', status: 409 });
    // A fresh delivery id on a captured request does not help: the signature is remembered too.
    expect(verifySignature(SECRET, { ...headers, [DELIVERY_HEADER]: 'another-id' }, body, { now, replays })).toMatchObject({ ok: false, reason: 'replayed' });
  });

  it('rejects a wrong secret, a changed body, a malformed or missing signature', () => {
    const headers = signedHeaders(SECRET, body, { now });
    expect(verifySignature('another-secret', headers, body, { now })).toMatchObject({ ok: false, reason: 'bad-signature', status: 401 });
    expect(verifySignature(SECRET, headers, body.replace('world', 'World'), { now })).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verifySignature(SECRET, { ...headers, [SIGNATURE_HEADER]: 'sha256=abc' }, body, { now })).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verifySignature(SECRET, { ...headers, [SIGNATURE_HEADER]: undefined }, body, { now })).toMatchObject({ ok: false, reason: 'unsigned', message: expect.stringContaining(SIGNATURE_HEADER) });
  });

  it('rejects stale and future timestamps beyond the tolerance, and a re-signed old timestamp', () => {
    const old = signedHeaders(SECRET, body, { now: now - 301_000 });
    expect(verifySignature(SECRET, old, body, { now })).toMatchObject({ ok: false, reason: 'stale', status: 401 });
    expect(verifySignature(SECRET, signedHeaders(SECRET, body, { now: now + 301_000 }), body, { now })).toMatchObject({ ok: false, reason: 'stale' });
    expect(verifySignature(SECRET, signedHeaders(SECRET, body, { now: now - 299_000 }), body, { now })).toMatchObject({ ok: true });
    // Moving the timestamp forward breaks the signature, which covers it.
    expect(verifySignature(SECRET, { ...old, [TIMESTAMP_HEADER]: String(Math.floor(now / 1000)) }, body, { now })).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('the same signed body sent to two targets is not a replay', () => {
    const headers = signedHeaders(SECRET, body, { now });
    const replays = new ReplayGuard();
    expect(verifySignature(SECRET, headers, body, { now, replays, scope: '/a' }).ok).toBe(true);
    expect(verifySignature(SECRET, { ...headers, [DELIVERY_HEADER]: 'other' }, body, { now, replays, scope: '/b' }).ok).toBe(true);
    expect(verifySignature(SECRET, { ...headers, [DELIVERY_HEADER]: 'third' }, body, { now, replays, scope: '/b' })).toMatchObject({ reason: 'replayed' });
  });

  it('rejects a body over the limit before anything else', () => {
    const big = 'x'.repeat(2_048);
    expect(verifySignature(SECRET, signedHeaders(SECRET, big, { now }), big, { now, maxBodyBytes: 1_024 })).toMatchObject({ ok: false, reason: 'too-large', status: 413 });
  });

  it('signs "<timestamp>.<body>" with HMAC-SHA256 (what receivers in other languages implement)', () => {
    // Computed independently: printf '1772467200.{"hello":"world"}' | openssl dgst -sha256 -hmac key
    expect(signatureOf('key', 1_772_467_200, body)).toBe('sha256=0c9e4a3e8d8e85bea7798cf9d935e3d86a37986fc710799b4ead49cfea5784c9');
  });

  it('reads a secret from a file or the environment, naming where it is missing, never the value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trainyard-secret-'));
    try {
      writeFileSync(join(dir, 'key'), `${SECRET}\n`);
      expect(readSecret({ file: 'key', env: 'UNUSED' }, dir, {})).toBe(SECRET);
      expect(readSecret({ env: 'DEPLOY_SECRET' }, dir, { DEPLOY_SECRET: SECRET })).toBe(SECRET);
      expect(() => readSecret({ env: 'DEPLOY_SECRET' }, dir, { DEPLOY_SECRET: ' ' })).toThrow(/DEPLOY_SECRET is not set or empty/);
      expect(() => readSecret({ file: 'missing' }, dir, {})).toThrow(/missing cannot be read \(ENOENT\)/);
      writeFileSync(join(dir, 'empty'), '\n');
      const err = (() => {
        try {
          readSecret({ file: 'empty' }, dir, {});
        } catch (e) {
          return e as TrainyardError;
        }
      })();
      expect(err?.code).toBe('CONFIG_INVALID');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A deploy target that verifies every request and answers as the test says. */
interface Target extends HttpFake {
  received: Record<string, unknown>[];
  answer: (body: Record<string, unknown>) => { status: number; body?: unknown };
}

async function startTarget(secret: string): Promise<Target> {
  const replays = new ReplayGuard();
  let target: Target | undefined;
  const fake = await startHttpFake((r: FakeRequest) => {
    const verdict = verifySignature(secret, r.headers, r.rawBody, { replays });
    if (!verdict.ok) return { status: verdict.status, body: { error: verdict.message } };
    const body = r.body as Record<string, unknown>;
    expect(body.deliveryId).toBe(verdict.deliveryId);
    target?.received.push(body);
    return target ? target.answer(body) : { status: 500 };
  });
  target = Object.assign(fake, { received: [], answer: () => ({ status: 200, body: { summary: 'rolled out' } }) });
  return target;
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const probe = await startHttpFake(() => ({ status: 200 }));
  await probe.close();
  return Number(new URL(probe.url).port);
}

describe('WebhookDeployer, response mode', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget(SECRET);
  });
  afterAll(() => target.close());
  beforeEach(() => {
    target.received.length = 0;
    target.answer = () => ({ status: 200, body: { summary: 'rolled out 12/12 pods', url: 'https://ci.example/run/7' } });
  });
  const deployer = (over: Partial<WebhookDeployerConfig> = {}, secret = SECRET) =>
    new WebhookDeployer({ kind: 'webhook', url: `${target.url}/deploy`, secretEnv: 'DEPLOY_SECRET', mode: 'response', timeoutSeconds: 10, ...over }, { DEPLOY_SECRET: secret });

  it('sends the signed deploy request; a 2xx answer is the result', async () => {
    expect(await deployer().deploy(req, ctx())).toEqual({ summary: 'rolled out 12/12 pods', url: 'https://ci.example/run/7' });
    expect(target.received).toEqual([{ ...req, deliveryId: expect.stringMatching(/^[0-9a-f-]{36}$/) }]);
    target.answer = () => ({ status: 204 });
    expect((await deployer().deploy(req, ctx())).summary).toMatch(/deployed api\/v2026.03.02.1 to production \(.* answered 204\)/);
  });

  it('a 5xx is a retryable DEPLOY_FAILED with the status and the end of the body, never the secret', async () => {
    target.answer = () => ({ status: 502, body: { error: `upstream failed; the key was ${SECRET}` } });
    const err = await failure(deployer().deploy(req, ctx()));
    expect(err).toMatchObject({ code: 'DEPLOY_FAILED', retryable: true });
    expect(err.message).toContain('the target answered 502: {"error":"upstream failed; the key was [redacted]"}');
    expect(err.describe()).not.toContain(SECRET);
  });

  it('a 4xx says the target rejected the request; 401 says the signature was refused', async () => {
    target.answer = () => ({ status: 422, body: { error: 'unknown tag' } });
    const rejected = await failure(deployer().deploy(req, ctx()));
    expect(rejected.hint).toMatch(/rejected the request/);
    // Not retried: the target said the request itself is wrong.
    expect(rejected).toMatchObject({ code: 'DEPLOY_REJECTED', retryable: false });
    const err = await failure(deployer({}, 'FAKE-wrong-secret-1111').deploy(req, ctx()));
    expect(err).toMatchObject({ code: 'DEPLOY_REJECTED', retryable: false });
    expect(err.message).toContain('answered 401');
    expect(err.hint).toContain('DEPLOY_SECRET');
    expect(err.describe()).not.toContain('FAKE-wrong-secret-1111');
  });

  it('keeps the Retry-After of a 503', async () => {
    target.answer = () => ({ status: 503, body: { error: 'busy' } });
    target.inject({ status: 503, headers: { 'retry-after': '42' } });
    expect((await failure(deployer().deploy(req, ctx()))).retryAfterMs).toBe(42_000);
  });

  it('times out after timeoutSeconds', async () => {
    target.inject({ delayMs: 3_000, status: 200 });
    const started = Date.now();
    const err = await failure(deployer({ timeoutSeconds: 1 }).deploy(req, ctx()));
    expect(err.code).toBe('DEPLOY_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('heartbeats while a slow target works on the answer', async () => {
    target.inject({ delayMs: 700, status: 200, body: { summary: 'slow but fine' } });
    let beats = 0;
    const slow = new WebhookDeployer({ kind: 'webhook', url: `${target.url}/deploy`, secretEnv: 'S', mode: 'response', timeoutSeconds: 10 }, { S: SECRET }, Date.now, 200);
    expect(await slow.deploy(req, ctx({ heartbeat: () => beats++ }))).toEqual({ summary: 'slow but fine' });
    expect(beats).toBeGreaterThanOrEqual(2);
  });

  it('an abort cancels the request', async () => {
    target.inject({ delayMs: 3_000, status: 200 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const err = await failure(deployer().deploy(req, ctx({ signal: controller.signal })));
    expect(err.message).toMatch(/cancelled/);
  });

  it('an unreachable target is a retryable failure', async () => {
    const err = await failure(new WebhookDeployer({ kind: 'webhook', url: `http://127.0.0.1:${await closedPort()}/deploy`, secretEnv: 'S', mode: 'response', timeoutSeconds: 5 }, { S: SECRET }).deploy(req, ctx()));
    expect(err).toMatchObject({ code: 'DEPLOY_FAILED', retryable: true });
    expect(err.message).toContain('unreachable (ECONNREFUSED)');
  });
});

/** Temporal's async completion API as the world offers it (`client.activity`); records every call. */
function completionRecorder() {
  const calls: { op: string; token: string; value?: unknown }[] = [];
  /** Tokens whose activity no longer waits (completed, timed out, retried), or was cancelled. */
  const gone = new Set<string>();
  const cancelled = new Set<string>();
  const key = (t: Uint8Array) => Buffer.from(t).toString('base64url');
  const activity = {
    async complete(token: Uint8Array, value: unknown) {
      if (gone.has(key(token))) throw new ActivityNotFoundError('Not found');
      calls.push({ op: 'complete', token: key(token), value });
    },
    async fail(token: Uint8Array, value: unknown) {
      calls.push({ op: 'fail', token: key(token), value });
    },
    async heartbeat(token: Uint8Array) {
      calls.push({ op: 'heartbeat', token: key(token) });
      if (cancelled.has(key(token))) throw new ActivityCancelledError('cancelled');
      if (gone.has(key(token))) throw new ActivityNotFoundError('Not found');
    },
    async reportCancellation(token: Uint8Array) {
      calls.push({ op: 'reportCancellation', token: key(token) });
    },
  };
  return { calls, gone, cancelled, activity };
}

describe('WebhookDeployer, callback mode, and the callback server', () => {
  let target: Target;
  let server: CallbackServer;
  const world = completionRecorder();
  const token = new Uint8Array(Buffer.from('fake-task-token-with-bytes-\u00ff\u00fe'));
  const secrets: Record<string, string> = { 'api production': SECRET };
  const logs: string[] = [];

  beforeAll(async () => {
    target = await startTarget(SECRET);
    target.answer = () => ({ status: 202, body: { accepted: true } });
    server = await startCallbackServer({ client: world, port: 0, secretFor: (s, e) => secrets[`${s} ${e}`], maxBodyBytes: 4_096, log: (l) => logs.push(l) });
  });
  afterAll(async () => {
    await target.close();
    await server.close();
  });

  const deployer = new WebhookDeployer({ kind: 'webhook', url: 'http://placeholder', secretEnv: 'S', mode: 'callback', timeoutSeconds: 600 }, { S: SECRET });
  const callbackDeployer = () => new WebhookDeployer({ kind: 'webhook', url: `${target.url}/deploy`, secretEnv: 'S', mode: 'callback', timeoutSeconds: 600 }, { S: SECRET });

  async function callBack(url: string, body: object, { secret = SECRET, headers = {} as Record<string, string>, raw }: { secret?: string; headers?: Record<string, string>; raw?: string } = {}) {
    const text = raw ?? JSON.stringify(body);
    const response = await fetch(url, { method: 'POST', body: text, headers: { ...signedHeaders(secret, text), ...headers } });
    return { status: response.status, body: (await response.json()) as { ok: boolean; error?: string } };
  }

  it('needs a callback server', async () => {
    expect((await failure(deployer.deploy(req, ctx()))).code).toBe('CONFIG_INVALID');
  });

  it('sends the callback URL with the task token; the signed callback completes the activity', async () => {
    const result = await callbackDeployer().deploy(req, ctx({ taskToken: token, callbackBaseUrl: `${server.url}/` }));
    expect(isAwaitingCallback(result)).toBe(true);
    const callbackUrl = target.received.at(-1)?.callbackUrl as string;
    expect(callbackUrl).toBe(`${server.url}/callbacks/deploy/${Buffer.from(token).toString('base64url')}`);

    const answer = await callBack(callbackUrl, { service: 'api', environment: 'production', ok: true, summary: 'rolled out 12/12 pods', url: 'https://ci.example/run/7' });
    expect(answer).toEqual({ status: 200, body: { ok: true, result: 'completed' } });
    expect(world.calls.at(-1)).toEqual({ op: 'complete', token: Buffer.from(token).toString('base64url'), value: { summary: 'rolled out 12/12 pods', url: 'https://ci.example/run/7' } });
  });

  it('a failed deploy fails the activity with DEPLOY_FAILED and the target summary', async () => {
    const url = `${server.url}/callbacks/deploy/${Buffer.from(token).toString('base64url')}`;
    expect((await callBack(url, { service: 'api', environment: 'production', ok: false, summary: 'image pull failed', tag: req.tag })).status).toBe(200);
    const failure = world.calls.at(-1)?.value as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe('DEPLOY_FAILED');
    expect(failure.message).toContain(`deploy of ${req.tag} to production failed, the deploy target reports: image pull failed`);
  });

  it('refuses unsigned, mis-signed, stale, replayed, oversized and malformed callbacks without completing anything', async () => {
    const url = `${server.url}/callbacks/deploy/${Buffer.from(token).toString('base64url')}`;
    const ok = { service: 'api', environment: 'production', ok: true };
    const before = world.calls.length;
    const unsigned = await fetch(url, { method: 'POST', body: JSON.stringify(ok), headers: { 'content-type': 'application/json' } });
    expect(unsigned.status).toBe(401);
    expect((await callBack(url, ok, { secret: 'FAKE-not-the-secret' })).status).toBe(401);
    const text = JSON.stringify(ok);
    const stale = signedHeaders(SECRET, text, { now: Date.now() - 600_000 });
    expect(await callBack(url, ok, { headers: stale })).toMatchObject({ status: 401, body: { error: expect.stringContaining('timestamp') } });
    expect((await callBack(url, { ...ok, service: 'billing' })).status).toBe(401);
    expect((await callBack(url, ok, { raw: 'not json' })).status).toBe(400);
    expect((await callBack(url, { service: 'api', environment: 'production' })).status).toBe(400);
    expect((await callBack(url, { ...ok, summary: 'x'.repeat(5_000) })).status).toBe(413);
    expect((await fetch(`${server.url}/callbacks/other`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect(world.calls.length).toBe(before);

    const headers = signedHeaders(SECRET, text);
    expect((await callBack(url, ok, { headers })).status).toBe(200);
    expect(await callBack(url, ok, { headers })).toMatchObject({ status: 409, body: { error: expect.stringContaining('already received') } });
    expect(world.calls.length).toBe(before + 1);
    expect(logs.join('\n')).not.toContain(Buffer.from(token).toString('base64url'));
  });

  it('answers 410 when no activity waits for the token any more', async () => {
    const goneToken = Buffer.from('token-of-a-retried-attempt').toString('base64url');
    world.gone.add(goneToken);
    const answer = await callBack(`${server.url}/callbacks/deploy/${goneToken}`, { service: 'api', environment: 'production', ok: true });
    expect(answer).toMatchObject({ status: 410, body: { error: expect.stringContaining('no deploy waits') } });
  });
});

describe('CallbackWaits', () => {
  const tok = (s: string) => new Uint8Array(Buffer.from(s));

  it('heartbeats a waiting activity until the callback completed it', async () => {
    const world = completionRecorder();
    const waits = new CallbackWaits(world.activity, () => undefined);
    const beats = () => world.calls.filter((c) => c.op === 'heartbeat').length;
    waits.keep(tok('one'), { deadline: Date.now() + 60_000, what: 'deploy of t to production', heartbeatTimeoutMs: 600 });
    await pollUntil('two heartbeats', () => beats() >= 2);
    expect(waits.waiting).toBe(1);
    // The callback completed the activity: the next heartbeat learns it and the wait ends, with no timer left.
    world.gone.add(Buffer.from('one').toString('base64url'));
    await pollUntil('the wait to end', () => waits.waiting === 0);
    const after = beats();
    await new Promise((r) => setImmediate(r));
    expect(beats()).toBe(after);
    waits.close();
  });

  it('reports a cancellation (abort) and fails the wait at the deadline with DEPLOY_TIMEOUT', async () => {
    const world = completionRecorder();
    const lines: string[] = [];
    const waits = new CallbackWaits(world.activity, (l) => lines.push(l));
    world.cancelled.add(Buffer.from('aborted').toString('base64url'));
    waits.keep(tok('aborted'), { deadline: Date.now() + 60_000, what: 'deploy of a to staging', heartbeatTimeoutMs: 600 });
    waits.keep(tok('late'), { deadline: Date.now() + 300, what: 'deploy of b to staging', heartbeatTimeoutMs: 600 });
    await pollUntil('both waits to end', () => waits.waiting === 0);
    expect(world.calls.filter((c) => c.op === 'reportCancellation').map((c) => c.token)).toEqual([Buffer.from('aborted').toString('base64url')]);
    const timeout = world.calls.find((c) => c.op === 'fail');
    expect((timeout?.value as ApplicationFailure).type).toBe('DEPLOY_TIMEOUT');
    expect(lines.join('\n')).toContain('cancelled while waiting');
    waits.close();
  });
});

/** A one-activity workflow, bundled from a temporary folder: the deploy with the train's heartbeat timeout. */
const WORKFLOW = `
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
const { deploy } = proxyActivities({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '2 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 1 },
});
export async function deployOnce(req) { return deploy(req); }
`;

describe('callback mode on a real Temporal dev server', () => {
  let env: DevServerEnv;
  let worker: Worker;
  let running: Promise<void>;
  let target: Target;
  let server: CallbackServer;
  let waits: CallbackWaits;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-callback-wf-'));
    writeFileSync(join(dir, 'workflow.mjs'), WORKFLOW);
    const modules = join(process.cwd(), 'node_modules');
    const [started, bundle] = await Promise.all([
      devServerEnv(),
      bundleWorkflowCode({ workflowsPath: join(dir, 'workflow.mjs'), logger: new DefaultLogger('WARN'), webpackConfigHook: (c) => ({ ...c, resolve: { ...c.resolve, modules: [...(c.resolve?.modules ?? []), modules] } }) }),
    ]);
    env = started;
    target = await startTarget(SECRET);
    target.answer = () => ({ status: 202, body: { accepted: true } });
    server = await startCallbackServer({ client: env.client, port: 0, secretFor: (s) => (s === 'api' ? SECRET : undefined), log: () => undefined });
    waits = new CallbackWaits(env.client.activity, () => undefined);
    const deployer = new WebhookDeployer({ kind: 'webhook', url: `${target.url}/deploy`, secretEnv: 'S', mode: 'callback', timeoutSeconds: 60 }, { S: SECRET });
    worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue: 'webhook-callbacks',
      workflowBundle: bundle,
      activities: {
        deploy: (r: typeof req) => {
          const activity = Context.current();
          return runDeploy(deployer, r, { signal: activity.cancellationSignal, heartbeat: (d) => activity.heartbeat(d) }, { baseUrl: server.url, waits });
        },
      },
      ...WORKER_TUNING,
    });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    waits?.close();
    await server?.close();
    await target?.close();
    await env?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the workflow and returns it with the callback URL the target received. */
  async function startDeploy(trainId: string) {
    const handle = await env.client.workflow.start('deployOnce', { taskQueue: 'webhook-callbacks', workflowId: trainId, args: [{ ...req, trainId }] });
    const callbackUrl = (await pollUntil(`the target to receive the deploy request of ${trainId}`, () => target.received.find((b) => b.trainId === trainId))).callbackUrl as string;
    expect(callbackUrl).toMatch(/\/callbacks\/deploy\/[\w-]+$/);
    return { handle, callbackUrl };
  }

  async function callBack(url: string, body: object) {
    const text = JSON.stringify(body);
    return (await fetch(url, { method: 'POST', body: text, headers: signedHeaders(SECRET, text) })).status;
  }

  it('the activity waits past its heartbeat timeout and completes with the signed callback', async () => {
    const { handle, callbackUrl } = await startDeploy('train/api/cb-1');
    await new Promise((r) => setTimeout(r, 3_000)); // longer than the 2 s heartbeat timeout
    expect(await callBack(callbackUrl, { service: 'api', environment: 'production', ok: true, summary: 'rolled out 12/12 pods', url: 'https://ci.example/run/7' })).toBe(200);
    expect(await handle.result()).toEqual({ summary: 'rolled out 12/12 pods', url: 'https://ci.example/run/7' });
    // The activity is done: a late duplicate learns that nobody waits any more.
    expect(await callBack(callbackUrl, { service: 'api', environment: 'production', ok: true, summary: 'again' })).toBe(410);
  });

  it('a failed deploy reaches the workflow as DEPLOY_FAILED', async () => {
    const { handle, callbackUrl } = await startDeploy('train/api/cb-2');
    expect(await callBack(callbackUrl, { service: 'api', environment: 'production', ok: false, summary: 'image pull failed', tag: req.tag })).toBe(200);
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = ((err as WorkflowFailedError).cause as ActivityFailure).cause as ApplicationFailure;
    expect(cause.type).toBe('DEPLOY_FAILED');
    expect(cause.message).toContain('image pull failed');
  });

  it('an abort (cancellation) reaches the waiting activity through its heartbeats', async () => {
    const { handle, callbackUrl } = await startDeploy('train/api/cb-3');
    const started = Date.now();
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await callBack(callbackUrl, { service: 'api', environment: 'production', ok: true })).toBe(410);
  });
});
