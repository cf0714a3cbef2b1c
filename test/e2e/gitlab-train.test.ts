/**
 * A whole release train against GitLab, Slack and Grafana (fakes on loopback), on the real dev
 * server with the real worker: the tag and release on GitLab, staging, E2E and production as GitLab
 * pipelines with the seed's variables, Slack messages with the release channel's topic set to the
 * changelog, a Grafana annotation. Then the secret scan: recognisable fake tokens were in the
 * worker's environment; none may appear in any workflow history, log line or notification.
 */
import { createServer, type Server } from 'node:http';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stage } from '../../domain/train.js';
import { startDevStack, type DevStack } from '../helpers/dev-stack.js';
import { reach } from '../helpers/train-harness.js';
import { promoteUpdate } from '../../workflows/messages.js';
import { startFakeGitLab, type FakeGitLab } from '../fakes/gitlab.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack.js';

const SLACK_TOKEN = 'xoxb-FAKE-SLACK-SECRET-7d2e1a';
const GRAFANA_TOKEN = 'glsa_FAKE-GRAFANA-SECRET-93bc';

let gitlab: FakeGitLab;
let slack: FakeSlack;
let grafana: Server;
const annotations: { body: unknown; auth: string | undefined }[] = [];
let stack: DevStack;
let client: Client;
let logs: string[];
let stopRunners: (() => void) | undefined;

beforeAll(async () => {
  gitlab = await startFakeGitLab();
  await gitlab.commit('main', 'feat: checkout v2 (See merge request group/app!41)');
  slack = await startFakeSlack({ token: SLACK_TOKEN });
  slack.addChannel('release-coordination');
  slack.addChannel('deploy');
  grafana = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      annotations.push({ body: JSON.parse(body), auth: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":1}');
    });
  });
  await new Promise<void>((r) => grafana.listen(0, '127.0.0.1', r));
  // GitLab's runners: every pipeline a train starts succeeds a moment later.
  stopRunners = gitlab.runRunners(0);

  process.env.TEST_GITLAB_TOKEN = gitlab.token;
  process.env.TEST_SLACK_TOKEN = SLACK_TOKEN;
  process.env.TEST_GRAFANA_TOKEN = GRAFANA_TOKEN;
  stack = await startDevStack(`
services:
  gitaly:
    forge: { kind: gitlab, project: ${gitlab.projectPath}, url: "${gitlab.url}", tokenEnv: TEST_GITLAB_TOKEN }
    tagFormat: "v{yyyy}.{MM}.{dd}.{n}"
    release: { timeZone: Europe/Amsterdam, days: [mon, tue, wed, thu, fri, sat, sun], time: "11:00", minLeadHours: 12 }
    e2e: { kind: gitlab-pipeline, variables: { ENV: staging, TRIGGER_ID: e2e }, pollSeconds: 1 }
    environments:
      staging:
        deploy: { kind: gitlab-pipeline, variables: { ENV: staging, VERSION: "{tag}" }, pollSeconds: 1 }
      production:
        deploy: { kind: gitlab-pipeline, variables: { ENV: production, VERSION: "{tag}" }, pollSeconds: 1 }
        annotate: [{ kind: grafana, url: "http://127.0.0.1:${(grafana.address() as { port: number }).port}", tokenEnv: TEST_GRAFANA_TOKEN, dashboardUid: gitaly }]
    notify:
      - { kind: log }
      - { kind: slack, channels: ["#release-coordination", "#deploy"], topicChannel: "#release-coordination", tokenEnv: TEST_SLACK_TOKEN, apiUrl: "${slack.apiUrl}" }
`);
  ({ client, logs } = stack);
});

afterAll(async () => {
  stopRunners?.();
  await stack?.stop();
  await gitlab?.close();
  await slack?.close();
  grafana?.close();
});

/** The train's stage as its status query reports it (the harness's poll, with an end-to-end deadline). */
const waitForStage = (trainId: string, stage: Stage) => reach(client.workflow.getHandle(trainId), stage, 60_000);

describe('a train on GitLab', () => {
  let trainId = '';

  it('tags, publishes the changelog, runs staging, E2E and production as pipelines, tells Slack and Grafana', { timeout: 120_000 }, async () => {
    const cut = (await client.workflow.execute('cutRelease', { workflowId: 'cut/gitaly', taskQueue: 'trainyard', args: [{ service: 'gitaly', startedBy: 'release-bot' }] })) as { trainId: string; tag: string };
    trainId = cut.trainId;
    const waiting = await waitForStage(trainId, 'awaiting-release');
    expect(waiting.e2e?.passed).toBe(true);
    await client.workflow.getHandle(trainId).executeUpdate(promoteUpdate, { args: [{ by: 'alice', reason: 'E2E green' }] });
    const released = await waitForStage(trainId, 'released');
    expect(released.versions).toEqual({ staging: cut.tag, production: cut.tag });

    // GitLab: the tag, its release with the changelog, three pipelines with the seed's variables.
    const release = gitlab.state.releases.get(cut.tag);
    expect(release?.description).toContain('checkout v2');
    const api = gitlab.state.pipelines.filter((p) => p.source === 'api');
    const vars = await Promise.all(api.map((p) => gitlab.pipelineVariables(String(p.id))));
    expect(vars).toEqual([
      { ENV: 'staging', VERSION: cut.tag },
      { ENV: 'staging', TRIGGER_ID: 'e2e' },
      { ENV: 'production', VERSION: cut.tag },
    ]);
    expect(api.every((p) => p.ref === cut.tag)).toBe(true);

    // Slack: both channels hear the release; the release channel's topic is the changelog link.
    for (const channel of ['#release-coordination', '#deploy']) {
      const texts = slack.channel(channel)?.messages.map((m) => JSON.stringify(m)) ?? [];
      expect(texts.some((t) => t.includes('released') || t.includes('Released'))).toBe(true);
    }
    expect(slack.channel('#release-coordination')?.topic).toContain(cut.tag);
    expect(slack.channel('#release-coordination')?.topic).toMatch(/https?:\/\//);

    // Grafana: production's annotation, with the token only in the header.
    expect(annotations).toHaveLength(1);
    expect(annotations[0]?.auth).toBe(`Bearer ${GRAFANA_TOKEN}`);
    expect(JSON.stringify(annotations[0]?.body)).toContain(cut.tag);
  });

  it('no token appears in any workflow history, log line or notification', async () => {
    const secrets = [gitlab.token, SLACK_TOKEN, GRAFANA_TOKEN];
    const haystacks: string[] = [...logs];
    let histories = 0;
    for await (const wf of client.workflow.list()) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      haystacks.push(JSON.stringify(history));
      histories++;
    }
    for (const channel of slack.channels) haystacks.push(JSON.stringify(channel.messages), channel.topic);
    haystacks.push(JSON.stringify(annotations.map((a) => a.body)));
    expect(histories).toBeGreaterThanOrEqual(4); // cut, train, two ledgers
    for (const secret of secrets) {
      for (const text of haystacks) expect(text.includes(secret), `a secret leaked into: ${text.slice(0, 200)}`).toBe(false);
    }
    console.log(`[secret-scan] ${secrets.length} tokens × ${haystacks.length} texts (${histories} histories, ${logs.length} log lines, Slack, Grafana): 0 found`);
  });
});
