/**
 * The version bump on the dev server, in real time with second-long periods: the real bump
 * activities against an in-memory component and consumer (test/helpers/version-bump-world.ts), one
 * test per path of the seed.
 *
 * Not on the Java time-skipping server: there, a `resolved` update that lands while the bump's poll
 * timer fires leaves the workflow task STARTED for ever (the server refuses the timer's cancel;
 * temporalio/sdk-java#3088), which stopped its clock for every later test in the file under load.
 */
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVersionBumpActivities } from '../../activities/version-bump.js';
import { bumpId, type BumpPlan, type BumpStage, type BumpStatus } from '../../domain/version-bump.js';
import { bumpStatusQuery, resolvedUpdate } from '../../workflows/version-bump-messages.js';
import { rejection } from '../helpers/train-harness.js';
import { recordHistory } from '../helpers/histories.js';
import { pollUntil, queryUntil } from '../helpers/poll.js';
import { bundleWorker, devServerEnv, type DevServerEnv } from '../helpers/temporal.js';
import { BumpWorld } from '../helpers/version-bump-world.js';

const FILE = 'GITALY_SERVER_VERSION';
const OLD = 'a000000000000000000000000000000000000old';

let env: DevServerEnv;
let counter = 0;

beforeAll(async () => {
  env = await devServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/** One second, in the plan's minutes (the bump never sleeps less than a second). */
const SECOND = 1 / 60;

function plan(overrides: Partial<BumpPlan> = {}): BumpPlan {
  return {
    component: 'gitaly', consumer: `gitlab${++counter}`, versionFile: FILE, branch: 'trainyard/bump-gitaly', title: 'Update Gitaly version',
    labels: ['group::gitaly'], blockedLabel: 'trainyard::blocked', staleLabel: 'trainyard::stale', lookback: 20, commitLimit: 10,
    compareUrl: 'https://gitlab.example/gitaly/-/compare/{from}...{to}', pollMinutes: SECOND, masterPollMinutes: SECOND, greenCheckMinutes: 2 * SECOND, staleHours: 24,
    operators: ['alice'], ...overrides,
  };
}

interface Run {
  world: BumpWorld;
  handle: WorkflowHandleWithFirstExecutionRunId;
  plan: BumpPlan;
}

async function withBump(name: string, setup: (world: BumpWorld) => void, p: BumpPlan, body: (run: Run) => Promise<void>, maxHistoryEvents?: number): Promise<void> {
  const world = new BumpWorld(FILE, OLD, () => env.currentTimeMs());
  setup(world);
  const taskQueue = `bump-test-${counter}`;
  const activities = createVersionBumpActivities({
    forgeFor: (n) => (n === p.component ? world.component() : world.consumer()),
    notify: async (note) => void world.notes.push(note),
  });
  const worker = await bundleWorker(env, taskQueue, activities);
  const workflowId = bumpId(p.component, p.consumer);
  try {
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('versionBump', { taskQueue, workflowId, args: [{ plan: p, startedBy: 'test', ...(maxHistoryEvents ? { maxHistoryEvents } : {}) }] });
      await body({ world, handle, plan: p });
      await recordHistory(name, handle);
    });
  } finally {
    await env.client.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
  }
}

/** Waits until the bump reaches `stage`. */
async function reach(handle: WorkflowHandle, stage: BumpStage): Promise<BumpStatus> {
  return queryUntil(handle, bumpStatusQuery, (s) => s.stage === stage, `the bump to reach ${stage}`);
}

const events = (s: BumpStatus) => s.attempts.map((a) => a.event);

