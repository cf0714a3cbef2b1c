/**
 * Trains and the environment ledger together on the real dev server, in real time: the deploy lock,
 * freezes, and the ledger's continue-as-new. Each test terminates what it started (see `cleanUp`).
 *
 * No test races a release time or a freeze's end: a train that must be acted on before its release
 * has it a day away; one that must meet a freeze at its release time meets a freeze set before it
 * could get there (before its cut, or while its staging deploy is held by the test).
 */
import { WorkflowFailedError } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerId } from '../../domain/ids.js';
import type { TrainPolicy } from '../../domain/train.js';
import { changelogUpdate, cutScheduleUpdate, cutUpdate, freezeUpdate, ledgerQuery, releaseLockSignal, requestLockSignal, revertUpdate, rollbackUpdate, unfreezeUpdate } from '../../workflows/ledger-messages.js';
import type { CutResult } from '../../workflows/cutRelease.js';
import type { RollbackResult } from '../../workflows/rollbackEnvironment.js';
import { abortUpdate, promoteUpdate, rerunE2EUpdate, statusQuery } from '../../workflows/messages.js';
import { fakeActivities, fakeWorld, hangUntilCancelled, policy, type FakeWorld } from '../helpers/fake-activities.js';
import { recordHistory } from '../helpers/histories.js';
import { pollUntil, queryUntil } from '../helpers/poll.js';
import { bundleWorker, devServerEnv, routedWorker, type DevServerEnv, type RoutedWorker } from '../helpers/temporal.js';
import { cleanUp, finished, reach, rejection, startTrain, until } from '../helpers/train-harness.js';

let env: DevServerEnv;
let counter = 0;

/** One worker for the file; each test routes its own service's activities to its own fake world. */
const TASK_QUEUE = 'ledger-test';
let worker: RoutedWorker;

beforeAll(async () => {
  env = await devServerEnv();
  worker = await routedWorker(env, TASK_QUEUE, fakeActivities(fakeWorld(), policy(), env.client, TASK_QUEUE));
});
afterAll(async () => {
  await worker?.shutdown();
  await env?.teardown();
});

/** One service and its fake world; `body` starts as many trains as it likes. */
async function withService(
  setup: (world: FakeWorld) => void,
  body: (ctx: { world: FakeWorld; service: string; taskQueue: string; policy: TrainPolicy }) => Promise<void>,
  operators = policy().operators,
): Promise<void> {
  const world = fakeWorld();
  setup(world);
  const service = `svc${++counter}`;
  const taskQueue = TASK_QUEUE;
  const p = policy({ service, ...(operators ? { operators } : {}) });
  const unroute = worker.route(service, fakeActivities(world, p, env.client, taskQueue));
  try {
    await body({ world, service, taskQueue, policy: p });
  } finally {
    await cleanUp(env, service);
    unroute();
  }
}

/**
 * Lets a staging deploy run until the test releases it; records overlapping deploys. The held
 * deploy heartbeats, as real drivers do: the time-skipping server skips idle time, and a silent
 * activity would hit its heartbeat timeout in skipped time.
 */
function gatedDeploys(world: FakeWorld) {
  const releases = new Map<string, () => void>();
  const released = new Set<string>();
  let inFlight = 0;
  let maxInFlight = 0;
  world.onDeploy = async (req) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (req.environment === 'staging') {
        releases.set(req.trainId, () => released.add(req.trainId));
        const ctx = Context.current();
        while (!released.has(req.trainId)) {
          ctx.heartbeat();
          await ctx.sleep(50);
        }
      }
    } finally {
      inFlight--;
    }
  };
  return { release: (trainId: string) => releases.get(trainId)?.(), started: (trainId: string) => releases.has(trainId), maxInFlight: () => maxInFlight };
}

const waitFor = (check: () => boolean, what: string) => pollUntil(what, check, { timeoutMs: 20_000 });

/** The service's production ledger, started now unless a train already has (as a train would start it). */
async function productionLedger(service: string, taskQueue: string) {
  return env.client.workflow.start('environmentLedger', { workflowId: ledgerId(service, 'production'), taskQueue, args: [{ service, environment: 'production' }], workflowIdConflictPolicy: 'USE_EXISTING' });
}

