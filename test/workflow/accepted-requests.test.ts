/**
 * No accepted command is ever dropped (issue #16). Each test holds one activity in flight (mostly a
 * notification) right after a validator has started to accept a request and before the workflow
 * waits for it, sends the request while the activity is held, lets it go, and expects the workflow
 * to act on the request at once, not at a deadline or the next poll hours away.
 *
 * On the real dev server in real time (`devServerEnv`): trains, ledgers and followers signal one
 * another, and an update has to reach a workflow while one of its local activities runs, which
 * depends on the worker renewing the workflow task (below), not on skipped time.
 */
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlagActivities, FlagNotification } from '../../activities/flag-rollout.js';
import type { PreReleaseActivities } from '../../activities/prerelease.js';
import type { PreviewActivities } from '../../activities/preview.js';
import type { StageActivities } from '../../activities/stage.js';
import type { Notification } from '../../activities/types.js';
import { createVersionBumpActivities, type BumpNote } from '../../activities/version-bump.js';
import type { FlagPlan, FlagState, SoakReading } from '../../domain/flag-rollout.js';
import { ledgerId, stageFollowerId, trainId } from '../../domain/ids.js';
import type { PreReleaseInput } from '../../workflows/preRelease.js';
import type { PreReleasePolicy, PreReleaseStatus, PullRequestView } from '../../domain/prerelease.js';
import { previewWorkflowId, type PreviewStart } from '../../domain/preview.js';
import type { StagePolicy, StageStatus } from '../../domain/stage.js';
import type { TrainInput, TrainPolicy } from '../../domain/train.js';
import { bumpId, type BumpPlan, type BumpStatus } from '../../domain/version-bump.js';
import { abortFlagUpdate, advanceFlagUpdate, approveFlagUpdate, flagStatusQuery } from '../../workflows/flag-messages.js';
import { freezeUpdate, ledgerQuery, unfreezeUpdate } from '../../workflows/ledger-messages.js';
import { promoteUpdate, rerunE2EUpdate, retryDeployUpdate } from '../../workflows/messages.js';
import { deployUpdate, preReleaseStatusQuery, waiveUpdate } from '../../workflows/prerelease-messages.js';
import { PREVIEW_WORKFLOW, previewEventSignal, previewStatusQuery } from '../../workflows/preview-messages.js';
import { STAGE_WORKFLOW, stageRetryUpdate, stageStatusQuery } from '../../workflows/stage-messages.js';
import { bumpStatusQuery, resolvedUpdate } from '../../workflows/version-bump-messages.js';
import { fakeActivities, fakeWorld, policy, type FakeWorld } from '../helpers/fake-activities.js';
import { pollUntil, queryUntil } from '../helpers/poll.js';
import { bundleWorker, devServerEnv, routedWorker, type DevServerEnv, type RoutedWorker } from '../helpers/temporal.js';
import { cleanUp, until } from '../helpers/train-harness.js';
import { BumpWorld } from '../helpers/version-bump-world.js';

let env: DevServerEnv;
let counter = 0;
const TASK_QUEUE = 'accepted-requests-test';
let worker: RoutedWorker;

/**
 * Notifications of trains, followers and bumps are local activities: one holds its workflow task
 * open, and an update sent meanwhile reaches the workflow only when the worker renews the task (at
 * 80 % of its timeout). A short task timeout keeps that wait short.
 */
const TASK_TIMEOUT = '3s';

/** How long a test gives the workflow to act on the request: far less than any deadline or poll it has. */
const ACTS_WITHIN_MS = 20_000;

/** The activity shapes the file's one worker serves; each test routes its service to its own. */
function shape(): object {
  const none = async (): Promise<never> => {
    throw new Error('not routed');
  };
  const stage: StageActivities = { stagePolicy: none, lookAtBranch: none, latestStagingDeployment: none };
  const flags: FlagActivities = { flagPlan: none, setFlag: none, measureHealth: none, openCleanupRequest: none, notifyFlag: none };
  const prerelease: PreReleaseActivities = { preReleasePolicy: none, listPreReleaseTags: none, mergedPullRequests: none, readPullRequests: none, publishPreRelease: none, restoreLatest: none };
  const preview: PreviewActivities = { createPreview: none, updatePreview: none, destroyPreview: none, commentOnPullRequest: none };
  return { ...fakeActivities(fakeWorld(), policy(), env.client, TASK_QUEUE), ...stage, ...flags, ...prerelease, ...preview };
}

