/** Notifiers and annotators against real HTTP servers on loopback: a fake Slack, a fake Grafana, signed receivers. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GrafanaAnnotator } from '../../activities/annotate/grafana.js';
import { WebhookAnnotator } from '../../activities/annotate/webhook.js';
import { SlackNotifier, TOPIC_MAX, topicFor } from '../../activities/notify/slack.js';
import { WebhookNotifier } from '../../activities/notify/webhook.js';
import { ReplayGuard, verifySignature } from '../../activities/signing.js';
import type { Notification } from '../../activities/types.js';
import type { GrafanaAnnotatorConfig, SlackNotifierConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import { startHttpFake, type FakeRequest, type HttpFake } from '../fakes/http-fake.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack.js';

/** Recognisable fake secrets: none may ever show up in an error or a log line. */
const SLACK_TOKEN = 'xoxb-FAKE-4242-SECRET-slack-token';
const GRAFANA_TOKEN = 'glsa_FAKE_SECRET_grafana_token_4242';
const SIGNING_SECRET = 'whsec-FAKE-SECRET-signing-key-4242';

const note = (over: Partial<Notification> = {}): Notification & { link?: string } => ({
  service: 'api',
  trainId: 'train/api/api/v2026.03.02.1',
  event: 'released',
  text: 'api/v2026.03.02.1 is in production <after> E2E & smoke',
  ...over,
});
const link = 'http://localhost:8233/namespaces/default/workflows/train%2Fapi%2Fapi%2Fv2026.03.02.1';

async function failure(p: Promise<unknown>): Promise<TrainyardError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(TrainyardError);
  return err as TrainyardError;
}

function expectNoSecret(err: TrainyardError, secret: string, lines: string[] = []) {
  for (const text of [err.message, err.hint, err.stack ?? '', err.describe(), ...lines]) expect(text).not.toContain(secret);
}

