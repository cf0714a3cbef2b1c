/**
 * The feature-flag rollout on the time-skipping server with in-memory activities: soaks, release
 * boundaries weeks apart and operator actions, each test one path.
 */
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryUntil } from '../helpers/poll.js';
import type { FlagActivities, FlagNotification, SetFlagRequest } from '../../activities/flag-rollout.js';
import type { FlagPlan, FlagState, SoakReading } from '../../domain/flag-rollout.js';
import { abortFlagUpdate, advanceFlagUpdate, approveFlagUpdate, flagStatusQuery, pauseFlagUpdate, resumeFlagUpdate, rollbackStageFlagUpdate } from '../../workflows/flag-messages.js';
import { recordHistory } from '../helpers/histories.js';
import { bundleWorker, timeSkippingEnv } from '../helpers/temporal.js';

const DAY = 86_400_000;
let env: TestWorkflowEnvironment;
let counter = 0;

beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

interface World {
  sets: string[];
  notes: FlagNotification[];
  cleanups: number;
  /** The error rate each soak in an environment reports (default 0.01). */
  soakRate: (environment: string) => number;
}

function plan(flag: string, overrides: Partial<FlagPlan> = {}): FlagPlan {
  return {
    flag,
    maintainers: ['jacob'],
    operators: ['oncall'],
    environments: ['dev', 'staging', 'production'].map((name) => ({ name, threshold: 0.05, soakMinutes: 30 })),
    links: { dashboard: 'https://grafana.example/d/gitaly' },
    ...overrides,
  };
}

function activities(world: World, flagPlan: FlagPlan): FlagActivities {
  return {
    async flagPlan() {
      return flagPlan;
    },
    async setFlag(req: SetFlagRequest) {
      world.sets.push(`${req.environment}:${req.enabled ? 'on' : 'off'}`);
      return { summary: 'ok' };
    },
    async measureHealth({ environment, mode }): Promise<SoakReading> {
      return { samples: mode === 'baseline' ? [0.01] : [0.01, world.soakRate(environment)], failures: 0 };
    },
    async openCleanupRequest() {
      world.cleanups += 1;
      return { url: 'https://forge.example/mr/7', number: 7, created: true };
    },
    async notifyFlag(note) {
      world.notes.push(note);
    },
  };
}

async function withFlag(flagPlan: (flag: string) => FlagPlan, setup: Partial<World>, body: (h: WorkflowHandleWithFirstExecutionRunId, world: World) => Promise<void>, maxHistoryEvents?: number): Promise<void> {
  const flag = `flag_${++counter}`;
  const world: World = { sets: [], notes: [], cleanups: 0, soakRate: () => 0.01, ...setup };
  const taskQueue = `flag-test-${counter}`;
  const worker = await bundleWorker(env, taskQueue, activities(world, flagPlan(flag)));
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('flagRollout', {
      workflowId: `flag/${flag}`,
      taskQueue,
      args: [{ flag, startedBy: 'dana', ...(maxHistoryEvents ? { maxHistoryEvents } : {}) }],
    });
    try {
      await body(handle, world);
      await recordHistory(expect.getState().currentTestName ?? flag, handle);
    } finally {
      // Terminated only while it waits: an activity cut off by the terminate would hold the
      // time-skipping server's clock for the next test.
      await until(handle, (s) => s.waitingFor !== undefined || s.ended !== undefined).catch(() => undefined);
      await handle.terminate('test over').catch(() => undefined);
    }
  });
}

/** Polls the status query until `ok` (time-skipping waits only while the client awaits a result). */
function until(handle: WorkflowHandle, ok: (s: FlagState) => boolean): Promise<FlagState> {
  // A query that reaches a run as it continues-as-new is never answered by the Java test server:
  // each gets 2 s before it is asked again.
  return queryUntil(handle, flagStatusQuery, ok, `${handle.workflowId} to reach the expected status`, { attemptMs: 2_000 });
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return err.cause?.message ?? err.message;
    throw err;
  }
  throw new Error('expected the update to be rejected');
}

