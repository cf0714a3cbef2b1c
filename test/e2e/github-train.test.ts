/**
 * A whole release train against GitHub (the fake API on loopback), on the real dev server with the
 * real worker: the tag and pre-release on GitHub, staging, E2E and production as `workflow_dispatch`
 * runs with the train's inputs, polled with conditional requests.
 */
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stage } from '../../domain/train.js';
import { startDevStack, type DevStack } from '../helpers/dev-stack.js';
import { reach } from '../helpers/train-harness.js';
import { promoteUpdate } from '../../workflows/messages.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github.js';

let github: FakeGitHub;
let stack: DevStack;
let client: Client;
let logs: string[];
let stopRunners: (() => void) | undefined;

beforeAll(async () => {
  github = await startFakeGitHub();
  github.commit(github.defaultBranch, 'Add the breach alerts page (#101)');
  // GitHub's runners: every dispatched run starts, runs for a few seconds, and succeeds.
  stopRunners = github.runRunners(3_000);
  process.env.TEST_GITHUB_TOKEN = github.token;
  stack = await startDevStack(`
services:
  monitor:
    forge: { kind: github, repository: ${github.repository}, apiUrl: "${github.url}", tokenEnv: TEST_GITHUB_TOKEN, defaultBranch: ${github.defaultBranch} }
    tagFormat: "v{yyyy}.{MM}.{dd}.{n}"
    release: { timeZone: UTC, days: [mon, tue, wed, thu, fri, sat, sun], time: "11:00", minLeadHours: 12 }
    e2e: { kind: github-actions, workflow: e2e.yml, inputs: { environment: "{environment}" }, pollSeconds: 1 }
    environments:
      staging:
        deploy: { kind: github-actions, workflow: deploy.yml, inputs: { environment: stage, tag: "{tag}" }, pollSeconds: 1 }
      production:
        deploy: { kind: github-actions, workflow: deploy.yml, inputs: { environment: production, tag: "{tag}" }, pollSeconds: 1 }
`);
  ({ client, logs } = stack);
});

afterAll(async () => {
  stopRunners?.();
  await stack?.stop();
  await github?.close();
});

/** The train's stage as its status query reports it (the harness's poll, with an end-to-end deadline). */
const waitForStage = (trainId: string, stage: Stage) => reach(client.workflow.getHandle(trainId), stage, 60_000);

describe('a train on GitHub', () => {
  it('tags, publishes a pre-release, dispatches staging, E2E and production runs with the train inputs', { timeout: 120_000 }, async () => {
    const cut = (await client.workflow.execute('cutRelease', { workflowId: 'cut/monitor', taskQueue: 'trainyard', args: [{ service: 'monitor', startedBy: 'release-bot' }] })) as { trainId: string; tag: string };
    await waitForStage(cut.trainId, 'awaiting-release');
    await client.workflow.getHandle(cut.trainId).executeUpdate(promoteUpdate, { args: [{ by: 'sre', reason: 'QA done' }] });
    const released = await waitForStage(cut.trainId, 'released');
    expect(released.versions).toEqual({ staging: cut.tag, production: cut.tag });
    expect(released.changelog?.url).toMatch(/releases/);

    const runs = [...github.state.runs.values()];
    expect(runs.map((r) => [r.path.split('/').pop(), r.headBranch, github.runInputs(String(r.id))])).toEqual([
      ['deploy.yml', cut.tag, { environment: 'stage', tag: cut.tag }],
      ['e2e.yml', cut.tag, { environment: 'staging' }],
      ['deploy.yml', cut.tag, { environment: 'production', tag: cut.tag }],
    ]);
    // Waiting on runs used conditional requests: unchanged runs answered 304 and cost nothing.
    expect(github.counters.notModified).toBeGreaterThan(0);
    console.log(`[github-train] ${github.counters.requests} API requests, ${github.counters.counted} counted against the rate limit, ${github.counters.notModified} answered 304`);
    expect(logs.join('\n')).not.toContain(github.token);
  });
});