describe('SlackNotifier', () => {
  let slack: FakeSlack;
  let dir: string;
  const logs: string[] = [];
  const config = (over: Partial<SlackNotifierConfig> = {}): SlackNotifierConfig => ({
    kind: 'slack',
    channels: ['#release-coordination', 'C00000002'],
    tokenEnv: 'SLACK_TOKEN',
    apiUrl: slack.apiUrl,
    ...over,
  });
  const notifier = (over: Partial<SlackNotifierConfig> = {}, env: Record<string, string> = { SLACK_TOKEN }) =>
    new SlackNotifier(config(over), { baseDir: dir, environment: env, log: (l) => logs.push(l), requestTimeoutMs: 500 });

  beforeEach(async () => {
    logs.length = 0;
    dir = mkdtempSync(join(tmpdir(), 'trainyard-slack-'));
    slack = await startFakeSlack({ token: SLACK_TOKEN, pageSize: 2 });
    slack.addChannel('release-coordination');
    slack.addChannel('deploys');
    slack.addChannel('random');
    slack.addChannel('private-ops', { isPrivate: true, member: false });
    slack.addChannel('announcements');
  });
  afterEach(async () => {
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('posts to every channel, by name or id, with the event, the text and the link to the train', async () => {
    await notifier().send({ ...note(), link });
    for (const name of ['release-coordination', 'deploys']) {
      const [message, ...more] = slack.channel(name)?.messages ?? [];
      expect(more).toEqual([]);
      expect(message?.text).toContain('api released: api/v2026.03.02.1 is in production &lt;after&gt; E2E &amp; smoke');
      expect(JSON.stringify(message?.blocks)).toContain(`<${link}|Open train/api/api/v2026.03.02.1 in the Temporal UI>`);
    }
    expect(slack.channel('random')?.messages).toEqual([]);
    // The token travels in the Authorization header, not in the form body.
    expect(slack.log.every((r) => r.headers.authorization === `Bearer ${SLACK_TOKEN}`)).toBe(true);
  });

  it('sends only the selected events', async () => {
    const n = notifier({ events: ['released', 'failed'] });
    await n.send(note({ event: 'cut', text: 'cut api/v2026.03.02.1' }));
    expect(slack.log).toHaveLength(0);
    await n.send(note({ event: 'failed', text: 'deploy failed' }));
    expect(slack.channel('deploys')?.messages.map((m) => m.text)).toEqual(['api failed: deploy failed']);
  });

  it('sets the topic channel, found by name through paged conversations.list, once per lookup', async () => {
    const n = notifier({ topicChannel: '#announcements' });
    await n.changelogPublished({ service: 'api', tag: 'api/v2026.03.02.1', url: 'https://git.example/api/releases/1', trainId: 'train/api/api/v2026.03.02.1' });
    expect(slack.channel('announcements')?.topic).toBe('api api/v2026.03.02.1 changelog: https://git.example/api/releases/1');
    const lists = slack.log.filter((r) => r.path.endsWith('conversations.list')).length;
    expect(lists).toBe(3); // five channels, two per page: announcements is on the third
    await n.changelogPublished({ service: 'api', tag: 'api/v2026.03.02.2', url: 'https://git.example/api/releases/2', trainId: 'train/api/api/v2026.03.02.2' });
    expect(slack.channel('announcements')?.topic).toContain('api/v2026.03.02.2');
    expect(slack.log.filter((r) => r.path.endsWith('conversations.list')).length).toBe(lists);
  });

  it('keeps a long changelog link whole within the topic limit', () => {
    const url = `https://git.example/${'x'.repeat(200)}`;
    const topic = topicFor('a-very-long-service-name', 'a-very-long-service-name/v2026.03.02.1', url);
    expect([...topic].length).toBeLessThanOrEqual(TOPIC_MAX);
    expect(topic).toContain(url);
  });

  it('says when the topic channel does not exist, without guessing', async () => {
    const err = await failure(notifier({ topicChannel: '#no-such-channel' }).changelogPublished({ service: 'api', tag: 't', url: 'u', trainId: 'x' }));
    expect(err.message).toContain('#no-such-channel was not found');
  });

  it('a wrong token fails with invalid_auth and a hint, never the token', async () => {
    const err = await failure(notifier({}, { SLACK_TOKEN: 'xoxb-FAKE-wrong-token-9999' }).send(note()));
    expect(err.code).toBe('NOTIFY_FAILED');
    expect(err.message).toContain('invalid_auth');
    expect(err.hint).toContain('SLACK_TOKEN');
    expectNoSecret(err, 'xoxb-FAKE-wrong-token-9999', logs);
    expectNoSecret(err, SLACK_TOKEN, logs);
  });

  it('a missing token is a config error naming the variable (or file)', async () => {
    const err = await failure(notifier({}, {}).send(note()));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('SLACK_TOKEN');
    writeFileSync(join(dir, 'slack-token'), `${SLACK_TOKEN}\n`);
    await notifier({ tokenFile: 'slack-token' }, {}).send(note());
    expect(slack.channel('deploys')?.messages).toHaveLength(1);
  });

  it('retries Slack 500s a bounded number of times', async () => {
    slack.inject({ status: 500, times: 2, match: (r) => r.path.endsWith('chat.postMessage') && (r.body as { channel?: string }).channel === 'C00000002' });
    await notifier().send(note());
    expect(slack.channel('deploys')?.messages).toHaveLength(1);
    expect(slack.log.filter((r) => r.status === 500)).toHaveLength(2);

    slack.inject({ status: 503, times: 100 });
    const started = Date.now();
    const err = await failure(notifier({ channels: ['#deploys'] }).send(note()));
    expect(err.message).toMatch(/HTTP 503 after 3 tries/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(slack.log.filter((r) => r.status === 503)).toHaveLength(3);
  });

  it('waits out a short rate limit, and hands a long one to the activity retry', async () => {
    slack.inject({ status: 429, headers: { 'retry-after': '1' } });
    const started = Date.now();
    await notifier({ channels: ['#deploys'] }).send(note());
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(slack.channel('deploys')?.messages).toHaveLength(1);

    slack.inject({ status: 429, headers: { 'retry-after': '120' } });
    const quick = Date.now();
    const err = await failure(notifier({ channels: ['#deploys'] }).send(note()));
    expect(Date.now() - quick).toBeLessThan(1_000);
    expect(err.retryAfterMs).toBe(120_000);
  });

  it('names the channels that missed a message; a retry of the same delivery posts only there', async () => {
    const n = notifier({ channels: ['#release-coordination', '#private-ops'] });
    const delivery = { ...note(), deliveryKey: 'wf-1/activity-7' };
    const err = await failure(n.send(delivery));
    expect(err.message).toContain('#private-ops: Slack chat.postMessage failed: not_in_channel');
    expect(err.hint).toContain('not a member');
    const ops = slack.channel('private-ops') as NonNullable<ReturnType<FakeSlack['channel']>>;
    ops.member = true; // someone invites the app
    await n.send(delivery);
    expect(slack.channel('release-coordination')?.messages).toHaveLength(1);
    expect(ops.messages).toHaveLength(1);
  });
});

/** A receiver that verifies like a real one would, and records what it accepted. */
async function signedReceiver(secret: string, answer = 200): Promise<HttpFake & { accepted: unknown[] }> {
  const accepted: unknown[] = [];
  const replays = new ReplayGuard();
  const fake = await startHttpFake((req: FakeRequest) => {
    const verdict = verifySignature(secret, req.headers, req.rawBody, { replays });
    if (!verdict.ok) return { status: verdict.status, body: { error: verdict.message } };
    accepted.push(req.body);
    return { status: answer, body: { ok: answer < 300 } };
  });
  return Object.assign(fake, { accepted });
}

describe('WebhookNotifier and WebhookAnnotator', () => {
  let receiver: Awaited<ReturnType<typeof signedReceiver>>;
  beforeAll(async () => {
    receiver = await signedReceiver(SIGNING_SECRET);
  });
  afterAll(() => receiver.close());

  it('posts a signed notification the receiver verifies', async () => {
    const at = Date.parse('2026-03-02T16:00:00Z');
    await new WebhookNotifier({ kind: 'webhook', url: `${receiver.url}/hooks/trainyard`, secretEnv: 'HOOK_SECRET' }, { HOOK_SECRET: SIGNING_SECRET }, () => at).send({ ...note(), link });
    expect(receiver.accepted.at(-1)).toEqual({ event: 'released', service: 'api', trainId: 'train/api/api/v2026.03.02.1', text: note().text, link, at: '2026-03-02T16:00:00.000Z' });
  });

  it('a receiver with another secret refuses it: NOTIFY_MISCONFIGURED (not retried) with the status, not the secret', async () => {
    const err = await failure(new WebhookNotifier({ kind: 'webhook', url: `${receiver.url}/hooks?token=abc`, secretEnv: 'HOOK_SECRET' }, { HOOK_SECRET: 'FAKE-other-secret-777' }).send(note()));
    expect(err.code).toBe('NOTIFY_MISCONFIGURED');
    expect(err.message).toContain('answered 401');
    expect(err.message).not.toContain('token=abc');
    expect(err.hint).toMatch(/same secret/);
    expectNoSecret(err, 'FAKE-other-secret-777');
  });

  it('skips events it was not asked for', async () => {
    const before = receiver.log.length;
    await new WebhookNotifier({ kind: 'webhook', url: receiver.url, secretEnv: 'S', events: ['failed'] }, { S: SIGNING_SECRET }).send(note());
    expect(receiver.log.length).toBe(before);
  });

  it('annotates with a signed POST', async () => {
    await new WebhookAnnotator({ kind: 'webhook', url: `${receiver.url}/annotations`, secretEnv: 'S' }, { S: SIGNING_SECRET }).annotate({ service: 'api', environment: 'production', tag: 'api/v1', trainId: 'train/api/api/v1', at: 1_772_467_200_000 });
    expect(receiver.accepted.at(-1)).toEqual({ service: 'api', environment: 'production', tag: 'api/v1', trainId: 'train/api/api/v1', at: 1_772_467_200_000 });
  });
});

describe('GrafanaAnnotator', () => {
  let grafana: HttpFake;
  const annotations: unknown[] = [];
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-grafana-'));
    grafana = await startHttpFake((req) => {
      if (req.method !== 'POST' || req.path !== '/grafana/api/annotations') return { status: 404, body: { message: 'Not found' } };
      if (req.headers.authorization !== `Bearer ${GRAFANA_TOKEN}`) return { status: 401, body: { message: 'invalid API key' } };
      annotations.push(req.body);
      return { status: 200, body: { message: 'Annotation added', id: annotations.length } };
    });
  });
  afterAll(async () => {
    await grafana.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const config = (over: Partial<GrafanaAnnotatorConfig> = {}): GrafanaAnnotatorConfig => ({ kind: 'grafana', url: `${grafana.url}/grafana/`, tokenEnv: 'GRAFANA_TOKEN', tags: ['deploy'], ...over });
  const mark = { service: 'api', environment: 'production' as const, tag: 'api/v2026.03.02.1', trainId: 'train/api/api/v2026.03.02.1', at: 1_772_467_200_000 };

  it('posts the annotation with the Bearer token, the tags and the dashboard', async () => {
    await new GrafanaAnnotator(config({ dashboardUid: 'api-overview' }), dir, { GRAFANA_TOKEN }).annotate(mark);
    expect(annotations.at(-1)).toEqual({
      time: 1_772_467_200_000,
      tags: ['deploy', 'api', 'production'],
      text: 'api api/v2026.03.02.1 active in production (train train/api/api/v2026.03.02.1)',
      dashboardUID: 'api-overview',
    });
  });

  it('reads the token from a file; a refused token says where it came from, not what it is', async () => {
    writeFileSync(join(dir, 'grafana-token'), GRAFANA_TOKEN);
    await new GrafanaAnnotator(config({ tokenFile: 'grafana-token' }), dir, {}).annotate(mark);
    expect(annotations.at(-1)).not.toHaveProperty('dashboardUID');
    const err = await failure(new GrafanaAnnotator(config(), dir, { GRAFANA_TOKEN: 'glsa_FAKE_wrong_token' }).annotate(mark));
    expect(err.message).toContain('answered 401: {"message":"invalid API key"}');
    expect(err.hint).toContain('GRAFANA_TOKEN');
    expectNoSecret(err, 'glsa_FAKE_wrong_token');
  });
});