// Each test has its own task queue, bump and world: they run side by side.
describe.concurrent('versionBump', () => {
  it('finishes when the consumer already has the latest green commit', async ({ task }) => {
    await withBump(`versionBump > ${task.name}`, (w) => w.addComponentCommit('wip: red', false), plan(), async ({ world, handle }) => {
      const result: BumpStatus = await handle.result();
      expect(result.stage).toBe('up-to-date');
      expect(result.target).toBe(OLD);
      expect(world.requests).toHaveLength(0);
    });
  });

  it('opens the bump request and merges it when its pipeline is green', async ({ task }) => {
    let green = '';
    await withBump(`versionBump > ${task.name}`, (w) => {
      w.addComponentCommit('fix: cache (gitaly!12)', true);
      green = w.addComponentCommit('feat: faster fetch', true);
      w.addComponentCommit('wip: not green yet', false);
    }, plan(), async ({ world, handle }) => {
      const result: BumpStatus = await handle.result();
      expect(result.stage).toBe('merged');
      expect(world.requests).toHaveLength(1);
      const mr = world.requests[0]!;
      expect(mr).toMatchObject({ title: 'Update Gitaly version', branch: 'trainyard/bump-gitaly', state: 'merged', labels: ['group::gitaly'] });
      expect(mr.body).toContain(`https://gitlab.example/gitaly/-/compare/${OLD}...${green}`);
      expect(mr.body).toContain('feat: faster fetch');
      expect(mr.body).toContain('fix: cache (gitaly!12)');
      expect(mr.body).not.toContain('wip: not green yet');
      expect(world.branches.get('main')!.files.get(FILE)).toBe(`${green}\n`);
      expect(world.notes.map((n) => n.event)).toEqual(['opened', 'merged']);
      expect(result.mr).toMatchObject({ number: 1, url: 'https://forge.example/mr/1' });
      expect(result.pipeline).toMatchObject({ status: 'success', url: expect.stringContaining('https://ci.example/pipelines/') });
    });
  });

  it('retries a failed pipeline once and merges when the retry passes (test flake)', async ({ task }) => {
    await withBump(`versionBump > ${task.name}`, (w) => {
      w.addComponentCommit('feat: x', true);
      w.pipelineOutcomes = ['failed'];
    }, plan(), async ({ world, handle }) => {
      const result: BumpStatus = await handle.result();
      expect(result.stage).toBe('merged');
      expect(world.pipelines).toHaveLength(2);
      expect(events(result)).toContain('retried');
      expect(world.requests[0]!.labels).not.toContain('trainyard::blocked');
      expect(world.notes.filter((n) => n.audience === 'team')).toHaveLength(0);
    });
  });

  it('on a broken master waits for it to turn green, then closes and recreates the request', async ({ task }) => {
    await withBump(`versionBump > ${task.name}`, (w) => {
      w.addComponentCommit('feat: x', true);
      w.pipelineOutcomes = ['failed', 'failed'];
      w.masterStates = ['failure', 'failure', 'failure', 'success'];
    }, plan(), async ({ world, handle }) => {
      const waiting = await reach(handle, 'awaiting-master');
      expect(waiting.waitingFor).toContain('default branch to turn green');
      const result: BumpStatus = await handle.result();
      expect(result.stage).toBe('merged');
      expect(world.requests.map((r) => [r.branch, r.state])).toEqual([['trainyard/bump-gitaly', 'closed'], ['trainyard/bump-gitaly-2', 'merged']]);
      expect(world.requests[0]!.comments.join()).toContain('default branch is green again');
      expect(world.notes.map((n) => n.event)).toEqual(['opened', 'master-broken', 'recreated', 'opened', 'merged']);
    });
  });

  it('on a regression labels the request, tells the team with the failing job, and waits for resolved', async ({ task }) => {
    await withBump(`versionBump > ${task.name}`, (w) => {
      w.addComponentCommit('feat: breaks rspec', true);
      w.pipelineOutcomes = ['failed', 'failed'];
    }, plan(), async ({ world, handle }) => {
      const blocked = await reach(handle, 'blocked');
      expect(blocked.waitingFor).toContain('a person: resolved');
      expect(world.requests[0]!.labels).toContain('trainyard::blocked');
      const team = world.notes.filter((n) => n.audience === 'team');
      expect(team).toHaveLength(1);
      expect(team[0]!.text).toContain(`https://ci.example/jobs/${world.pipelines[1]!.id}`);
      // Looks pass: nobody acted, nothing changes, nobody is told twice.
      const seen = world.pipelineLooks;
      await pollUntil('three more looks at the blocked request', () => world.pipelineLooks >= seen + 3);
      expect((await handle.query(bumpStatusQuery)).stage).toBe('blocked');
      expect(world.notes.filter((n) => n.audience === 'team')).toHaveLength(1);
      expect(await rejection(handle.executeUpdate(resolvedUpdate, { args: [{ by: 'mallory', reason: 'trust me' }] }))).toMatch(/"mallory" may not resolve/);
      expect(await rejection(handle.executeUpdate(resolvedUpdate, { args: [{ by: 'alice', reason: '' }] }))).toMatch(/a reason .* is required/);
      await handle.executeUpdate(resolvedUpdate, { args: [{ by: 'alice', reason: 'reverted gitaly!99' }] });
      const result: BumpStatus = await handle.result();
      expect(result.stage).toBe('merged');
      expect(result.resolutions).toEqual([expect.objectContaining({ by: 'alice', reason: 'reverted gitaly!99' })]);
      const history = JSON.stringify((await handle.fetchHistory()).events);
      expect(history).not.toContain('mallory');
    });
  });

  it('a newer green commit updates the blocked request instead of opening another', async ({ task }) => {
    await withBump(`versionBump > ${task.name}`, (w) => {
      w.addComponentCommit('feat: breaks rspec', true);
      w.pipelineOutcomes = ['failed', 'failed'];
    }, plan(), async ({ world, handle }) => {
      await reach(handle, 'blocked');
      const revert = world.addComponentCommit('Revert "feat: breaks rspec"', true);
      const result: BumpStatus = await handle.result();
      expect(result.stage).toBe('merged');
      expect(world.requests).toHaveLength(1);
      expect(world.requests[0]!.body).toContain('Revert "feat: breaks rspec"');
      expect(world.branches.get('main')!.files.get(FILE)).toBe(`${revert}\n`);
      expect(result.target).toBe(revert);
    });
  });

  it('keeps a version a person wrote into the request and waits for its pipeline', async ({ task }) => {
    await withBump(`versionBump > ${task.name}`, (w) => {
      w.addComponentCommit('feat: breaks rspec', true);
      w.pipelineOutcomes = ['failed', 'failed'];
    }, plan(), async ({ world, handle }) => {
      await reach(handle, 'blocked');
      const manual = 'a0000000000000000000000000000000000fixed';
      world.push('trainyard/bump-gitaly', FILE, `${manual}\n`);
      // The newer component commit comes once the bump has seen the person's version: sent together,
      // a look that read the request before the push and the component after it raced the two.
      await queryUntil(handle, bumpStatusQuery, (s) => s.manualVersion === manual, 'the bump to see the version a person wrote');
      world.addComponentCommit('feat: newer', true);
      const result: BumpStatus = await handle.result();
      expect(result.stage).toBe('merged');
      expect(result.manualVersion).toBe(manual);
      expect(world.branches.get('main')!.files.get(FILE)).toBe(`${manual}\n`);
      expect(events(result)).toContain('manual-version');
    });
  });

  it('labels a request open longer than a day as stale once, across continue-as-new', async ({ task }) => {
    // "A day" is three seconds here; the pipeline runs for eight looks, a second apart.
    await withBump(`versionBump > ${task.name}`, (w) => {
      w.addComponentCommit('feat: slow pipeline', true);
      w.runningLooks = 8;
    }, plan({ staleHours: 3 / 3600 }), async ({ world, handle }) => {
      const result: BumpStatus = await handle.result();
      expect(result.stage).toBe('merged');
      expect(world.requests[0]!.labels).toContain('trainyard::stale');
      expect(world.notes.filter((n) => n.event === 'stale')).toHaveLength(1);
      expect(events(result)).toEqual(['opened', 'stale', 'merged']);
      // The long wait continued as new: the final run is not the first.
      const first = await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
      expect(first.status.name).toBe('CONTINUED_AS_NEW');
    }, 40);
  });
});
