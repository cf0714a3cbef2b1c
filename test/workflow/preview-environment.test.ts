/**
 * The preview workflow on the time-skipping server with in-memory activities: a fake "cloud" that
 * records what exists (databases, services) so each test can check that nothing is left behind.
 *
 * Each test has its own time-skipping server (a clock one test leaves stuck cannot hold up the
 * next), and time is skipped only once the workflow has handled the push it counts from: the quiet
 * period starts when the workflow hears the push, so a skip that began before that (a loaded
 * worker) left the deploy timer ahead of the skipped clock, and the test waited for ever.
 */
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import type { PreviewActivities } from '../../activities/preview.js';
import { translated } from '../../activities/index.js';
import { previewWorkflowId, type PreviewEvent, type PreviewStart } from '../../domain/preview.js';
import { prebuiltBundlePath } from '../../workers/bundle.js';
import { WORKER_TUNING } from '../../workers/worker.js';
import { PREVIEW_WORKFLOW, previewEventSignal, previewStatusQuery, type PreviewStatus } from '../../workflows/preview-messages.js';
import { recordHistory } from '../helpers/histories.js';
import { pollUntil, queryUntil } from '../helpers/poll.js';
import { timeSkippingEnv } from '../helpers/temporal.js';

/** The running test's own time-skipping server. */
let env: TestWorkflowEnvironment;
let counter = 0;

interface Cloud {
  /** What exists now: `db:<name>`, `svc:<name>@<sha>`. */
  resources: Set<string>;
  creates: string[];
  updates: string[];
  destroys: number;
  comments: string[];
  failCreate?: boolean;
  hangCreate?: boolean;
}

function cloudActivities(cloud: Cloud): PreviewActivities {
  const dropService = (name: string) => [...cloud.resources].filter((r) => r.startsWith(`svc:${name}@`)).forEach((r) => cloud.resources.delete(r));
  return translated<PreviewActivities>({
    async createPreview({ name, sha }) {
      cloud.creates.push(sha);
      cloud.resources.add(`db:${name}`);
      if (cloud.failCreate) throw ApplicationFailure.nonRetryable('service image failed to start', 'DEPLOY_REJECTED');
      if (cloud.hangCreate) {
        for (;;) {
          Context.current().heartbeat();
          await Context.current().sleep(50);
        }
      }
      cloud.resources.add(`svc:${name}@${sha}`);
      return { url: `https://${name}.preview.example` };
    },
    async updatePreview({ name, sha }) {
      cloud.updates.push(sha);
      dropService(name);
      cloud.resources.add(`svc:${name}@${sha}`);
    },
    async destroyPreview({ name }) {
      cloud.destroys++;
      dropService(name);
      cloud.resources.delete(`db:${name}`);
    },
    async commentOnPullRequest({ body }) {
      cloud.comments.push(body);
    },
  });
}

const sha = (n: number) => `${String(n).repeat(8)}${'a'.repeat(32)}`;

interface Run {
  cloud: Cloud;
  handle: WorkflowHandle;
  service: string;
  /** Signals the event; an `opened` or `pushed` one is awaited until the workflow has heard it. */
  send(kind: PreviewEvent['kind'], sha: string): Promise<void>;
  until(pred: (s: PreviewStatus) => boolean): Promise<PreviewStatus>;
}

async function withPreview(setup: Partial<Cloud>, start: Partial<PreviewStart>, body: (run: Run) => Promise<void>): Promise<void> {
  const taskQueue = `preview-test-${++counter}`;
  const service = `web${counter}`;
  const cloud: Cloud = { resources: new Set(), creates: [], updates: [], destroys: 0, comments: [], ...setup };
  env = await timeSkippingEnv();
  try {
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: prebuiltBundlePath() }, activities: cloudActivities(cloud), ...WORKER_TUNING });
    const workflowId = previewWorkflowId(service, 7);
    const input: PreviewStart = { service, pr: 7, quietSeconds: 30, ttlHours: 24, ...start };
    const handle = env.client.workflow.getHandle(workflowId);
    // The Java test server never answers a query that lands while a run continues as new: each
    // query gets 2 s before it is asked again.
    const until = (pred: (s: PreviewStatus) => boolean, what = 'the preview status to match') => queryUntil(handle, previewStatusQuery, pred, what, { attemptMs: 2_000 });
    const send = async (kind: PreviewEvent['kind'], head: string) => {
      await env.client.workflow.signalWithStart(PREVIEW_WORKFLOW, { workflowId, taskQueue, args: [input], signal: previewEventSignal, signalArgs: [{ service, pr: 7, kind, sha: head }] });
      if (kind === 'opened' || kind === 'pushed') await until((s) => s.shaWanted === head, `the workflow to hear the push of ${head.slice(0, 8)}`);
    };
    await worker.runUntil(async () => {
      await body({ cloud, handle, service, send, until });
      await recordHistory(expect.getState().currentTestName ?? 'preview', handle);
    });
  } finally {
    await env.teardown();
  }
}

