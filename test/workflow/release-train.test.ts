/**
 * The release train on the time-skipping test server, with in-memory activities: days of waiting
 * take milliseconds, and each test drives one path of the process.
 */
import { Context } from '@temporalio/activity';
import { describeTime } from '../../domain/calendar.js';
import { ledgerId } from '../../domain/ids.js';
import { ledgerQuery } from '../../workflows/ledger-messages.js';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainPolicy, TrainStatus } from '../../domain/train.js';
import { abortUpdate, promoteUpdate, regenerateChangelogUpdate, rerunE2EUpdate, retryDeployUpdate, statusQuery } from '../../workflows/messages.js';
import { pollUntil } from '../helpers/poll.js';
import { cleanUp, DAY, reach, rejection, stages, startTrain, until } from '../helpers/train-harness.js';
import { recordHistory } from '../helpers/histories.js';
import { bundleWorker, timeSkippingEnv } from '../helpers/temporal.js';
import { fakeActivities, fakeWorld, hangUntilCancelled, policy, type FakeWorld } from '../helpers/fake-activities.js';
import { trainResult } from '../../client/train-result.js';
import { WorkflowFailedError } from '@temporalio/client';

let env: TestWorkflowEnvironment;
let counter = 0;

beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

interface Run {
  world: FakeWorld;
  handle: WorkflowHandle;
  worker: Worker;
  tag: string;
}

/** Starts a train whose release time is `releaseInMs` away, runs `body` with a worker, stops the worker. */
async function withTrain(setup: (world: FakeWorld) => void, trainPolicy: TrainPolicy, body: (run: Run) => Promise<void>, releaseInMs = 2 * DAY): Promise<void> {
  const name = expect.getState().currentTestName ?? 'train';
  const world = fakeWorld();
  setup(world);
  const taskQueue = `train-test-${++counter}`;
  const worker = await bundleWorker(env, taskQueue, fakeActivities(world, trainPolicy, env.client, taskQueue));
  // A service of its own per test: its ledgers live on this test's task queue.
  const service = `api${counter}`;
  const tag = `${service}/v2024.10.02.1`;
  try {
    await worker.runUntil(async () => {
      const handle = await startTrain(env, { service, tag, taskQueue, policy: trainPolicy, releaseInMs });
      await body({ world, handle, worker, tag });
      await recordHistory(name, handle);
    });
  } finally {
    await cleanUp(env, service);
  }
}

