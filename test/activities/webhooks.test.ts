/**
 * The webhook receiver with real HTTP requests signed as GitHub and GitLab sign them. Accepted
 * events go to an injected `start(event)`, so these run without Temporal; one test at the end
 * runs a real delivery against the dev server and sees the preview workflow start.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryUntil } from '../helpers/poll.js';
import type { PreviewActivities } from '../../activities/preview.js';
import { receiverSettings } from '../../client/webhook-commands.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../client/webhooks.js';
import type { TrainyardConfig } from '../../domain/config.js';
import type { PreviewEvent } from '../../domain/preview.js';
import type { StagePushEvent } from '../../client/webhooks.js';
import { prebuiltBundlePath } from '../../workers/bundle.js';
import { WORKER_TUNING } from '../../workers/worker.js';
import { previewStatusQuery } from '../../workflows/preview-messages.js';
import { devServerEnv, type DevServerEnv } from '../helpers/temporal.js';

const SECRET = 'ghsecret-RECOGNISABLE-0xDEADBEEF';
const TOKEN = 'gltoken-RECOGNISABLE-0xFEEDFACE';
const HEAD = 'abcdef0123456789abcdef0123456789abcdef01';

function githubPayload(action: string, extra: Record<string, unknown> = {}) {
  return { action, number: 42, pull_request: { number: 42, head: { sha: HEAD }, merged: false, ...extra }, repository: { full_name: 'acme/web' }, sender: { login: 'ada' } };
}

function gitlabPayload(action: string, attrs: Record<string, unknown> = {}) {
  return { object_kind: 'merge_request', user: { username: 'grace' }, project: { path_with_namespace: 'acme/api' }, object_attributes: { iid: 9, action, last_commit: { id: HEAD }, ...attrs } };
}

interface Sent {
  status: number;
  text: string;
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<Sent> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, text: await res.text() };
}

function sign(body: string, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function github(receiver: WebhookReceiver, payload: unknown, opts: { secret?: string | null; delivery?: string; event?: string } = {}): Promise<Sent> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'x-github-event': opts.event ?? 'pull_request', 'x-github-delivery': opts.delivery ?? randomUUID() };
  if (opts.secret !== null) headers['x-hub-signature-256'] = sign(body, opts.secret ?? SECRET);
  return post(`${receiver.url}/webhooks/github`, body, headers);
}

function githubPush(ref: string, after = HEAD, repository = 'acme/web') {
  return { ref, before: '1'.repeat(40), after, repository: { full_name: repository }, pusher: { name: 'ada' }, sender: { login: 'ada' } };
}

function gitlabPush(ref: string, checkout = HEAD) {
  return { object_kind: 'push', ref, before: '1'.repeat(40), after: checkout, checkout_sha: checkout, user_username: 'grace', project: { path_with_namespace: 'acme/api' } };
}

function gitlab(receiver: WebhookReceiver, payload: unknown, opts: { token?: string | null; uuid?: string } = {}): Promise<Sent> {
  const headers: Record<string, string> = { 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-event-uuid': opts.uuid ?? randomUUID() };
  if (opts.token !== null) headers['x-gitlab-token'] = opts.token ?? TOKEN;
  return post(`${receiver.url}/webhooks/gitlab`, JSON.stringify(payload), headers);
}

describe('webhook receiver', () => {
  const started: PreviewEvent[] = [];
  const pushes: StagePushEvent[] = [];
  const logs: string[] = [];
  const answers: string[] = [];
  let failNext = false;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver({
      port: 0,
      github: { secret: SECRET },
      gitlab: { token: TOKEN },
      services: { 'acme/web': 'web', 'acme/api': 'api' },
      stages: { 'acme/web': { service: 'web', branch: 'main' }, 'acme/api': { service: 'api', branch: 'master' } },
      startStage: async (push) => void pushes.push(push),
      maxBodyBytes: 64 * 1024,
      log: (line) => logs.push(line),
      start: async (event) => {
        if (failNext) {
          failNext = false;
          throw new Error(`temporal unreachable (secret would be ${SECRET})`);
        }
        started.push(event);
      },
    });
  });
  afterAll(async () => {
    await receiver?.close();
    // No secret in any answer or log line, whatever went wrong.
    for (const line of [...logs, ...answers]) expect(line).not.toMatch(/RECOGNISABLE/);
  });

  const expectStatus = async (sent: Promise<Sent>, status: number) => {
    const { status: got, text } = await sent;
    answers.push(text);
    expect(got, text).toBe(status);
    return text;
  };

  it('accepts a signed pull_request.opened and starts the preview of the routed service', async () => {
    await expectStatus(github(receiver, githubPayload('opened')), 202);
    expect(started.at(-1)).toMatchObject({ service: 'web', pr: 42, kind: 'opened', sha: HEAD, by: 'ada' });
  });

  it('maps synchronize to a push and a merged close to a merge; ignores other actions and repositories', async () => {
    await expectStatus(github(receiver, githubPayload('synchronize')), 202);
    expect(started.at(-1)?.kind).toBe('pushed');
    await expectStatus(github(receiver, githubPayload('closed', { merged: true })), 202);
    expect(started.at(-1)?.kind).toBe('merged');
    const count = started.length;
    expect(await expectStatus(github(receiver, githubPayload('labeled')), 202)).toMatch(/not handled/);
    expect(await expectStatus(github(receiver, { ...githubPayload('opened'), repository: { full_name: 'other/repo' } }), 202)).toMatch(/not routed/);
    expect(await expectStatus(github(receiver, { zen: 'hi' }, { event: 'ping' }), 202)).toMatch(/ping is not handled/);
    expect(started).toHaveLength(count);
  });

  it('a push to the followed branch nudges the stage follower; other branches, tags and deletions do not', async () => {
    const count = pushes.length;
    expect(await expectStatus(github(receiver, githubPush('refs/heads/main'), { event: 'push' }), 202)).toContain('stage/web');
    expect(pushes.at(-1)).toMatchObject({ service: 'web', sha: HEAD, by: 'ada' });
    expect(await expectStatus(github(receiver, githubPush('refs/heads/feature'), { event: 'push' }), 202)).toMatch(/follows main, not feature/);
    expect(await expectStatus(github(receiver, githubPush('refs/tags/v1.0.0'), { event: 'push' }), 202)).toMatch(/not to a branch/);
    expect(await expectStatus(github(receiver, githubPush('refs/heads/main', '0'.repeat(40)), { event: 'push' }), 202)).toMatch(/deleted branch/);
    expect(await expectStatus(github(receiver, githubPush('refs/heads/main', HEAD, 'other/repo'), { event: 'push' }), 202)).toMatch(/no service that follows/);
    expect(await expectStatus(github(receiver, { after: HEAD }, { event: 'push' }), 400)).toMatch(/lacks ref/);
    await expectStatus(gitlab(receiver, gitlabPush('refs/heads/master')), 202);
    expect(pushes.at(-1)).toMatchObject({ service: 'api', sha: HEAD, by: 'grace' });
    expect(await expectStatus(gitlab(receiver, gitlabPush('refs/heads/main')), 202)).toMatch(/follows master, not main/);
    expect(pushes).toHaveLength(count + 2);
    // Pull request events still go to previews.
    await expectStatus(github(receiver, githubPayload('opened')), 202);
    expect(started.at(-1)?.kind).toBe('opened');
  });

  it('rejects unsigned (401), mis-signed (401), replayed (409) and oversized (413) GitHub deliveries', async () => {
    const count = started.length;
    await expectStatus(github(receiver, githubPayload('opened'), { secret: null }), 401);
    await expectStatus(github(receiver, githubPayload('opened'), { secret: 'not-the-secret' }), 401);
    const delivery = randomUUID();
    await expectStatus(github(receiver, githubPayload('synchronize'), { delivery }), 202);
    await expectStatus(github(receiver, githubPayload('synchronize'), { delivery }), 409);
    await expectStatus(github(receiver, githubPayload('opened', { body: 'x'.repeat(70 * 1024) })), 413);
    expect(started).toHaveLength(count + 1);
  });

  it('a signed body changed in transit is rejected', async () => {
    const body = JSON.stringify(githubPayload('opened'));
    const tampered = body.replace('"number":42', '"number":43');
    await expectStatus(post(`${receiver.url}/webhooks/github`, tampered, { 'x-github-event': 'pull_request', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': sign(body) }), 401);
  });

  it('answers 503 when the workflow cannot be reached, and accepts the redelivery', async () => {
    failNext = true;
    const delivery = randomUUID();
    await expectStatus(github(receiver, githubPayload('opened'), { delivery }), 503);
    await expectStatus(github(receiver, githubPayload('opened'), { delivery }), 202);
    expect(logs.some((l) => l.includes('could not reach'))).toBe(true);
  });

  it('accepts GitLab merge request hooks with the right token; rejects a missing or wrong one and replays', async () => {
    await expectStatus(gitlab(receiver, gitlabPayload('open')), 202);
    expect(started.at(-1)).toMatchObject({ service: 'api', pr: 9, kind: 'opened', sha: HEAD, by: 'grace' });
    await expectStatus(gitlab(receiver, gitlabPayload('update', { oldrev: '1'.repeat(40) })), 202);
    expect(started.at(-1)?.kind).toBe('pushed');
    await expectStatus(gitlab(receiver, gitlabPayload('merge')), 202);
    expect(started.at(-1)?.kind).toBe('merged');
    const count = started.length;
    expect(await expectStatus(gitlab(receiver, gitlabPayload('update')), 202)).toMatch(/without new commits/);
    await expectStatus(gitlab(receiver, gitlabPayload('open'), { token: null }), 401);
    await expectStatus(gitlab(receiver, gitlabPayload('open'), { token: `${TOKEN}x` }), 401);
    const uuid = randomUUID();
    await expectStatus(gitlab(receiver, gitlabPayload('close'), { uuid }), 202);
    await expectStatus(gitlab(receiver, gitlabPayload('close'), { uuid }), 409);
    expect(started).toHaveLength(count + 1);
  });
});

describe('receiver settings from the config', () => {
  const config = {
    temporal: { taskQueue: 'tq' },
    services: {
      web: { forge: { kind: 'github', repository: 'acme/web', defaultBranch: 'main' } },
      api: { forge: { kind: 'gitlab', project: 'acme/api', defaultBranch: 'master' }, stageOnMerge: {} },
      docs: { forge: { kind: 'gitlab', project: 'acme/docs', defaultBranch: 'main' }, stageOnMerge: { branch: 'production-ready' } },
    },
    previews: { web: { driver: { kind: 'command', create: ['c'], update: ['u'], destroy: ['d'] }, quietSeconds: 10 } },
    webhooks: { githubSecretEnv: 'GH_HOOK_SECRET' },
  } as unknown as TrainyardConfig;

  it('routes repositories of services with previews and reads the secret from the named variable', () => {
    const s = receiverSettings(config, { GH_HOOK_SECRET: SECRET }, { port: 0 });
    expect(s).toMatchObject({ taskQueue: 'tq', port: 0, services: { 'acme/web': 'web' }, github: { secret: SECRET }, previews: { web: { quietSeconds: 10, ttlHours: 72 } } });
    expect(s.gitlab).toBeUndefined();
    // Services with stageOnMerge: pushes to their branch (default: the forge's default branch).
    expect(s.stages).toEqual({ 'acme/api': { service: 'api', branch: 'master' }, 'acme/docs': { service: 'docs', branch: 'production-ready' } });
  });

  it('names the missing variable, never a value', () => {
    expect(() => receiverSettings(config, {})).toThrow(/GH_HOOK_SECRET is not set/);
  });
});

describe('on the dev server', () => {
  let env: DevServerEnv;
  beforeAll(async () => {
    env = await devServerEnv();
  }, 60_000);
  afterAll(async () => {
    await env?.teardown();
  });

  it('a real pull_request.opened delivery starts the preview workflow, which creates the preview', async () => {
    const created: string[] = [];
    const activities: PreviewActivities = {
      createPreview: async ({ name, sha }) => {
        Context.current().heartbeat();
        created.push(`${name}@${sha}`);
        return { url: `http://${name}.local` };
      },
      updatePreview: async () => undefined,
      destroyPreview: async () => undefined,
      commentOnPullRequest: async () => undefined,
    };
    const taskQueue = 'webhook-dev';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: prebuiltBundlePath() }, activities, ...WORKER_TUNING });
    const receiver = await startWebhookReceiver({ client: env.client, taskQueue, port: 0, github: { secret: SECRET }, services: { 'acme/web': 'web' }, previews: { web: { quietSeconds: 5, ttlHours: 1 } } });
    try {
      await worker.runUntil(async () => {
        const sent = await github(receiver, githubPayload('opened'));
        expect(sent.status, sent.text).toBe(202);
        expect(JSON.parse(sent.text)).toMatchObject({ workflowId: 'preview/web/42' });
        const handle = env.client.workflow.getHandle('preview/web/42');
        const status = await queryUntil(handle, previewStatusQuery, (s) => s.state === 'ready', 'the preview to be ready');
        expect(status).toMatchObject({ state: 'ready', url: 'http://web-pr-42.local', shaDeployed: HEAD });
        expect(created).toEqual([`web-pr-42@${HEAD}`]);
        await handle.terminate('test over');
      });
    } finally {
      await receiver.close();
    }
  }, 60_000);
});