// Each test has its own service and fake world on the file's worker: they run side by side.
describe.concurrent('environment ledger', () => {
  it('two trains contend for one environment: first come first served, never two deploys at once', async () => {
    const deploys = { gate: undefined as ReturnType<typeof gatedDeploys> | undefined };
    await withService((w) => (deploys.gate = gatedDeploys(w)), async ({ service, taskQueue, world }) => {
      const gate = deploys.gate!;
      const first = await startTrain(env, { service, tag: `${service}/v1.1`, taskQueue, policy: policy({ hasE2E: false }) });
      await waitFor(() => gate.started(first.workflowId), 'the first staging deploy');
      const second = await startTrain(env, { service, tag: `${service}/v1.2`, taskQueue, policy: policy({ hasE2E: false }) });
      const queued = await reach(second, 'awaiting-lock');
      expect(queued.waitingFor).toContain(`${first.workflowId} is deploying ${service}/v1.1`);
      gate.release(first.workflowId);
      await waitFor(() => gate.started(second.workflowId), 'the second staging deploy');
      gate.release(second.workflowId);
      await reach(second, 'awaiting-release');
      expect(gate.maxInFlight()).toBe(1);
      expect(world.deploys.map((d) => d.tag)).toEqual([`${service}/v1.1`, `${service}/v1.2`]);
      await recordHistory('ledger two trains contend', second);
      await recordHistory('environment ledger staging after two trains', env.client.workflow.getHandle(ledgerId(service, 'staging')));
    });
  });

  it('abort in the middle of a deploy gives the lock back, and the next train gets it', async () => {
    await withService(
      (w) =>
        (w.onDeploy = async (req) => {
          if (req.tag.endsWith('v1.1')) await hangUntilCancelled();
        }),
      async ({ service, taskQueue }) => {
        const first = await startTrain(env, { service, tag: `${service}/v1.1`, taskQueue, policy: policy({ hasE2E: false }) });
        await reach(first, 'staging');
        const second = await startTrain(env, { service, tag: `${service}/v1.2`, taskQueue, policy: policy({ hasE2E: false }) });
        await reach(second, 'awaiting-lock');
        await first.executeUpdate(abortUpdate, { args: [{ by: 'rm', reason: 'bad build' }] });
        expect((await finished(first)).stage).toBe('aborted');
        await reach(second, 'awaiting-release');
        const ledger = await env.client.workflow.getHandle(ledgerId(service, 'staging')).query(ledgerQuery);
        expect(ledger.holder).toBeUndefined();
        expect(ledger.deployments.map((d) => `${d.tag}:${d.outcome}`)).toEqual([`${service}/v1.2:verified`]);
      },
    );
  });

  it('a train terminated while holding the lock loses it: the ledger sees the holder ended', async () => {
    const deploys = { gate: undefined as ReturnType<typeof gatedDeploys> | undefined };
    await withService((w) => (deploys.gate = gatedDeploys(w)), async ({ service, taskQueue, policy: p }) => {
      // The ledger, started first with a short check interval (the default is an hour).
      await env.client.workflow.start('environmentLedger', { workflowId: ledgerId(service, 'staging'), taskQueue, args: [{ service, environment: 'staging', holderCheckMs: 1_000 }] });
      const first = await startTrain(env, { service, tag: `${service}/v1.1`, taskQueue, policy: { ...p, hasE2E: false } });
      await waitFor(() => deploys.gate!.started(first.workflowId), 'the first staging deploy');
      const second = await startTrain(env, { service, tag: `${service}/v1.2`, taskQueue, policy: { ...p, hasE2E: false } });
      await reach(second, 'awaiting-lock');
      await first.terminate('operator terminated it from the UI');
      await waitFor(() => deploys.gate!.started(second.workflowId), 'the second train to get the lock');
      deploys.gate!.release(second.workflowId);
      await reach(second, 'awaiting-release');
    });
  });

  it('a production freeze rejects promote, defers the release, and the train goes on when unfrozen', async () => {
    await withService(() => undefined, async ({ service, taskQueue, world }) => {
      const early = await startTrain(env, { service, tag: `${service}/v1.0`, taskQueue, policy: policy() });
      await reach(early, 'awaiting-release');
      const ledger = env.client.workflow.getHandle(ledgerId(service, 'production'));
      await ledger.executeUpdate(freezeUpdate, { args: [{ by: 'sre', reason: 'hotfix in progress' }] });
      await until(early, (s) => s.freezes.production?.frozen === true, 'the freeze to reach the train');
      expect(await rejection(early.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'ship' }] }))).toMatch(/production is frozen by sre: hotfix in progress/);
      await early.executeUpdate(abortUpdate, { args: [{ by: 'rm', reason: 'replaced by v1.1' }] });

      // A train whose release time comes during the freeze waits for it to end instead of skipping the release.
      const train = await startTrain(env, { service, tag: `${service}/v1.1`, taskQueue, policy: policy(), releaseInMs: 0 });
      const waiting = await reach(train, 'awaiting-lock');
      expect(waiting.waitingFor).toBe('production is frozen by sre: hotfix in progress');
      expect(world.deploys.filter((d) => d.environment === 'production')).toHaveLength(0);

      await ledger.executeUpdate(unfreezeUpdate, { args: [{ by: 'sre', reason: 'hotfix is out' }] });
      expect((await finished(train)).stage).toBe('released');
      await recordHistory('ledger freeze defers the release', train);
    });
  });

  it('rollback: the ledger checks the right and the target; a rollback workflow redeploys, verifies and records', async () => {
    const operators = [
      { name: 'rm', rights: ['promote' as const, 'rollback' as const] },
      { name: 'dev', rights: ['promote' as const] },
    ];
    await withService(() => undefined, async ({ service, taskQueue, world }) => {
      const p = policy({ service, hasE2E: false, operators });
      for (const n of [1, 2]) {
        const train = await startTrain(env, { service, tag: `${service}/v1.${n}`, taskQueue, policy: p });
        await reach(train, 'awaiting-release');
        await train.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'ship' }] });
        expect((await finished(train)).stage).toBe('released');
      }
      const ledger = env.client.workflow.getHandle(ledgerId(service, 'production'));
      // The trains' lock releases reach the ledger as signals, after the trains end.
      await queryUntil(ledger, ledgerQuery, (l) => l.deployments.length >= 2, 'the ledger to record both deployments');
      expect(await rejection(ledger.executeUpdate(rollbackUpdate, { args: [{ by: 'dev', reason: 'errors' }] }))).toMatch(/"dev" does not have the "rollback" right/);
      expect(await rejection(ledger.executeUpdate(rollbackUpdate, { args: [{ by: 'rm', reason: 'errors', to: `${service}/v0.9` }] }))).toMatch(/was never verified in .* production; verified versions: .*v1\.1, .*v1\.2/);
      expect(await rejection(ledger.executeUpdate(rollbackUpdate, { args: [{ by: 'rm', reason: '' }] }))).toMatch(/a reason is required/);

      const { rollbackId, tag } = await ledger.executeUpdate(rollbackUpdate, { args: [{ by: 'rm', reason: 'checkout errors' }] });
      expect(tag).toBe(`${service}/v1.1`);
      const result = await env.client.workflow.getHandle(rollbackId).result() as RollbackResult;
      expect(result).toMatchObject({ tag, outcome: 'rolled-back' });
      expect(world.deploys.at(-1)).toMatchObject({ environment: 'production', tag, trainId: rollbackId });
      const state = await ledger.query(ledgerQuery);
      expect(state.deployments.at(-1)).toMatchObject({ tag, outcome: 'verified', by: 'rm', trainId: rollbackId });
      expect(state.holder).toBeUndefined();
      await recordHistory('rollback to the previous verified version', env.client.workflow.getHandle(rollbackId));

      // A rollback whose smoke test fails freezes production for a person to look.
      world.onCheck = (req) => (req.trainId.startsWith('rollback/') ? { passed: false, summary: '502 from /health' } : { passed: true, summary: 'ok' });
      const again = await ledger.executeUpdate(rollbackUpdate, { args: [{ by: 'rm', reason: 'back to v1.2', to: `${service}/v1.2` }] });
      const failed = await env.client.workflow.getHandle(again.rollbackId).result() as RollbackResult;
      expect(failed).toMatchObject({ outcome: 'failed' });
      expect(failed.summary).toContain('502 from /health');
      const frozen = await ledger.query(ledgerQuery);
      expect(frozen.frozen).toMatchObject({ frozen: true });
      expect(frozen.frozen.reason).toContain(`rollback to ${service}/v1.2 failed`);
      expect(world.notifications.some((n) => n.event === "rollback-failed")).toBe(true);
      await recordHistory('environment ledger production after rollbacks', ledger);
    }, operators);
  });

  it('freeze and unfreeze are refused to operators without the right, and need a reason', async () => {
    await withService(
      () => undefined,
      async ({ service, taskQueue, policy: guarded }) => {
        const train = await startTrain(env, { service, tag: `${service}/v1.1`, taskQueue, policy: guarded });
        await reach(train, 'awaiting-release');
        const ledger = env.client.workflow.getHandle(ledgerId(service, 'production'));
        expect(await rejection(ledger.executeUpdate(freezeUpdate, { args: [{ by: 'mallory', reason: 'lol' }] }))).toMatch(/not an operator/);
        expect(await rejection(ledger.executeUpdate(freezeUpdate, { args: [{ by: 'sre', reason: '' }] }))).toMatch(/reason is required/);
        expect(await rejection(ledger.executeUpdate(freezeUpdate, { args: [{ by: 'sre', reason: 'x', until: 'tomorrow-ish' }] }))).toMatch(/ISO time/);
        // The validator holds the bound too (`temporal workflow update` skips the CLI).
        expect(await rejection(ledger.executeUpdate(freezeUpdate, { args: [{ by: 'sre', reason: 'x', until: Date.now() + 400 * 86_400_000 }] }))).toMatch(/a freeze with an end ends within 90 days/);
        expect(await rejection(ledger.executeUpdate(unfreezeUpdate, { args: [{ by: 'sre', reason: 'x' }] }))).toMatch(/is not frozen/);
      },
      [{ name: 'sre', rights: ['freeze'] }, { name: 'rm', rights: ['promote'] }],
    );
  });

  it('a ledger just created knows its operators: a raw update without the right is refused, and nothing is written', async () => {
    const operators = [{ name: 'sre', rights: ['freeze' as const] }, { name: 'dev', rights: ['promote' as const] }, { name: 'reader', rights: [] }];
    await withService(
      () => undefined,
      async ({ service, taskQueue }) => {
        // Started bare, as `temporal workflow start` would: nobody passed it the operators.
        const ledger = await productionLedger(service, taskQueue);
        // As `temporal workflow update` sends it, the moment the ledger exists: refused either way.
        const early = await rejection(ledger.executeUpdate(freezeUpdate, { args: [{ by: 'dev', reason: 'lol' }] }));
        expect(early).toMatch(new RegExp(`^("dev" does not have the "freeze" right on service ${service};|the production ledger of ${service} has not read the service's operators from the config yet)`));
        const known = await queryUntil(ledger, ledgerQuery, (l) => l.configured === true, 'the ledger to read its operators from the config');
        expect(known.operators).toEqual(operators);
        const where = `services.${service}.operators of the worker's config`;
        expect(await rejection(ledger.executeUpdate(freezeUpdate, { args: [{ by: 'dev', reason: 'lol' }] }))).toBe(`"dev" does not have the "freeze" right on service ${service}; ask an admin to add it to dev's rights in ${where}`);
        expect(await rejection(ledger.executeUpdate(freezeUpdate, { args: [{ by: 'reader', reason: 'lol' }] }))).toBe(
          `"reader" does not have the "freeze" right on service ${service} (reader may only read: their rights are []); ask an admin to add it to reader's rights in ${where}`,
        );
        expect(await rejection(ledger.executeUpdate(freezeUpdate, { args: [{ by: 'mallory', reason: 'lol' }] }))).toBe(`"mallory" is not an operator of service ${service}; ask an admin to add them, with the "freeze" right, to ${where}`);
        // Refused before acceptance: the history holds none of them.
        const events = (await ledger.fetchHistory()).events ?? [];
        expect(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionUpdateAdmittedEventAttributes)).toEqual([]);
        await ledger.executeUpdate(freezeUpdate, { args: [{ by: 'sre', reason: 'incident 7' }] });
        expect((await ledger.query(ledgerQuery)).frozen).toMatchObject({ frozen: true, by: 'sre' });
        await recordHistory('environment ledger that read its operators when it started', ledger);
      },
      operators,
    );
  });

  it('cut, hotfix, revert and schedule changes go through the production ledger: its validators check the right, its history records who and why', async () => {
    const operators = [
      { name: 'sre', rights: ['freeze' as const] },
      { name: 'rm', rights: ['start' as const, 'promote' as const] },
      { name: 'lead', rights: ['start' as const, 'hotfix' as const, 'revert' as const, 'promote' as const] },
      { name: 'reader', rights: [] },
    ];
    await withService(
      () => undefined,
      async ({ service, taskQueue, world }) => {
        const ledger = await productionLedger(service, taskQueue);
        await queryUntil(ledger, ledgerQuery, (l) => l.configured === true, 'the ledger to read its operators from the config');
        const refused = (p: Promise<unknown>) => rejection(p);
        expect(await refused(ledger.executeUpdate(cutUpdate, { args: [{ by: 'sre', reason: 'weekly release' }] }))).toMatch(/^"sre" does not have the "start" right/);
        expect(await refused(ledger.executeUpdate(cutUpdate, { args: [{ by: 'rm', reason: 'outage', hotfix: { fromTag: `${service}/v1.1`, picks: ['abc1234'] } }] }))).toMatch(/^"rm" does not have the "hotfix" right/);
        expect(await refused(ledger.executeUpdate(cutUpdate, { args: [{ by: 'rm', reason: ' ' }] }))).toMatch(/a reason is required/);
        expect(await refused(ledger.executeUpdate(cutUpdate, { args: [{ by: 'reader', reason: 'x' }] }))).toMatch(/reader may only read/);
        expect(await refused(ledger.executeUpdate(cutUpdate, { args: [{ by: 'schedule', reason: 'x' }] }))).toMatch(/"schedule" names the cut schedule/);
        expect(await refused(ledger.executeUpdate(revertUpdate, { args: [{ by: 'rm', reason: 'broke staging', prs: [7] }] }))).toMatch(/^"rm" does not have the "revert" right/);
        expect(await refused(ledger.executeUpdate(revertUpdate, { args: [{ by: 'lead', reason: 'broke staging', prs: [] }] }))).toMatch(/"prs" must list the pull requests/);
        expect(await refused(ledger.executeUpdate(cutScheduleUpdate, { args: [{ by: 'rm', reason: 'audit', action: 'pause' }] }))).toMatch(/^"rm" does not have the "freeze" right/);
        expect(await refused(ledger.executeUpdate(cutScheduleUpdate, { args: [{ by: 'sre', reason: 'now', action: 'trigger' }] }))).toMatch(/^"sre" does not have the "start" right/);
        expect(((await ledger.fetchHistory()).events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toEqual([]);

        // Started without the ledger (`temporal workflow start --type cutRelease`), the cut checks too.
        const raw = await env.client.workflow.execute('cutRelease', { workflowId: `cut/${service}`, taskQueue, args: [{ service, startedBy: 'sre' }] }).then(() => undefined, (err: Error) => err);
        expect(String((raw as { cause?: Error } | undefined)?.cause?.message)).toMatch(/^"sre" does not have the "start" right/);
        expect(world.tags.size).toBe(0);

        const cut = await ledger.executeUpdate(cutUpdate, { args: [{ by: 'rm', reason: 'weekly release' }] });
        expect(cut.workflowId).toBe(`cut/${service}`);
        const result = (await env.client.workflow.getHandle(cut.workflowId, cut.runId).result()) as CutResult;
        const train = env.client.workflow.getHandle(result.trainId!);
        const { startedBy, tag } = await train.query(statusQuery);
        expect(startedBy).toBe('rm');
        // The train tags its commit first thing; the changelog below names the tags there are.
        await pollUntil(`${tag} to be created`, () => world.tags.has(tag));
        await train.terminate('test finished');

        const reverted = await ledger.executeUpdate(revertUpdate, { args: [{ by: 'lead', reason: 'broke staging', prs: [7, 8] }] });
        expect(reverted.results).toEqual([
          { pr: 7, revert: { number: 107, url: 'file:///changes/107' } },
          { pr: 8, error: expect.stringContaining('#8 is not merged') },
        ]);
        expect(world.notifications.map((n) => n.text)).toContainEqual(expect.stringMatching(/^lead opened reverts of #7 \(as #107\); #8 failed: .*: broke staging$/));

        // The notes of a train that ended (it takes no update any more): through the ledger, with the
        // right a running train asks for its own (promote); a base that is not a tag is refused.
        expect(await refused(ledger.executeUpdate(changelogUpdate, { args: [{ by: 'sre', reason: 'notes', tag }] }))).toMatch(/^"sre" does not have the "promote" right/);
        expect(await refused(ledger.executeUpdate(changelogUpdate, { args: [{ by: 'rm', reason: 'notes', tag, previousTag: `${service}/v0.9` }] }))).toBe(
          `could not publish the changelog of ${tag}: the previous tag "${service}/v0.9" is not a tag of ${service}'s repository. Its newest release tags: ${tag}`,
        );
        const notes = await ledger.executeUpdate(changelogUpdate, { args: [{ by: 'rm', reason: 'the notes missed #7', tag }] });
        expect(notes.url).toBe(`file:///releases/${tag}.md`);
        expect(world.notifications.at(-1)?.text).toBe(`Changelog of ${tag} regenerated by rm: file:///releases/${tag}.md (the notes missed #7)`);
        const accepted = ((await ledger.fetchHistory()).events ?? []).flatMap((e) => {
          const request = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
          return request ? [`${request.input?.name}: ${Buffer.from(request.input?.args?.payloads?.[0]?.data ?? []).toString('utf8')}`] : [];
        });
        expect(accepted).toEqual([
          'cut: {"by":"rm","reason":"weekly release"}',
          'revert: {"by":"lead","reason":"broke staging","prs":[7,8]}',
          // Accepted, then refused by the forge's answer (the tag is not there): in history, failed.
          `changelog: {"by":"rm","reason":"notes","tag":"${tag}","previousTag":"${service}/v0.9"}`,
          `changelog: {"by":"rm","reason":"the notes missed #7","tag":"${tag}"}`,
        ]);
        await recordHistory('a cut asked for through the production ledger', env.client.workflow.getHandle(cut.workflowId));
        await recordHistory('environment ledger production with a cut and reverts', ledger);
        await recordHistory('environment ledger production that regenerated an ended train s changelog', ledger);
      },
      operators,
    );
  });

  it("a freeze window from the config defers the release; override-freeze goes through; unfreeze cannot lift it", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await withService(
      (w) => (w.freezeWindows = [{ reason: 'quarter close', dates: { from: today, to: tomorrow }, environments: ['production'] }]),
      async ({ service, taskQueue, policy: p }) => {
        const train = await startTrain(env, { service, tag: `${service}/v1.1`, taskQueue, policy: p, releaseInMs: 500 });
        const waiting = await reach(train, 'awaiting-lock');
        expect(waiting.waitingFor).toBe('production is frozen by freeze window: quarter close');
        const ledger = env.client.workflow.getHandle(ledgerId(service, 'production'));
        expect(await rejection(ledger.executeUpdate(unfreezeUpdate, { args: [{ by: 'sre', reason: 'x' }] }))).toMatch(/freeze window "quarter close"; promote with override-freeze/);
        await train.executeUpdate(promoteUpdate, { args: [{ by: 'sre', reason: 'regulator deadline', overrideFreeze: true }] });
        expect((await finished(train)).stage).toBe('released');
      },
      [{ name: 'sre', rights: ['promote', 'freeze', 'override-freeze'] }],
    );
  });

  it('a freeze with an end time ends by itself', async () => {
    const deploys = { gate: undefined as ReturnType<typeof gatedDeploys> | undefined };
    await withService((w) => (deploys.gate = gatedDeploys(w)), async ({ service, taskQueue }) => {
      // The train's release time has passed; its staging deploy is held while production is frozen
      // for 3 s, so it cannot reach production before the freeze is in place, however slow the machine.
      const train = await startTrain(env, { service, tag: `${service}/v1.1`, taskQueue, policy: policy({ hasE2E: false }), releaseInMs: 0 });
      await waitFor(() => deploys.gate!.started(train.workflowId), 'the staging deploy');
      const ledger = await productionLedger(service, taskQueue);
      const until = Date.now() + 3_000;
      await ledger.executeUpdate(freezeUpdate, { args: [{ by: 'sre', reason: 'holiday', until }] });
      deploys.gate!.release(train.workflowId);
      const prod = await finished(train);
      expect(prod.stage).toBe('released');
      const production = prod.stages.find((s) => s.stage === 'production')!;
      expect(production.startedAt).toBeGreaterThanOrEqual(until);
    });
  });

  it('E2E failed, then a rerun passes: the train releases without a manual promote', async () => {
    let e2eRuns = 0;
    await withService(
      (w) =>
        (w.onCheck = (req) => {
          if (req.check !== 'e2e') return { passed: true, summary: 'ok' };
          e2eRuns++;
          return e2eRuns === 1 ? { passed: false, summary: 'flaky spec' } : { passed: true, summary: 'all green' };
        }),
      async ({ service, taskQueue }) => {
        const train = await startTrain(env, { service, tag: `${service}/v1.1`, taskQueue, policy: policy(), releaseInMs: 500 });
        await reach(train, 'awaiting-decision');
        await train.executeUpdate(rerunE2EUpdate, { args: [{ by: 'rm', reason: 'suspect flake' }] });
        const result = await finished(train);
        expect(result.stage).toBe('released');
        expect(result.e2e).toMatchObject({ passed: true, summary: 'all green' });
        expect(result.actions.map((a) => a.kind)).toEqual(['rerunE2E']);
        await recordHistory('e2e failed then rerun passes', train);
      },
    );
  });

  it('a manual re-tag (.1 → .2) supersedes the train; after production it is refused', async () => {
    await withService(() => undefined, async ({ service, taskQueue, world, policy: p }) => {
      world.tags.set(`${service}/v2024.10.02.1`, 'c0ffee0000000000000000000000000000000001');
      const old = await startTrain(env, { service, tag: `${service}/v2024.10.02.1`, taskQueue, policy: p });
      await reach(old, 'awaiting-release');
      const cut = await env.client.workflow.execute('cutRelease', {
        workflowId: `cut/${service}`,
        taskQueue,
        args: [{ service, ref: 'fix-sha', startedBy: 'oncall', supersedes: { trainId: old.workflowId, tag: `${service}/v2024.10.02.1`, reason: 'revert a bad change' } }],
      });
      expect(cut.tag).toBe(`${service}/v2024.10.02.2`);
      const ended = await finished(old);
      expect(ended.stage).toBe('superseded');
      expect(ended.stages.at(-1)?.note).toBe(`by ${service}/v2024.10.02.2 (oncall: revert a bad change)`);
      const replacement = env.client.workflow.getHandle(cut.trainId);
      await reach(replacement, 'awaiting-release');
      await replacement.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'go' }] });
      await reach(replacement, 'released');
      const refused = await env.client.workflow
        .execute('cutRelease', {
          workflowId: `cut/${service}`,
          taskQueue,
          args: [{ service, startedBy: 'oncall', supersedes: { trainId: cut.trainId, tag: cut.tag, reason: 'too late' } }],
        })
        .catch((err: Error) => err);
      expect(String((refused as { cause?: { cause?: Error } }).cause?.cause?.message)).toMatch(/has (ended|already ended)|reached production/);
      await env.client.workflow.getHandle(cut.trainId).terminate('test finished').catch(() => undefined);
    });
  });

  it('a hotfix freezes production for the scheduled train, goes out first, and the train follows', async () => {
    await withService(() => undefined, async ({ service, taskQueue, world, policy: p }) => {
      // Its release is a day away: the test promotes it once the hotfix is out (a release time
      // seconds away would race the hotfix on a busy machine; the deferral itself is tested above).
      const scheduled = await startTrain(env, { service, tag: `${service}/v2024.10.03.1`, taskQueue, policy: p });
      await reach(scheduled, 'awaiting-release');
      const cut = await env.client.workflow.execute('cutRelease', {
        workflowId: `cut/${service}-hotfix`,
        taskQueue,
        args: [{ service, startedBy: 'oncall', hotfix: { fromTag: `${service}/v2024.10.02.1`, picks: ['abc1234'] } }],
      });
      expect(cut.tag).toBe(`${service}/v2024.10.02.2`);
      expect(world.hotfixes).toEqual([{ service, branch: `hotfix/${service}/v2024.10.02.2`, fromTag: `${service}/v2024.10.02.1`, picks: ['abc1234'] }]);
      const hotfix = env.client.workflow.getHandle(cut.trainId);
      const frozen = await until(scheduled, (s) => s.freezes.production?.frozen === true, 'the hotfix freeze');
      expect(frozen.freezes.production?.reason).toBe(`hotfix ${cut.tag} in progress`);
      expect((await finished(hotfix)).stage).toBe('released');
      await until(scheduled, (s) => s.freezes.production?.frozen !== true, 'the hotfix freeze to end');
      await scheduled.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'after the hotfix' }] });
      const after = await finished(scheduled);
      expect(after.stage).toBe('released');
      const production = world.deploys.filter((d) => d.environment === 'production').map((d) => d.tag);
      expect(production).toEqual([cut.tag, `${service}/v2024.10.03.1`]);
      const ledger = await env.client.workflow.getHandle(ledgerId(service, 'production')).query(ledgerQuery);
      expect(ledger.frozen.frozen).toBe(false);
      await recordHistory('hotfix freezes the scheduled train', hotfix);
    });
  });

  it('a train whose commit does not contain what production runs is held, and deploys only on a promote with overrideBackwards', async () => {
    const operators = [
      { name: 'rm', rights: ['promote' as const, 'rollback' as const] },
      { name: 'dev', rights: ['promote' as const] },
    ];
    const [hotfixCommit, trainCommit] = ['h0tf1x'.padEnd(40, '2'), 'fea7'.padEnd(40, '3')];
    await withService(
      (w) => (w.compare = (base, head) => (base === head ? 'identical' : base === hotfixCommit && head === trainCommit ? 'diverged' : 'ahead')),
      async ({ service, taskQueue, world, policy: p }) => {
        const hotfix = await startTrain(env, { service, tag: `${service}/v1.1`, taskQueue, policy: { ...p, hasE2E: false }, commit: hotfixCommit });
        await reach(hotfix, 'awaiting-release');
        await hotfix.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'hotfix' }] });
        expect((await finished(hotfix)).stage).toBe('released');
        const ledger = env.client.workflow.getHandle(ledgerId(service, 'production'));
        await queryUntil(ledger, ledgerQuery, (l) => l.deployments.length === 1, 'the ledger to record the hotfix');

        const train = await startTrain(env, { service, tag: `${service}/v1.2`, taskQueue, policy: { ...p, hasE2E: false }, commit: trainCommit });
        await reach(train, 'awaiting-release');
        await train.executeUpdate(promoteUpdate, { args: [{ by: 'dev', reason: 'release day' }] });
        const held = await reach(train, 'awaiting-decision');
        const why = `production runs ${service}/v1.1 (h0tf1x2), which ${service}/v1.2 does not contain: deploying it would remove that change`;
        expect(held.productionHold).toMatchObject({ running: { tag: `${service}/v1.1`, commit: hotfixCommit }, relation: 'diverged' });
        expect(held.waitingFor).toContain(why);
        expect(world.deploys.filter((d) => d.environment === 'production').map((d) => d.tag)).toEqual([`${service}/v1.1`]);
        expect(world.notifications.some((n) => n.event === 'awaiting-decision' && n.text.includes(why))).toBe(true);
        // The held train gave the production lock back: a rollback or a hotfix is not held up by it.
        expect((await ledger.query(ledgerQuery)).holder).toBeUndefined();

        expect(await rejection(train.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'again' }] }))).toContain(`waits: ${why}`);
        expect(await rejection(train.executeUpdate(promoteUpdate, { args: [{ by: 'dev', reason: 'ship', overrideBackwards: true }] }))).toContain(`"dev" does not have the "rollback" right on service ${service};`);
        await train.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'the fix is in the next release', overrideBackwards: true }] });
        const released = await finished(train);
        expect(released.stage).toBe('released');
        expect(released.actions.map((a) => [a.kind, a.by, a.overrideBackwards])).toEqual([['promote', 'dev', undefined], ['promote', 'rm', `${service}/v1.1`]]);
        expect(world.deploys.filter((d) => d.environment === 'production').map((d) => d.tag)).toEqual([`${service}/v1.1`, `${service}/v1.2`]);
        expect(world.notifications.some((n) => n.event === 'operator-action' && n.text.startsWith(`rm deploys ${service}/v1.2 over ${service}/v1.1`))).toBe(true);
        const record = (await queryUntil(ledger, ledgerQuery, (l) => l.deployments.length === 2, 'the ledger to record the override')).deployments.at(-1);
        expect(record).toMatchObject({ tag: `${service}/v1.2`, outcome: 'verified', by: 'rm', note: `deployed over ${service}/v1.1, which it does not contain (rm: the fix is in the next release)` });
        await recordHistory('production check holds a train that lacks the running version until a promote overrides it', train);
      },
      operators,
    );
  });

  it('a held train can be aborted; production keeps what it runs', async () => {
    await withService(
      (w) => (w.compare = (base, head) => (base === head ? 'identical' : base === 'b'.repeat(40) && head === 'a'.repeat(40) ? 'behind' : 'ahead')),
      async ({ service, taskQueue, world }) => {
        const newer = await startTrain(env, { service, tag: `${service}/v1.2`, taskQueue, policy: policy({ hasE2E: false }), commit: 'b'.repeat(40) });
        await reach(newer, 'awaiting-release');
        await newer.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'ship' }] });
        expect((await finished(newer)).stage).toBe('released');
        const older = await startTrain(env, { service, tag: `${service}/v1.1`, taskQueue, policy: policy({ hasE2E: false }), commit: 'a'.repeat(40) });
        await reach(older, 'awaiting-release');
        await older.executeUpdate(promoteUpdate, { args: [{ by: 'rm', reason: 'forgot this one' }] });
        const held = await reach(older, 'awaiting-decision');
        expect(held.waitingFor).toContain('production would go backwards');
        await older.executeUpdate(abortUpdate, { args: [{ by: 'rm', reason: 'superseded by v1.2 long ago' }] });
        expect((await finished(older)).stage).toBe('aborted');
        expect(world.deploys.filter((d) => d.environment === 'production').map((d) => d.tag)).toEqual([`${service}/v1.2`]);
      },
    );
  });

  it('one train per release slot: a second cut is refused with the reason, a scheduled one skips, a re-tag supersedes', async () => {
    await withService(() => undefined, async ({ service, taskQueue, world }) => {
      const cut = (args: object, suffix = '') => env.client.workflow.execute('cutRelease', { workflowId: `cut/${service}${suffix}`, taskQueue, args: [{ service, ...args }] });
      const first = await cut({ startedBy: 'rm' });
      const firstTrain = env.client.workflow.getHandle(first.trainId);
      try {
        await reach(firstTrain, 'awaiting-release');
        world.head = 'ba5e'.padEnd(40, '4');
        const refused = await cut({ startedBy: 'rm' }).catch((err: Error) => err);
        expect(refused).toBeInstanceOf(WorkflowFailedError);
        const why = (refused as WorkflowFailedError).cause?.message ?? '';
        expect(why).toContain(`service ${service} already has a train for this release slot: ${first.trainId} (awaiting-release`);
        expect(why).toContain(`trainyard tag ${service} --from <sha> --reason`);
        const scheduled = await env.client.workflow.start('cutRelease', { workflowId: `cut/${service}-scheduled`, taskQueue, args: [{ service, startedBy: 'schedule' }] });
        const skipped = await scheduled.result();
        expect(skipped.skipped).toContain(`already has a train for this release slot: ${first.trainId}`);
        expect([...world.tags.keys()]).toEqual([first.tag]);
        await recordHistory('a scheduled cut skips a release slot that already has a train', scheduled);

        const retag = await cut({ startedBy: 'oncall', ref: world.head, supersedes: { trainId: first.trainId, tag: first.tag, reason: 'newer commit' } });
        expect((await finished(firstTrain)).stage).toBe('superseded');
        expect(retag.tag).not.toBe(first.tag);
        await env.client.workflow.getHandle(retag.trainId).terminate('test finished');
      } finally {
        await firstTrain.terminate('test finished').catch(() => undefined);
      }
    });
  });

  it('continues as new well before the history limit and keeps its state', async () => {
    const service = `svc${++counter}`;
    const taskQueue = `ledger-test-${counter}`;
    const worker = await bundleWorker(env, taskQueue, fakeActivities(fakeWorld(), policy(), env.client, taskQueue));
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('environmentLedger', {
        workflowId: ledgerId(service, 'production'),
        taskQueue,
        // With the config, as a train's signal-with-start creates it.
        args: [{ service, environment: 'production', maxHistoryEvents: 40, config: {} }],
      });
      const firstRun = handle.firstExecutionRunId!;
      await handle.executeUpdate(freezeUpdate, { args: [{ by: 'sre', reason: 'quarter end' }] });
      for (let i = 1; i <= 30; i++) {
        const trainId = `train/${service}/${service}/v${i}`;
        await handle.signal(requestLockSignal, { trainId, tag: `v${i}`, requestedAt: i, bypassFreeze: true });
        await handle.signal(releaseLockSignal, { trainId, deployments: [{ tag: `v${i}`, commit: `c${i}`, trainId, at: i, outcome: 'verified', by: 'test' }] });
      }
      const state = await handle.query(ledgerQuery);
      expect(state.deployments).toHaveLength(30);
      expect(state.deployments.at(-1)?.tag).toBe('v30');
      expect(state.frozen).toMatchObject({ frozen: true, by: 'sre', reason: 'quarter end' });
      expect(JSON.parse(JSON.stringify(state))).toEqual(state); // plain JSON
      // The new run may not be described yet the moment the old one's last query was answered.
      await pollUntil('the ledger to continue as new', async () => (await env.client.workflow.getHandle(handle.workflowId).describe()).runId !== firstRun);
      const firstHistory = await env.client.workflow.getHandle(handle.workflowId, firstRun).fetchHistory();
      expect(firstHistory.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
      // The new run still knows its config: it does not refuse operators while it reads it again.
      expect(await env.client.workflow.getHandle(handle.workflowId).query(ledgerQuery)).toMatchObject({ configured: true, deployments: expect.any(Array) });
    });
    await cleanUp(env, service);
  });
});