const allPassed = (s: FlagState) => s.environments.length === 3 && s.environments.every((e) => e.result === 'passed');
const links = { alerts: 'https://runbooks.example/alerts/gitaly.rules', runbook: 'https://runbooks.example/gitaly-error-rate.md' };

describe('flagRollout', () => {
  it('a soak breach in staging rolls the flag back there and waits; advance tests it again', async () => {
    let stagingRate = 0.2;
    await withFlag(plan, { soakRate: (e) => (e === 'staging' ? stagingRate : 0.01) }, async (handle, world) => {
      const held = await until(handle, (s) => s.held !== undefined && s.waitingFor !== undefined && s.environments.length > 0 && s.environments.every((e) => !e.enabled));
      const staging = held.environments[1]!;
      expect(staging).toMatchObject({ result: 'failed', enabled: false, before: 0.01, after: 0.2, by: 'dana' });
      expect(held.environments[0]).toMatchObject({ result: 'passed', enabled: false, after: 0.01 });
      expect(held.environments[2]!.result).toBe('pending');
      expect(world.sets).toEqual(['dev:on', 'dev:off', 'staging:on', 'staging:off']);
      expect(held.waitingFor).toContain('advance or abort (acceptance test in staging failed: error rate 0.2 exceeded the threshold 0.05');
      expect(world.notes.map((n) => n.event)).toContain('rolled-back');

      stagingRate = 0.02;
      await handle.executeUpdate(advanceFlagUpdate, { args: [{ by: 'oncall', reason: 'fix deployed' }] });
      const passed = await until(handle, (s) => allPassed(s) && s.waitingFor !== undefined);
      expect(passed.environments[1]).toMatchObject({ result: 'passed', tests: 2, by: 'oncall', after: 0.02 });
      expect(passed.waitingFor).toBe("a maintainer's approve for Opt-in; approve must record the alerts, runbook links");
    });
  });

  it('rejects approval by a non-maintainer and without the links, before it reaches history', async () => {
    await withFlag(plan, {}, async (handle) => {
      await until(handle, allPassed);
      expect(await rejection(handle.executeUpdate(approveFlagUpdate, { args: [{ by: 'oncall', reason: 'looks fine', ...links }] }))).toContain('"oncall" is not a maintainer of flag');
      expect(await rejection(handle.executeUpdate(approveFlagUpdate, { args: [{ by: 'jacob', reason: 'looks fine', runbook: links.runbook }] }))).toContain('the alerts link is not recorded');
      expect(await rejection(handle.executeUpdate(approveFlagUpdate, { args: [{ by: 'jacob', reason: '' }] }))).toContain('a reason is required');
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);
      const approved = await handle.executeUpdate(approveFlagUpdate, { args: [{ by: 'jacob', reason: 'evidence reviewed', ...links }] });
      expect(approved.status).toBe('opt-in');
      expect(approved.links).toEqual({ dashboard: 'https://grafana.example/d/gitaly', ...links });
    });
  });

  it('full lifecycle: tested, approved, Opt-out and Mandatory at their release dates, clean-up merge request', async () => {
    const start = await env.currentTimeMs();
    const dated = (flag: string) => plan(flag, { optOutAt: start + 30 * DAY, mandatoryAt: start + 60 * DAY });
    await withFlag(dated, {}, async (handle, world) => {
      await until(handle, allPassed);
      await handle.executeUpdate(approveFlagUpdate, { args: [{ by: 'jacob', reason: 'evidence reviewed', ...links }] });
      const result: FlagState = await handle.result();
      expect(result.ended).toBe('done');
      expect(result.transitions.map((t) => `${t.from}>${t.to}:${t.by}`)).toEqual(['ready-for-testing>opt-in:jacob', 'opt-in>opt-out:schedule', 'opt-out>mandatory:schedule']);
      expect(result.transitions[1]!.at).toBeGreaterThanOrEqual(start + 30 * DAY);
      expect(result.transitions[2]!.at).toBeGreaterThanOrEqual(start + 60 * DAY);
      expect(result.cleanup).toEqual({ url: 'https://forge.example/mr/7', number: 7 });
      expect(world.cleanups).toBe(1);
      // Tested one by one (on, then off again), then on everywhere from Opt-in.
      expect(world.sets).toEqual(['dev:on', 'dev:off', 'staging:on', 'staging:off', 'production:on', 'production:off', 'dev:on', 'staging:on', 'production:on']);
      expect(world.notes.at(-1)?.text).toContain('clean-up merge request: https://forge.example/mr/7');
    });
  });

  it('pause holds a release boundary until resume; rollbackStage goes back and holds; abort turns the flag off', async () => {
    const start = await env.currentTimeMs();
    await withFlag((flag) => plan(flag, { optOutAt: start + 10 * DAY }), {}, async (handle, world) => {
      await until(handle, allPassed);
      await handle.executeUpdate(approveFlagUpdate, { args: [{ by: 'jacob', reason: 'ok', ...links }] });
      await handle.executeUpdate(pauseFlagUpdate, { args: [{ by: 'oncall', reason: 'incident 42' }] });
      expect(await rejection(handle.executeUpdate(pauseFlagUpdate, { args: [{ by: 'oncall', reason: 'again' }] }))).toContain('already paused');
      await env.sleep(12 * DAY);
      const paused = await handle.query(flagStatusQuery);
      expect(paused.status).toBe('opt-in');
      expect(paused.waitingFor).toBe('resume (paused by oncall: incident 42)');
      await handle.executeUpdate(resumeFlagUpdate, { args: [{ by: 'oncall', reason: 'resolved' }] });
      await until(handle, (s) => s.status === 'opt-out');

      expect(await rejection(handle.executeUpdate(rollbackStageFlagUpdate, { args: [{ by: 'mallory', reason: 'x' }] }))).toContain('neither a maintainer nor an operator');
      const back = await handle.executeUpdate(rollbackStageFlagUpdate, { args: [{ by: 'oncall', reason: 'self-managed reports' }] });
      expect(back.status).toBe('opt-in');
      const held = await until(handle, (s) => s.waitingFor?.startsWith('advance or abort (rolled back to opt-in') === true);
      expect(held.status).toBe('opt-in');
      const toTesting = await handle.executeUpdate(rollbackStageFlagUpdate, { args: [{ by: 'jacob', reason: 'back to testing' }] });
      expect(toTesting.status).toBe('ready-for-testing');
      const off = await until(handle, (s) => s.environments.length > 0 && s.environments.every((e) => !e.enabled));
      expect(off.environments.map((e) => e.result)).toEqual(['pending', 'pending', 'pending']);
      expect(world.sets.slice(-3)).toEqual(['dev:off', 'staging:off', 'production:off']);

      await handle.executeUpdate(abortFlagUpdate, { args: [{ by: 'jacob', reason: 'feature dropped' }] });
      const result: FlagState = await handle.result();
      expect(result.ended).toBe('aborted');
      expect(result.actions.map((a) => a.kind)).toEqual(['start', 'approve', 'pause', 'resume', 'rollbackStage', 'rollbackStage', 'abort']);
    });
  });

  // Last: a query left hanging at the continue-as-new (see `until`) stops the test server's clock.
  it('continues as new when its history grows, and keeps its state', async () => {
    await withFlag(plan, {}, async (handle) => {
      const passed = await until(handle, allPassed);
      const approved = await handle.executeUpdate(approveFlagUpdate, { args: [{ by: 'jacob', reason: 'ok', ...links }] });
      expect(approved.status).toBe('opt-in');
      await handle.executeUpdate(advanceFlagUpdate, { args: [{ by: 'oncall', reason: 'next release' }] });
      // Opt-in enables the flag environment by environment; under load the query may come before the last.
      const later = await until(handle, (s) => s.runs >= 2 && s.status === 'opt-out' && s.environments.length > 0 && s.environments.every((e) => e.enabled));
      expect(later.environments).toEqual(passed.environments.map((e) => ({ ...e, enabled: true })));
      expect(later.approval?.by).toBe('jacob');
      expect(later.actions.map((a) => a.kind)).toEqual(['start', 'approve', 'advance']);
      const first = await env.client.workflow.getHandle(handle.workflowId).describe();
      expect(first.runId).not.toBe(handle.firstExecutionRunId);
    }, 40);
  });
});