beforeAll(async () => {
  env = await devServerEnv();
  worker = await routedWorker(env, TASK_QUEUE, shape());
});
afterAll(async () => {
  await worker?.shutdown();
  await env?.teardown();
});

/** One call of a fake activity that the test keeps in flight until it lets go; later calls pass. */
interface Held {
  /** The held call is running. */
  reached(): boolean;
  release(): void;
  /** Inside the activity: holds the first call (heartbeating, when it is a regular activity). */
  hold(): Promise<void>;
}

function held(): Held {
  let reached = false;
  let release: () => void = () => undefined;
  const released = new Promise<void>((r) => (release = r));
  return {
    reached: () => reached,
    release: () => release(),
    async hold() {
      if (reached) return;
      reached = true;
      const ctx = Context.current();
      const beat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat(), 1_000);
      try {
        await released;
      } finally {
        clearInterval(beat);
      }
    },
  };
}

/**
 * Holds `call` in flight, sends `request` and waits until the workflow has accepted it (so it was
 * accepted while `call` ran), then lets `call` go.
 */
async function acceptWhileHeld(call: Held, what: string, request: () => Promise<unknown>): Promise<void> {
  await pollUntil(`${what} to be in flight`, () => call.reached());
  try {
    await request();
  } finally {
    call.release();
  }
}

/** A service of its own with its fake world, routed to `overrides` on top of the train fakes. */
async function withService(
  prefix: string,
  body: (ctx: { service: string; world: FakeWorld; route: (overrides: object, trainPolicy?: TrainPolicy) => void }) => Promise<void>,
): Promise<void> {
  const service = `${prefix}${++counter}`;
  const world = fakeWorld();
  let unroute: (() => void) | undefined;
  try {
    await body({
      service,
      world,
      route: (overrides, trainPolicy = policy({ service })) => {
        unroute = worker.route(service, { ...fakeActivities(world, trainPolicy, env.client, TASK_QUEUE), ...overrides });
      },
    });
  } finally {
    await cleanUp(env, service);
    unroute?.();
  }
}

/** A train with short workflow tasks (see TASK_TIMEOUT); the test terminates it, `cleanUp` its ledgers. */
async function startTrain(service: string, trainPolicy: TrainPolicy, releaseInMs: number): Promise<WorkflowHandle> {
  const tag = `${service}/v2024.10.02.1`;
  const input: TrainInput = {
    service,
    tag,
    commit: 'c0ffee0000000000000000000000000000000001',
    policy: { ...trainPolicy, service },
    startedBy: 'test',
    releaseAt: (await env.currentTimeMs()) + releaseInMs,
  };
  return env.client.workflow.start('releaseTrain', { workflowId: trainId(service, tag), taskQueue: TASK_QUEUE, args: [input], workflowTaskTimeout: TASK_TIMEOUT });
}

const terminate = (handle: WorkflowHandle) => handle.terminate('test over').catch(() => undefined);

/** A train's notify fake that holds the first notification of `event` (sent from the train's path). */
function holdingNotify(world: FakeWorld, event: Notification['event'], call: Held) {
  return async (note: Notification) => {
    world.notifications.push(note);
    if (note.event === event) await call.hold();
  };
}