describe('previewEnvironment', () => {
  it('opened, pushed five times, closed: one create, one deploy of the last push, nothing left', async () => {
    await withPreview({}, {}, async ({ cloud, handle, send, until, service }) => {
      await send('opened', sha(0));
      const ready = await until((s) => s.state === 'ready');
      expect(ready.url).toBe(`https://${service}-pr-7.preview.example`);
      // The comment follows the ready state (the query can answer between the two).
      expect(await pollUntil('the comment with the preview URL', () => cloud.comments[0])).toContain(ready.url);

      for (let i = 1; i <= 5; i++) {
        await send('pushed', sha(i));
        await env.sleep(5_000); // a burst: each push well within the 30 s quiet period
      }
      expect(cloud.updates).toEqual([]);
      expect((await handle.query(previewStatusQuery)).waitsFor).toMatch(/without pushes before deploying 55555555/);
      await env.sleep(31_000);
      const updated = await until((s) => s.shaDeployed === sha(5));
      expect(cloud.updates).toEqual([sha(5)]);
      expect(updated.deploys).toBe(2);

      await send('closed', sha(5));
      const result = (await handle.result()) as PreviewStatus;
      expect(result).toMatchObject({ state: 'destroyed', ending: 'closed', url: null });
      expect(cloud.resources.size).toBe(0);
      expect(cloud.comments.at(-1)).toMatch(/destroyed \(closed\)/);
    });
  });

  it('a creation that fails half-way is cleaned up, reported, and retried by the next push', async () => {
    await withPreview({ failCreate: true }, {}, async ({ cloud, handle, send, until }) => {
      await send('opened', sha(1));
      const failed = await until((s) => s.state === 'failed');
      expect(failed.lastError).toMatch(/create of 11111111.* failed: service image failed to start/);
      expect(cloud.destroys).toBe(1);
      expect(cloud.resources.size).toBe(0); // the database made before the failure is gone
      await pollUntil('the comment about the failed creation', () => /failed .*next push retries/.test(cloud.comments.at(-1) ?? ''));

      cloud.failCreate = false;
      await send('pushed', sha(2));
      await env.sleep(31_000);
      await until((s) => s.state === 'ready' && s.shaDeployed === sha(2));
      expect(cloud.creates).toEqual([sha(1), sha(2)]);

      await send('merged', sha(2));
      expect(await handle.result()).toMatchObject({ state: 'destroyed', ending: 'merged' });
      expect(cloud.resources.size).toBe(0);
    });
  });

  it('an idle preview is destroyed after its TTL; activity resets the timer', async () => {
    await withPreview({}, { ttlHours: 2 }, async ({ cloud, handle, send, until }) => {
      await send('opened', sha(1));
      await until((s) => s.state === 'ready');
      await env.sleep(90 * 60_000);
      await send('pushed', sha(2)); // activity at 1.5 h: the TTL counts from here
      await env.sleep(60 * 60_000);
      expect((await handle.query(previewStatusQuery)).state).toBe('ready');
      const result = (await handle.result()) as PreviewStatus;
      expect(result).toMatchObject({ state: 'destroyed', ending: 'idle', shaDeployed: sha(2) });
      expect(cloud.resources.size).toBe(0);
    });
  });

  it('cancelling the workflow during a creation still destroys what it made', async () => {
    await withPreview({ hangCreate: true }, {}, async ({ cloud, handle, send, until }) => {
      await send('opened', sha(1));
      await until((s) => s.state === 'creating');
      await pollUntil('the creation to have made its database', () => [...cloud.resources].some((r) => r.startsWith('db:')));
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      expect(cloud.destroys).toBe(1);
      expect(cloud.resources.size).toBe(0);
    });
  });

  it('continues as new after its deploys per run, keeping the preview', async () => {
    await withPreview({}, { deploysPerRun: 1 }, async ({ cloud, handle, send, until }) => {
      await send('opened', sha(1));
      await until((s) => s.state === 'ready');
      const first = (await handle.describe()).runId;
      await send('pushed', sha(2));
      await env.sleep(31_000);
      const after = await until((s) => s.shaDeployed === sha(2));
      expect((await handle.describe()).runId).not.toBe(first);
      expect(after).toMatchObject({ url: expect.stringContaining('pr-7'), deploys: 2 });
      await send('closed', sha(2));
      expect(await handle.result()).toMatchObject({ state: 'destroyed' });
      expect(cloud.resources.size).toBe(0);
      expect(cloud.creates).toHaveLength(1);
    });
  });
});
