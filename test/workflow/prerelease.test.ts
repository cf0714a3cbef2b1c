/**
 * Daily pre-releases on the time-skipping server with in-memory forge activities and the real
 * environment ledger: the QA gate, waivers, SRE acknowledgements, the 1-click deploy, the poll of
 * labels with durable timers (and continue-as-new), the skip, and the rollback.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryUntil } from '../helpers/poll.js';
import { translated } from '../../activities/index.js';
import type { PreReleaseActivities } from '../../activities/prerelease.js';
import { ledgerId } from '../../domain/ids.js';
import type { PreReleasePolicy, PreReleaseStatus, PullRequestView } from '../../domain/prerelease.js';
import { ENVIRONMENTS } from '../../domain/train.js';
import type { PreReleaseCutResult, PreReleaseInput } from '../../workflows/preRelease.js';
import { acknowledgeEnvUpdate, deployUpdate, preReleaseStatusQuery, recheckUpdate, waiveUpdate } from '../../workflows/prerelease-messages.js';
import { fakeActivities, fakeWorld, policy, type FakeWorld } from '../helpers/fake-activities.js';
import { recordHistory } from '../helpers/histories.js';
import { bundleWorker, timeSkippingEnv } from '../helpers/temporal.js';
import { rejection } from '../helpers/train-harness.js';

let env: TestWorkflowEnvironment;
let counter = 0;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

interface ForgeWorld {
  prs: Map<number, PullRequestView>;
  merged: number[];
  tags: string[];
  published: { tag: string; prerelease: boolean; latest: boolean; notes: string }[];
  reads: number;
}

const PR = (number: number, labels: string[] = []): PullRequestView => ({ number, title: `Change ${number}`, url: `https://github.test/o/r/pull/${number}`, author: 'dev', labels });

function prPolicy(service: string, overrides: Partial<PreReleasePolicy> = {}): PreReleasePolicy {
  return {
    service,
    tagFormat: '{yyyy}.{MM}.{dd}',
    approvalLabel: 'qa-approved',
    envVarLabel: 'needs-env-var',
    sres: ['sam'],
    recheckMinutes: 10,
    expireHours: 168,
    timeZone: 'UTC',
    operators: [
      { name: 'alice', rights: ['promote'] },
      { name: 'bob', rights: ['abort'] },
      { name: 'sam', rights: ['abort'] },
    ],
    smoke: true,
    ...overrides,
  };
}

function forgeActivities(fw: ForgeWorld, p: PreReleasePolicy): PreReleaseActivities {
  return translated<PreReleaseActivities>({
    preReleasePolicy: async () => p,
    listPreReleaseTags: async () => fw.tags,
    mergedPullRequests: async () => ({ prs: fw.merged.map((n) => fw.prs.get(n)!), truncated: false }),
    async readPullRequests({ numbers }) {
      fw.reads++;
      return numbers.map((n) => fw.prs.get(n)!);
    },
    async publishPreRelease({ tag, prerelease, latest, notes }) {
      fw.published.push({ tag, prerelease, latest, notes });
      return { url: `https://github.test/o/r/releases/tag/${tag}` };
    },
    restoreLatest: async () => ({ restored: true }),
  });
}

interface Run {
  world: FakeWorld;
  fw: ForgeWorld;
  service: string;
  taskQueue: string;
  start: (extra?: Partial<PreReleaseInput>) => Promise<WorkflowHandle>;
}

async function withPreRelease(setup: (world: FakeWorld, fw: ForgeWorld) => void, body: (run: Run) => Promise<void>, overrides: Partial<PreReleasePolicy> = {}): Promise<void> {
  const world = fakeWorld();
  const fw: ForgeWorld = { prs: new Map([1, 2, 3].map((n) => [n, PR(n)])), merged: [1, 2, 3], tags: [], published: [], reads: 0 };
  fw.prs.set(1, PR(1, ['qa-approved']));
  fw.prs.set(3, PR(3, ['needs-env-var', 'qa-approved']));
  setup(world, fw);
  const taskQueue = `prerelease-test-${++counter}`;
  const service = `monitor${counter}`;
  const p = prPolicy(service, overrides);
  const activities = { ...fakeActivities(world, policy({ service, operators: p.operators! }), env.client, taskQueue), ...forgeActivities(fw, p) };
  const worker = await bundleWorker(env, taskQueue, activities);
  const handles: WorkflowHandle[] = [];
  const start = async (extra: Partial<PreReleaseInput> = {}) => {
    const input: PreReleaseInput = { service, tag: '2024.09.02', commit: 'c0ffee0000000000000000000000000000000001', previousTag: '2024.09.01', prs: fw.merged.map((n) => fw.prs.get(n)!), truncated: false, policy: p, startedBy: 'schedule', ...extra };
    const handle = await env.client.workflow.start('preRelease', { workflowId: `prerelease/${service}/2024.09.02`, taskQueue, args: [input] });
    handles.push(handle);
    return handle;
  };
  try {
    await worker.runUntil(body({ world, fw, service, taskQueue, start }));
  } finally {
    const ledgers = ENVIRONMENTS.map((e) => env.client.workflow.getHandle(ledgerId(service, e)));
    await Promise.all([...handles, ...ledgers].map((h) => h.terminate('test finished').catch(() => undefined)));
  }
}

function until(handle: WorkflowHandle, done: (s: PreReleaseStatus) => boolean, what: string): Promise<PreReleaseStatus> {
  // The Java test server never answers a query that lands while a run continues as new: 2 s, then again.
  return queryUntil(handle, preReleaseStatusQuery, done, `${handle.workflowId} to be ${what}`, { attemptMs: 2_000, timeoutMs: 20_000, show: (s) => `${s.stage} (${s.waitingFor ?? ''})` });
}

const name = () => expect.getState().currentTestName ?? 'prerelease';

describe('preRelease', () => {
  it('QA gate blocks until a waiver and an SRE acknowledgement, then the 1-click deploy releases it', async () => {
    await withPreRelease(() => undefined, async ({ world, fw, start }) => {
      const handle = await start();
      let s = await until(handle, (x) => x.stage === 'awaiting-qa', 'awaiting-qa');
      expect(world.tags.get('2024.09.02')).toBe('c0ffee0000000000000000000000000000000001');
      expect(fw.published[0]).toMatchObject({ tag: '2024.09.02', prerelease: true, latest: false });
      expect(fw.published[0]?.notes).toContain('- [ ] #2 Change 2');
      expect(s.waitingFor).toContain('#2');
      expect(s.prs.map((p) => [p.number, p.approved, p.needsEnvVar])).toEqual([[1, true, false], [2, false, false], [3, true, true]]);

      expect(await rejection(handle.executeUpdate(deployUpdate, { args: [{ by: 'alice', reason: 'ship it' }] }))).toContain('QA gate of 2024.09.02 is closed');
      expect(await rejection(handle.executeUpdate(waiveUpdate, { args: [{ by: 'bob', reason: 'copy only', pr: 2 }] }))).toContain('"promote" right');
      expect(await rejection(handle.executeUpdate(waiveUpdate, { args: [{ by: 'alice', reason: '', pr: 2 }] }))).toContain('reason is required');
      expect(await rejection(handle.executeUpdate(waiveUpdate, { args: [{ by: 'alice', reason: 'copy only', pr: 7 }] }))).toContain('#7 is not in pre-release');
      s = await handle.executeUpdate(waiveUpdate, { args: [{ by: 'alice', reason: 'copy only', pr: '2' }] });
      expect(s.prs[1]?.waived).toMatchObject({ by: 'alice', reason: 'copy only' });

      // The env var gate: an operator who is not an SRE cannot acknowledge it.
      expect(await rejection(handle.executeUpdate(acknowledgeEnvUpdate, { args: [{ by: 'alice', reason: 'done', pr: 3 }] }))).toContain('"alice" is not an SRE');
      expect(await rejection(handle.executeUpdate(deployUpdate, { args: [{ by: 'alice', reason: 'ship it' }] }))).toContain("SRE's acknowledgement of env var changes in #3");
      await handle.executeUpdate(acknowledgeEnvUpdate, { args: [{ by: 'sam', reason: 'FOO_URL set in prod (SRE-123)', pr: 3 }] });
      s = await until(handle, (x) => x.stage === 'ready', 'ready');

      expect(await rejection(handle.executeUpdate(deployUpdate, { args: [{ by: 'bob', reason: 'ship it' }] }))).toContain('"promote" right');
      await handle.executeUpdate(deployUpdate, { args: [{ by: 'alice', reason: 'QA done, ship it' }] });
      const result: PreReleaseStatus = await handle.result();
      expect(result.stage).toBe('released');
      expect(fw.published.at(-1)).toMatchObject({ tag: '2024.09.02', prerelease: false, latest: true });
      expect(world.deploys.map((d) => `${d.environment}:${d.tag}`)).toEqual(['production:2024.09.02']);
      expect(world.checks.map((c) => `${c.check}:${c.environment}`)).toEqual(['smoke:production']);
      expect(result.actions.map((a) => `${a.kind}:${a.by}`)).toEqual(['waive:alice', 'acknowledgeEnv:sam', 'deploy:alice']);
      expect(world.notifications.map((n) => n.event)).toEqual(['cut', 'operator-action', 'operator-action', 'promoted', 'deployed', 'released']);
      await recordHistory(name(), handle);
    });
  });

  it('re-reads labels on durable timers (continuing as new on the way) and on recheck', async () => {
    await withPreRelease(
      (_w, fw) => {
        fw.merged = [1, 2];
      },
      async ({ fw, start }) => {
        const handle = await start({ historyLimit: 40 });
        const first = (await handle.describe()).runId;
        await until(handle, (x) => x.stage === 'awaiting-qa', 'awaiting-qa');
        // Six hours of polls every 10 minutes: the history passes the limit and continues as new.
        await env.sleep(6 * 3_600_000);
        await until(handle, () => fw.reads >= 30, '30 polls');
        expect((await handle.describe()).runId).not.toBe(first);
        let s = await handle.query(preReleaseStatusQuery);
        expect(s.stage).toBe('awaiting-qa');
        // QA labels #2; the next poll sees it.
        fw.prs.set(2, PR(2, ['qa-approved']));
        await env.sleep(11 * 60_000);
        s = await until(handle, (x) => x.stage === 'ready', 'ready after a poll');
        expect(s.prs.every((p) => p.approved)).toBe(true);
        // A label removed closes the gate again; recheck sees it at once.
        fw.prs.set(2, PR(2));
        s = await handle.executeUpdate(recheckUpdate, { args: [{ by: 'alice' }] });
        expect(s.prs[1]?.approved).toBe(false);
        await until(handle, (x) => x.stage === 'awaiting-qa', 'awaiting-qa after recheck');
      },
    );
  });

  it('a failed sanity check in production rolls back to the previous version', async () => {
    await withPreRelease(
      (w, fw) => {
        fw.merged = [1];
        w.onCheck = (req) => ({ passed: req.tag !== '2024.09.02', summary: 'error rate 7% > 1%' });
      },
      async ({ world, fw, start }) => {
        const handle = await start();
        await until(handle, (x) => x.stage === 'ready', 'ready');
        await handle.executeUpdate(deployUpdate, { args: [{ by: 'alice', reason: 'ship' }] });
        const result: PreReleaseStatus = await handle.result();
        expect(result.error).toBeUndefined();
        expect(result.stage).toBe('rolled-back');
        expect(world.deploys.map((d) => d.tag)).toEqual(['2024.09.02', 'api/v2024.09.30.1']);
        expect(world.running.production).toBe('api/v2024.09.30.1');
        expect(result.versions).toEqual({ production: 'api/v2024.09.30.1', previousProduction: 'api/v2024.09.30.1' });
        expect(world.notifications.find((n) => n.event === 'check-failed')?.text).toContain('error rate 7% > 1%');
        expect(fw.published.map((p) => p.latest)).toEqual([false, true]);
        await recordHistory(name(), handle);
      },
    );
  });

  it('the scheduled cut skips when nothing was merged, and otherwise starts the dated pre-release', async () => {
    await withPreRelease(
      (_w, fw) => {
        fw.merged = [];
        fw.tags = ['2024.09.01'];
      },
      async ({ fw, service, taskQueue }) => {
        const skipped: PreReleaseCutResult = await env.client.workflow.execute('cutPreRelease', { workflowId: `prerelease-cut/${service}`, taskQueue, args: [{ service, startedBy: 'schedule' }] });
        expect(skipped).toEqual({ skipped: 'nothing merged since 2024.09.01 (c0ffee000000)' });
        fw.merged = [1];
        const today = new Date(await env.currentTimeMs()).toISOString().slice(0, 10).replace(/-/g, '.');
        fw.tags.push(today);
        const cut: PreReleaseCutResult = await env.client.workflow.execute('cutPreRelease', { workflowId: `prerelease-cut/${service}`, taskQueue, args: [{ service, startedBy: 'schedule' }] });
        expect(cut).toEqual({ workflowId: `prerelease/${service}/${today}.2`, tag: `${today}.2`, prs: 1 });
        await env.client.workflow.getHandle(`prerelease/${service}/${today}.2`).terminate('test finished');
      },
    );
  });
});