// Side by side: each test has its own service (or flag, or consumer) and fake world.
describe.concurrent('a request accepted while the workflow is busy is acted on', () => {
  it('releaseTrain deployUntilDone: a retryDeploy accepted while the "deploy failed" notice goes out retries the deploy', async () => {
    await withService('retry', async ({ service, world, route }) => {
      const notice = held();
      let failing = true;
      let attempts = 0;
      world.onDeploy = async (req) => {
        if (req.environment !== 'staging') return;
        attempts++;
        if (failing) throw ApplicationFailure.nonRetryable('registry unavailable', 'DEPLOY_FAILED');
      };
      route({ notify: holdingNotify(world, 'awaiting-decision', notice) });
      const train = await startTrain(service, policy({ hasE2E: false }), 2 * 86_400_000);
      try {
        await acceptWhileHeld(notice, 'the "deploy failed" notice', async () => {
          failing = false;
          await train.startUpdate(retryDeployUpdate, { args: [{ by: 'oncall', reason: 'registry is back' }], waitForStage: 'ACCEPTED' });
        });
        const status = await until(train, (s) => s.stage === 'awaiting-release', 'past its retried deploy', ACTS_WITHIN_MS);
        expect(status.versions.staging).toBe(`${service}/v2024.10.02.1`);
        expect(attempts).toBe(2);
      } finally {
        await terminate(train);
      }
    });
  });

  it('releaseTrain gate: a rerunE2E accepted while the "waiting for a decision" notice goes out runs E2E again', async () => {
    await withService('rerun', async ({ service, world, route }) => {
      const notice = held();
      let e2eRuns = 0;
      world.onCheck = (req) => {
        if (req.check !== 'e2e') return { passed: true, summary: 'ok' };
        e2eRuns++;
        return e2eRuns === 1 ? { passed: false, summary: '1 of 120 specs failed' } : { passed: true, summary: 'all green' };
      };
      route({ notify: holdingNotify(world, 'awaiting-decision', notice) });
      // Its release time passes before E2E ends: the gate waits for a decision.
      const train = await startTrain(service, policy(), 1_000);
      try {
        await acceptWhileHeld(notice, 'the gate\'s "waiting for a decision" notice', () =>
          train.startUpdate(rerunE2EUpdate, { args: [{ by: 'rm', reason: 'suspect flake' }], waitForStage: 'ACCEPTED' }),
        );
        const status = await until(train, (s) => s.stage === 'released', 'released after the rerun passed', ACTS_WITHIN_MS);
        expect(status.e2e?.passed).toBe(true);
        expect(e2eRuns).toBe(2);
      } finally {
        await terminate(train);
      }
    });
  });

  it('ProductionGuard awaitDecision: a promote with overrideBackwards accepted while the hold notice goes out deploys', async () => {
    await withService('hold', async ({ service, world, route }) => {
      const notice = held();
      const running = 'b'.repeat(40);
      // Production runs a commit the train's does not contain: the production check holds it.
      world.tags.set('api/v2024.09.30.1', running);
      world.compare = (base, head) => (base === head ? 'identical' : base === running ? 'behind' : 'ahead');
      route({ notify: holdingNotify(world, 'awaiting-decision', notice) });
      const train = await startTrain(service, policy({ hasE2E: false }), 1_000);
      try {
        await acceptWhileHeld(notice, 'the production hold notice', () =>
          train.startUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'the hotfix is in this train too', overrideBackwards: true }], waitForStage: 'ACCEPTED' }),
        );
        const status = await until(train, (s) => s.stage === 'released', 'released over the held version', ACTS_WITHIN_MS);
        expect(status.versions.production).toBe(`${service}/v2024.10.02.1`);
      } finally {
        await terminate(train);
      }
    });
  });

  it('environmentLedger: an unfreeze accepted while the freeze pauses the cut schedule is told and unpauses it', async () => {
    await withService('ledger', async ({ service, route }) => {
      const pausing = held();
      const pauses: boolean[] = [];
      route({
        async pauseCutSchedule(req: { frozen: boolean }) {
          pauses.push(req.frozen);
          // The ledger unpauses once when it starts; the pause for the freeze is the one held.
          if (req.frozen) await pausing.hold();
        },
      });
      const ledger = await env.client.workflow.start('environmentLedger', { workflowId: ledgerId(service, 'production'), taskQueue: TASK_QUEUE, args: [{ service, environment: 'production', config: {} }] });
      await ledger.executeUpdate(freezeUpdate, { args: [{ by: 'rm', reason: 'board demo' }] });
      await acceptWhileHeld(pausing, 'the pause of the cut schedule', () => ledger.executeUpdate(unfreezeUpdate, { args: [{ by: 'rm', reason: 'demo over' }] }));
      await pollUntil('the ledger to unpause the cut schedule after the freeze', () => pauses.includes(true) && pauses.lastIndexOf(false) > pauses.indexOf(true), { timeoutMs: ACTS_WITHIN_MS });
      expect(pauses.filter((frozen) => frozen)).toHaveLength(1);
      expect((await ledger.query(ledgerQuery)).frozen.frozen).toBe(false);
    });
  });

  it('stageFollower: a retry accepted while the notice of a failed retried deploy goes out deploys again', async () => {
    await withService('follow', async ({ service, world, route }) => {
      const notice = held();
      const commit = 'f'.repeat(40);
      let attempts = 0;
      world.onDeploy = async () => {
        attempts++;
        if (attempts === 1) throw ApplicationFailure.nonRetryable('database unreachable', 'DEPLOY_FAILED');
      };
      const follow: StagePolicy = { service, branch: 'main', requireGreen: true, lookback: 20, quietSeconds: 0, pollMinutes: 60, pendingPollSeconds: 60, smoke: false };
      const stage: StageActivities = {
        stagePolicy: async () => follow,
        lookAtBranch: async () => ({ head: commit, headState: 'success', candidate: commit }),
        // Staging's ledger records a failed deploy of the candidate: the follower does not try it by itself.
        latestStagingDeployment: async () => ({ commit, outcome: 'failed', at: Date.now() }),
      };
      route({ ...stage, notify: holdingNotify(world, 'failed', notice) });
      const follower = await env.client.workflow.start(STAGE_WORKFLOW, { workflowId: stageFollowerId(service), taskQueue: TASK_QUEUE, args: [{ service }], workflowTaskTimeout: TASK_TIMEOUT });
      const status = (done: (s: StageStatus) => boolean, what: string, timeoutMs?: number) =>
        queryUntil(follower, stageStatusQuery, done, `the follower to be ${what}`, timeoutMs ? { timeoutMs } : {});
      try {
        await status((s) => s.waitsFor.startsWith('a push to main'), 'waiting after its first look');
        await follower.executeUpdate(stageRetryUpdate, { args: [{ by: 'rm', reason: 'the database is back' }] });
        // The retried deploy fails too; the operator retries again while its failure is told.
        await acceptWhileHeld(notice, 'the notice of the failed retry', () =>
          follower.startUpdate(stageRetryUpdate, { args: [{ by: 'rm', reason: 'really back now' }], waitForStage: 'ACCEPTED' }),
        );
        const done = await status((s) => s.last?.outcome === 'verified', 'verified after the second retry', ACTS_WITHIN_MS);
        expect(done.last?.commit).toBe(commit);
        expect(attempts).toBe(2);
      } finally {
        await terminate(follower);
      }
    });
  });

  /** A flag with one environment and its fakes; `notify` may hold a notification. */
  async function withFlag(
    activities: (notes: FlagNotification[]) => Partial<FlagActivities>,
    body: (handle: WorkflowHandle) => Promise<void>,
  ): Promise<void> {
    const flag = `flag_${++counter}`;
    const plan: FlagPlan = { flag, maintainers: ['jacob'], operators: ['oncall'], environments: [{ name: 'dev', threshold: 0.05, soakMinutes: 30 }], links: {} };
    const notes: FlagNotification[] = [];
    const fakes: FlagActivities = {
      flagPlan: async () => plan,
      setFlag: async () => ({ summary: 'ok' }),
      measureHealth: async (): Promise<SoakReading> => ({ samples: [0.01], failures: 0 }),
      openCleanupRequest: async () => ({ url: 'https://forge.example/mr/7', number: 7, created: true }),
      notifyFlag: async (note) => void notes.push(note),
      ...activities(notes),
    };
    const unroute = worker.route(flag, fakes);
    const handle = await env.client.workflow.start('flagRollout', { workflowId: `flag/${flag}`, taskQueue: TASK_QUEUE, args: [{ flag, startedBy: 'dana' }] });
    try {
      await body(handle);
    } finally {
      await terminate(handle);
      unroute();
    }
  }

  const dev = (s: FlagState) => s.environments[0]!;

  it('flagRollout reconcile: an advance accepted while the "blocked" notice goes out sets the flag again before the soak', async () => {
    const notice = held();
    let on = false;
    let failures = 0;
    const soakedWithFlagOn: boolean[] = [];
    await withFlag(
      (notes) => ({
        async setFlag({ enabled }) {
          if (enabled && failures++ === 0) throw ApplicationFailure.nonRetryable('flag service unavailable', 'FLAG_DRIVER_FAILED');
          on = enabled;
          return { summary: 'ok' };
        },
        async measureHealth({ mode }): Promise<SoakReading> {
          if (mode === 'soak') soakedWithFlagOn.push(on);
          return { samples: [0.01], failures: 0 };
        },
        async notifyFlag(note) {
          notes.push(note);
          if (note.event === 'blocked') await notice.hold();
        },
      }),
      async (handle) => {
        await acceptWhileHeld(notice, 'the "blocked" notice', () => handle.executeUpdate(advanceFlagUpdate, { args: [{ by: 'oncall', reason: 'flag service is back' }] }));
        const state = await queryUntil(handle, flagStatusQuery, (s) => dev(s).result === 'passed', 'the flag to be tested in dev after the retry', { timeoutMs: ACTS_WITHIN_MS });
        expect(state.blocked).toBeUndefined();
        // The retry set the flag, so the soak measured dev with the flag on.
        expect(soakedWithFlagOn).toEqual([true]);
      },
    );
  });

  it('flagRollout status notice: an abort accepted while the new status is told turns the flag off', async () => {
    const notice = held();
    const sets: string[] = [];
    await withFlag(
      (notes) => ({
        async setFlag({ environment, enabled }) {
          sets.push(`${environment}:${enabled ? 'on' : 'off'}`);
          return { summary: 'ok' };
        },
        async notifyFlag(note) {
          notes.push(note);
          if (note.event === 'status') await notice.hold();
        },
      }),
      async (handle) => {
        await queryUntil(handle, flagStatusQuery, (s) => dev(s).result === 'passed', 'dev to pass acceptance testing');
        const links = { dashboard: 'https://grafana.example/d/x', alerts: 'https://alerts.example/x', runbook: 'https://runbooks.example/x' };
        await handle.executeUpdate(approveFlagUpdate, { args: [{ by: 'jacob', reason: 'tested', ...links }] });
        // Opt-in turns the flag on in dev and tells the new status; the abort lands meanwhile.
        await acceptWhileHeld(notice, 'the "now opt-in" notice', () => handle.executeUpdate(abortFlagUpdate, { args: [{ by: 'oncall', reason: 'errors in production' }] }));
        const state = await queryUntil(handle, flagStatusQuery, (s) => s.ended === 'aborted' && !dev(s).enabled, 'the flag to be off in dev after the abort', { timeoutMs: ACTS_WITHIN_MS });
        expect(state.environments.map((e) => e.enabled)).toEqual([false]);
        expect(sets).toEqual(['dev:on', 'dev:off', 'dev:on', 'dev:off']);
      },
    );
  });

  it('flagRollout soak: an advance accepted while the "rolled back" notice of a breach goes out tests again', async () => {
    const notice = held();
    let soaks = 0;
    await withFlag(
      (notes) => ({
        async measureHealth({ mode }): Promise<SoakReading> {
          if (mode === 'baseline') return { samples: [0.01], failures: 0 };
          return { samples: [0.01, ++soaks === 1 ? 0.5 : 0.01], failures: 0 };
        },
        async notifyFlag(note) {
          notes.push(note);
          if (note.event === 'rolled-back') await notice.hold();
        },
      }),
      async (handle) => {
        await acceptWhileHeld(notice, 'the "rolled back" notice', () => handle.executeUpdate(advanceFlagUpdate, { args: [{ by: 'oncall', reason: 'the spike was a deploy elsewhere' }] }));
        const state = await queryUntil(handle, flagStatusQuery, (s) => dev(s).result === 'passed', 'dev to pass its second soak', { timeoutMs: ACTS_WITHIN_MS });
        expect(dev(state).tests).toBe(2);
        expect(state.held).toBeUndefined();
      },
    );
  });

  it('preRelease holdGate: a deploy accepted while the labels are read again deploys', async () => {
    await withService('pre', async ({ service, world, route }) => {
      const reading = held();
      const pr = (number: number, labels: string[]): PullRequestView => ({ number, title: `Change ${number}`, url: `https://github.test/o/r/pull/${number}`, author: 'dev', labels });
      const prs = [pr(1, ['qa-approved']), pr(2, [])];
      const operators = [{ name: 'alice', rights: ['promote' as const] }];
      const prPolicy: PreReleasePolicy = {
        service, tagFormat: '{yyyy}.{MM}.{dd}', approvalLabel: 'qa-approved', envVarLabel: 'needs-env-var', sres: ['sam'],
        recheckMinutes: 1 / 60, expireHours: 168, timeZone: 'UTC', operators, smoke: true,
      };
      const forge: PreReleaseActivities = {
        preReleasePolicy: async () => prPolicy,
        listPreReleaseTags: async () => [],
        mergedPullRequests: async () => ({ prs, truncated: false }),
        async readPullRequests() {
          await reading.hold();
          return prs;
        },
        publishPreRelease: async ({ tag }) => ({ url: `https://github.test/o/r/releases/tag/${tag}` }),
        restoreLatest: async () => ({ restored: true }),
      };
      route(forge, policy({ service, operators }));
      const input: PreReleaseInput = { service, tag: '2024.09.02', commit: 'c0ffee0000000000000000000000000000000001', prs, truncated: false, policy: prPolicy, startedBy: 'schedule' };
      const handle = await env.client.workflow.start('preRelease', { workflowId: `prerelease/${service}/2024.09.02`, taskQueue: TASK_QUEUE, args: [input] });
      try {
        // While the gate's poll reads the labels, a waiver opens the gate and the deploy is accepted.
        await acceptWhileHeld(reading, 'the poll of the labels', async () => {
          await handle.executeUpdate(waiveUpdate, { args: [{ by: 'alice', reason: 'tested by hand', pr: 2 }] });
          await handle.executeUpdate(deployUpdate, { args: [{ by: 'alice', reason: 'ship it' }] });
        });
        const done: PreReleaseStatus = await queryUntil(handle, preReleaseStatusQuery, (s) => s.stage === 'released', 'the pre-release to be released', { timeoutMs: ACTS_WITHIN_MS });
        expect(done.versions.production).toBe('2024.09.02');
        expect(world.deploys.map((d) => d.environment)).toEqual(['production']);
      } finally {
        await terminate(handle);
      }
    });
  });

  it('previewEnvironment: a push heard while the "preview is ready" comment goes out is deployed', async () => {
    await withService('web', async ({ service, route }) => {
      const commenting = held();
      const updates: string[] = [];
      const cloud: PreviewActivities = {
        createPreview: async ({ name }) => ({ url: `https://${name}.preview.example` }),
        updatePreview: async ({ sha }) => void updates.push(sha),
        destroyPreview: async () => undefined,
        commentOnPullRequest: () => commenting.hold(),
      };
      route(cloud);
      const workflowId = previewWorkflowId(service, 7);
      const start: PreviewStart = { service, pr: 7, quietSeconds: 1, ttlHours: 24 };
      const send = (kind: 'opened' | 'pushed', sha: string) =>
        env.client.workflow.signalWithStart(PREVIEW_WORKFLOW, { workflowId, taskQueue: TASK_QUEUE, args: [start], signal: previewEventSignal, signalArgs: [{ service, pr: 7, kind, sha }] });
      const a = '1'.repeat(40);
      const b = '2'.repeat(40);
      const handle = await send('opened', a);
      try {
        await acceptWhileHeld(commenting, 'the "preview is ready" comment', async () => {
          await send('pushed', b);
          await queryUntil(handle, previewStatusQuery, (s) => s.shaWanted === b, 'the preview to hear the push');
        });
        const status = await queryUntil(handle, previewStatusQuery, (s) => s.shaDeployed === b, 'the push to be deployed', { timeoutMs: ACTS_WITHIN_MS });
        expect(status.deploys).toBe(2);
        expect(updates).toEqual([b]);
      } finally {
        await terminate(handle);
      }
    });
  });

  /** A version bump on a worker of its own (its workflow id names no service the routed worker knows). */
  async function withBump(setup: (world: BumpWorld) => void, notice: Held, event: BumpNote['event'], body: (handle: WorkflowHandle, world: BumpWorld) => Promise<void>): Promise<void> {
    const world = new BumpWorld('GITALY_SERVER_VERSION', 'a000000000000000000000000000000000000old', () => env.currentTimeMs());
    setup(world);
    const second = 1 / 60;
    const plan: BumpPlan = {
      component: 'gitaly', consumer: `gitlab${++counter}`, versionFile: 'GITALY_SERVER_VERSION', branch: 'trainyard/bump-gitaly', title: 'Update Gitaly version',
      labels: ['group::gitaly'], blockedLabel: 'trainyard::blocked', staleLabel: 'trainyard::stale', lookback: 20, commitLimit: 10,
      compareUrl: 'https://gitlab.example/gitaly/-/compare/{from}...{to}', pollMinutes: second, masterPollMinutes: 60, greenCheckMinutes: 60, staleHours: 24,
      operators: ['alice'],
    };
    const activities = createVersionBumpActivities({
      forgeFor: (n) => (n === plan.component ? world.component() : world.consumer()),
      notify: async (note) => {
        world.notes.push(note);
        if (note.event === event) await notice.hold();
      },
    });
    const taskQueue = `${TASK_QUEUE}-bump-${counter}`;
    const bumpWorker = await bundleWorker(env, taskQueue, activities);
    const workflowId = bumpId(plan.component, plan.consumer);
    try {
      await bumpWorker.runUntil(async () => {
        const handle = await env.client.workflow.start('versionBump', { taskQueue, workflowId, args: [{ plan, startedBy: 'test' }], workflowTaskTimeout: TASK_TIMEOUT });
        await body(handle, world);
      });
    } finally {
      await terminate(env.client.workflow.getHandle(workflowId));
    }
  }

  const merged = (handle: WorkflowHandle): Promise<BumpStatus> => queryUntil(handle, bumpStatusQuery, (s) => s.stage === 'merged', 'the bump to be merged', { timeoutMs: ACTS_WITHIN_MS });

  it('versionBump block: a resolved accepted while the team is told of the regression retries the pipeline', async () => {
    const notice = held();
    await withBump(
      (w) => {
        w.addComponentCommit('feat: breaks rspec', true);
        w.pipelineOutcomes = ['failed', 'failed'];
      },
      notice,
      'blocked',
      async (handle, world) => {
        await acceptWhileHeld(notice, 'the "blocked" notice', () => handle.startUpdate(resolvedUpdate, { args: [{ by: 'alice', reason: 'reverted gitaly!99' }], waitForStage: 'ACCEPTED' }));
        const done = await merged(handle);
        expect(done.resolutions).toEqual([expect.objectContaining({ by: 'alice' })]);
        expect(world.pipelines).toHaveLength(3);
      },
    );
  });

  it('versionBump awaitMaster: a resolved accepted while the "master broken" notice goes out recreates the request', async () => {
    const notice = held();
    await withBump(
      (w) => {
        w.addComponentCommit('feat: x', true);
        w.pipelineOutcomes = ['failed', 'failed'];
        w.masterStates = ['failure'];
      },
      notice,
      'master-broken',
      async (handle, world) => {
        await acceptWhileHeld(notice, 'the "master broken" notice', () => handle.startUpdate(resolvedUpdate, { args: [{ by: 'alice', reason: 'master fixed by hand' }], waitForStage: 'ACCEPTED' }));
        await merged(handle);
        expect(world.requests.map((r) => r.state)).toEqual(['closed', 'merged']);
      },
    );
  });
});