describe('releaseTrain', () => {
  it('happy path: a train whose release time is two days away reaches production by itself', async () => {
    const started = Date.now();
    await withTrain(() => undefined, policy(), async ({ world, handle, tag }) => {
      const result: TrainStatus = await trainResult(handle);
      const events = (await handle.fetchHistory()).events ?? [];
      if (process.env.PRINT_FIGURES) console.log(`FIGURE happy-path history events: ${events.length}`);
      expect(events.length).toBeLessThanOrEqual(150);
      expect(stages(result)).toEqual(['cut', 'staging', 'e2e', 'awaiting-release', 'production', 'released']);
      expect(world.deploys.map((d) => `${d.environment}:${d.tag}`)).toEqual([`staging:${tag}`, `production:${tag}`]);
      expect(world.tags.get(tag)).toBe('c0ffee0000000000000000000000000000000001');
      expect(result.versions).toEqual({ staging: tag, production: tag, previousProduction: 'api/v2024.09.30.1' });
      // It waited for the release time: production started two (skipped) days after the cut.
      const production = result.stages.find((s) => s.stage === 'production')!;
      expect(production.startedAt - result.stages[0]!.startedAt).toBeGreaterThanOrEqual(2 * DAY - 60_000);
      expect(world.notifications.map((n) => n.event)).toEqual(['cut', 'deployed', 'promoted', 'deployed', 'released']);
      expect(result.changelog).toEqual({ url: `file:///releases/${tag}.md`, commits: 3, truncated: false });
      expect(world.notifications[0]?.text).toContain(`Changelog: file:///releases/${tag}.md`);
    });
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('E2E failed: the train waits for a release manager, who promotes with a reason', async () => {
    await withTrain(
      (w) => (w.onCheck = (req) => ({ passed: req.check !== 'e2e', summary: req.check === 'e2e' ? '3 of 120 specs failed' : 'ok' })),
      policy(),
      async ({ world, handle }) => {
        await env.sleep('3 days');
        const waiting = await reach(handle, 'awaiting-decision');
        expect(waiting.waitingFor).toMatch(/promote \(E2E failed\) or abort/);
        expect(world.deploys.filter((d) => d.environment === 'production')).toHaveLength(0);
        expect(await rejection(handle.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: '  ' }] }))).toMatch(/reason is required/);
        await handle.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'failures are a known flaky spec' }] });
        const result: TrainStatus = await trainResult(handle);
        expect(result.stage).toBe('released');
        expect(result.actions).toMatchObject([{ kind: 'promote', by: 'rm', reason: 'failures are a known flaky spec' }]);
        expect(world.notifications.find((n) => n.event === 'promoted')?.text).toContain('failures are a known flaky spec');
      },
    );
  });

  it('E2E failed: a rerun the night before runs at once, and when it passes the train releases at its time by itself', async () => {
    let e2eRuns = 0;
    await withTrain(
      (w) =>
        (w.onCheck = (req) => {
          if (req.check !== 'e2e') return { passed: true, summary: 'ok' };
          e2eRuns++;
          return e2eRuns === 1 ? { passed: false, summary: '1 of 120 specs failed' } : { passed: true, summary: 'all green' };
        }),
      policy(),
      async ({ world, handle }) => {
        const failed = await until(handle, (s) => s.stage === 'awaiting-release' && s.e2e?.passed === false, 'waiting for its release time after failed E2E');
        expect(failed.waitingFor).toMatch(/E2E failed, so at the release time the train stops for a decision unless a rerunE2E passes first$/);
        await handle.executeUpdate(rerunE2EUpdate, { args: [{ by: 'rm', reason: 'suspect flake, re-run tonight' }] });
        const passed = await until(handle, (s) => s.stage === 'awaiting-release' && s.e2e?.passed === true, 'E2E to pass on the rerun');
        expect(passed.waitingFor).toMatch(/^the release time .* or a promote$/);
        expect(world.deploys.filter((d) => d.environment === 'production')).toHaveLength(0);
        const result: TrainStatus = await trainResult(handle);
        expect(result.stage).toBe('released');
        expect(stages(result)).toEqual(['cut', 'staging', 'e2e', 'awaiting-release', 'e2e', 'awaiting-release', 'production', 'released']);
        expect(result.actions.map((a) => a.kind)).toEqual(['rerunE2E']);
        expect(e2eRuns).toBe(2);
      },
    );
  });

  it('rejects an unauthorised promote without writing it to history, and accepts an authorised one', async () => {
    const guarded = policy({ operators: [{ name: 'alice', rights: ['promote'] }, { name: 'bob', rights: ['abort'] }] });
    await withTrain(() => undefined, guarded, async ({ handle }) => {
      await reach(handle, 'awaiting-release');
      expect(await rejection(handle.executeUpdate(promoteUpdate, { args: [{ by: 'mallory', reason: 'ship it' }] }))).toMatch(/"mallory" is not an operator/);
      expect(await rejection(handle.executeUpdate(promoteUpdate, { args: [{ by: 'bob', reason: 'ship it' }] }))).toMatch(/does not have the "promote" right/);
      const history = await handle.fetchHistory();
      expect(JSON.stringify(history)).not.toContain('mallory');
      await handle.executeUpdate(promoteUpdate, { args: [{ by: 'alice', reason: 'customer fix' }] });
      expect((await trainResult(handle)).stage).toBe('released');
    });
  });

  it('a failed production smoke test rolls back to the previous version', async () => {
    await withTrain(
      (w) => (w.onCheck = (req) => ({ passed: !(req.check === 'smoke' && req.environment === 'production' && req.tag !== 'api/v2024.09.30.1'), summary: '/health answered 500' })),
      policy(),
      async ({ world, handle, tag }) => {
        const result: TrainStatus = await trainResult(handle);
        expect(result.stage).toBe('rolled-back');
        expect(world.running.production).toBe('api/v2024.09.30.1');
        expect(world.deploys.filter((d) => d.environment === 'production').map((d) => d.tag)).toEqual([tag, 'api/v2024.09.30.1']);
        expect(world.notifications.map((n) => n.event)).toContain('rolled-back');
        // Monitoring shows when each version became active, the rollback included.
        expect(world.annotations).toEqual([`staging:${tag}`, `production:${tag}`, 'production:api/v2024.09.30.1']);
      },
    );
  });

  it('smoke-tests the version it rolled back to (a change made with patched(): older trains replay without it)', async () => {
    await withTrain(
      (w) => (w.onCheck = (req) => ({ passed: !(req.check === 'smoke' && req.environment === 'production'), summary: '/health answered 500' })),
      policy(),
      async ({ world, handle, tag }) => {
        const result: TrainStatus = await trainResult(handle);
        // Both versions fail production's smoke test: the rollback did not help, and says so.
        expect(result.stage).toBe('failed');
        expect(world.checks.filter((c) => c.environment === 'production').map((c) => c.tag)).toEqual([tag, 'api/v2024.09.30.1']);
        expect(world.notifications.at(-1)).toMatchObject({ event: 'rollback-failed' });
        expect(world.notifications.at(-1)?.text).toContain('fails its smoke test too');
        // The new paths are marked in history, which is how replay tells old trains from new: a
        // new train marks them all once, in its first workflow task (older trains marked each one
        // where they met it: production-never-backwards, smoke-after-rollback, unreleased-train-fails).
        const history = await handle.fetchHistory();
        const events = history.events ?? [];
        const markers = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
        expect(markers).toHaveLength(2); // changes-known-at-start, rerun-e2e-before-release
        // Both are commands of the first workflow task: before the second task completed.
        const completed = events.flatMap((e, i) => (e.workflowTaskCompletedEventAttributes ? [i] : []));
        for (const m of markers) expect(events.indexOf(m)).toBeLessThan(completed[1]!);
      },
    );
  });

  it('a failed rollback ends the train as failed and says so loudly', async () => {
    await withTrain(
      (w) => {
        w.onCheck = (req) => ({ passed: !(req.check === 'smoke' && req.environment === 'production'), summary: 'down' });
        w.onDeploy = async (req) => {
          if (req.tag === 'api/v2024.09.30.1') throw ApplicationFailure.nonRetryable('image pull failed', 'DEPLOY_FAILED');
        };
      },
      policy(),
      async ({ world, handle }) => {
        const result: TrainStatus = await trainResult(handle);
        expect(result.stage).toBe('failed');
        expect(result.error).toContain('image pull failed');
        expect(world.notifications.find((n) => n.event === 'rollback-failed')?.text).toMatch(/ROLLBACK FAILED.*Production is frozen/);
        const ledger = await env.client.workflow.getHandle(ledgerId(result.service, 'production')).query(ledgerQuery);
        expect(ledger.frozen).toMatchObject({ frozen: true, reason: expect.stringContaining('failed; check production, then unfreeze') });
      },
    );
  });

  it('a deploy that fails after its retries waits for retryDeploy, then goes on', async () => {
    let failing = true;
    await withTrain(
      (w) =>
        (w.onDeploy = async (req) => {
          if (failing && req.environment === 'staging') throw ApplicationFailure.retryable('registry unavailable', 'DEPLOY_FAILED');
        }),
      policy({ hasE2E: false }),
      async ({ world, handle }) => {
        await env.sleep('30 minutes'); // the retry backoff, skipped
        const waiting = await reach(handle, 'awaiting-decision');
        expect(waiting.failedDeploy).toEqual({ environment: 'staging', error: 'registry unavailable' });
        expect(await rejection(handle.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'x' }] }))).toMatch(/waits for retryDeploy or abort/);
        failing = false;
        await handle.executeUpdate(retryDeployUpdate, { args: [{ by: 'oncall', reason: 'registry is back' }] });
        const result: TrainStatus = await trainResult(handle);
        expect(result.stage).toBe('released');
        expect(world.deploys.map((d) => d.environment)).toEqual(['staging', 'production']);
      },
    );
  });

  it('a retried deploy that found its tag already running says so and the train goes on', async () => {
    const url = 'https://staging.example.com/version';
    await withTrain(
      (w) =>
        (w.onDeploy = async (req) =>
          // What activities/deploy/once.ts answers for a later attempt that read the tag at the version URL.
          req.environment === 'staging' ? { summary: `${req.tag} already runs in staging (read from ${url}): not deployed again`, alreadyRunning: true } : undefined),
      policy({ hasE2E: false }),
      async ({ world, handle, tag }) => {
        const result: TrainStatus = await trainResult(handle);
        expect(result.stage).toBe('released');
        expect(result.versions.staging).toBe(tag);
        const deployed = world.notifications.filter((n) => n.event === 'deployed').map((n) => n.text);
        expect(deployed).toEqual([`${tag} already runs in staging (read from ${url}): not deployed again.`, `Deployed ${tag} to production.`]);
      },
    );
  });

  it('abort in the middle of a deploy cancels the deploy and ends the train', async () => {
    let cancelled = false;
    let deploying = false;
    await withTrain(
      (w) =>
        (w.onDeploy = async () => {
          deploying = true;
          try {
            await hangUntilCancelled();
          } finally {
            cancelled = true;
          }
        }),
      policy(),
      async ({ handle }) => {
        await pollUntil('the staging deploy to be running', () => deploying);
        await handle.executeUpdate(abortUpdate, { args: [{ by: 'rm', reason: 'wrong commit' }] });
        const result: TrainStatus = await trainResult(handle);
        expect(result.stage).toBe('aborted');
        expect(result.stages.at(-1)?.note).toBe('rm: wrong commit');
        expect(cancelled).toBe(true);
      },
    );
  });

  it('regenerates the changelog from an overridden previous tag (OVERRIDE_PREVIOUS_TAG)', async () => {
    await withTrain((w) => w.tags.set('api/v2024.09.30.1', 'c0ffee0000000000000000000000000000000000'), policy(), async ({ world, handle, tag }) => {
      await reach(handle, 'awaiting-release');
      expect(await rejection(handle.executeUpdate(regenerateChangelogUpdate, { args: [{ by: 'rm', reason: 'race', previousTag: 'bad..tag' }] }))).toMatch(/previousTag "bad\.\.tag" contains "\.\."/);
      // A well-formed tag that does not exist is refused too, naming the tags there are; nothing is recorded.
      expect(await rejection(handle.executeUpdate(regenerateChangelogUpdate, { args: [{ by: 'rm', reason: 'typo', previousTag: 'api/v2024.09.03.1' }] }))).toMatch(
        new RegExp(`^the previous tag "api/v2024\\.09\\.03\\.1" is not a tag of api\\d+'s repository\\. Its newest release tags: api/v2024\\.09\\.30\\.1, ${tag.replace(/\./g, '\\.')}$`),
      );
      expect((await handle.query(statusQuery)).actions).toEqual([]);
      const status = await handle.executeUpdate(regenerateChangelogUpdate, { args: [{ by: 'rm', reason: 'deploy raced the generator', previousTag: 'api/v2024.09.30.1' }] });
      expect(status.changelog?.fromTag).toBe('api/v2024.09.30.1');
      expect(world.changelogs.map((c) => c.previousTag)).toEqual([undefined, 'api/v2024.09.30.1']);
      expect(world.notifications.at(-1)?.text).toContain(`regenerated by rm: file:///releases/${tag}.md`);
      await handle.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'go' }] });
      expect((await trainResult(handle)).stage).toBe('released');
    });
  });

  it('a deploy that polls 1,000 times costs no more history than one that polls once', async () => {
    const eventsWith = async (polls: number): Promise<number> => {
      let count = 0;
      await withTrain(
        (w) =>
          (w.onDeploy = async () => {
            const ctx = Context.current();
            for (let i = 0; i < polls; i++) {
              ctx.heartbeat({ poll: i }); // what a driver does while it waits on a pipeline
              if (i % 50 === 0) await ctx.sleep(1);
            }
          }),
        policy({ hasE2E: false }),
        async ({ handle }) => {
          expect((await trainResult(handle)).stage).toBe('released');
          // Workflow-task events vary with how signals and completions batch; polling must add none of the rest.
          const events = (await handle.fetchHistory()).events ?? [];
          // (A busy machine adds sticky-queue timeouts of workflow tasks: bookkeeping too. And the
          // ledger's signals, such as "you are queued", depend on timing, not on polling.)
          count = events.filter(
            (e) =>
              !e.workflowTaskScheduledEventAttributes &&
              !e.workflowTaskStartedEventAttributes &&
              !e.workflowTaskCompletedEventAttributes &&
              !e.workflowTaskTimedOutEventAttributes &&
              !e.workflowTaskFailedEventAttributes &&
              !e.workflowExecutionSignaledEventAttributes,
          ).length;
        },
      );
      return count;
    };
    const once = await eventsWith(1);
    const thousand = await eventsWith(1000);
    expect(thousand).toBe(once);
  });

  it('runs E2E in the overnight window (02:00 New York), then releases at the release time', async () => {
    await withTrain(() => undefined, policy({ e2eAt: '02:00' }), async ({ handle }) => {
      const result: TrainStatus = await trainResult(handle);
      expect(stages(result)).toEqual(['cut', 'staging', 'awaiting-e2e', 'e2e', 'awaiting-release', 'production', 'released']);
      const e2e = result.stages.find((s) => s.stage === 'e2e')!;
      expect(describeTime(e2e.startedAt, 'America/New_York')).toMatch(/ 02:00 E[SD]T \(UTC-0[45]:00\)$/);
    });
  });

  it('expires when nobody decides within the deadline', async () => {
    await withTrain((w) => (w.onCheck = (req) => ({ passed: req.check !== 'e2e', summary: 'failed' })), policy({ decisionDeadlineHours: 24 }), async ({ world, handle }) => {
      const result: TrainStatus = await trainResult(handle);
      expect(result.stage).toBe('expired');
      expect(world.deploys.filter((d) => d.environment === 'production')).toHaveLength(0);
      expect(world.notifications.at(-1)?.event).toBe('expired');
      // The workflow fails (the UI shows it red, not a green "Completed"), typed by the outcome.
      const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause).toMatchObject({ type: 'TRAIN_EXPIRED', nonRetryable: true });
      expect(err.cause?.message).toMatch(/ended expired: no decision within 24 h; it was not released/);
    });
  });
});
