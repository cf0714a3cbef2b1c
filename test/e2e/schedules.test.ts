/**
 * The day-before cut as a Temporal Schedule on the real dev server (the test server has no
 * Schedules): created from the config, updated idempotently, triggered, deleted with the config.
 */
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../client/config-file.js';
import { upsertSchedules } from '../../client/schedules.js';
import { connectClient, localTarget } from '../../client/temporal.js';
import { ledgerId } from '../../domain/ids.js';
import { startDemoEnv, type DemoEnv } from '../helpers/demo-env.js';
import { pollUntil } from '../helpers/poll.js';
import { commitChange } from '../../demo/demo.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

let demo: DemoEnv;
let client: Client;
beforeAll(async () => {
  demo = await startDemoEnv('    cut: { at: "15:00" }\n');
  client = await connectClient(localTarget(demo.server.address));
});
afterAll(async () => {
  await client?.connection.close();
  await demo?.stop();
});

const git = (...args: string[]) => execFileSync('git', ['-C', join(demo.dir, 'repo'), ...args], { encoding: 'utf8' });

describe('schedules from the config', () => {
  it('creates the cut schedule for the day before each release day, in the service zone', async () => {
    const { config } = loadConfigFile(demo.configFile);
    expect(await upsertSchedules(client, config)).toEqual({ created: ['trainyard-cut-demo'], updated: [], unchanged: [], deleted: [] });
    const described = await client.schedule.getHandle('trainyard-cut-demo').describe();
    const calendar = described.spec.calendars?.[0];
    expect(calendar?.hour).toEqual([{ start: 15, end: 15, step: 1 }]);
    expect(calendar?.minute).toEqual([{ start: 0, end: 0, step: 1 }]);
    expect(described.spec.timezone).toBe('America/New_York');
    expect(described.policies.overlap).toBe('SKIP');
    expect(described.policies.catchupWindow).toBe(86_400_000);
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'cutRelease', taskQueue: 'trainyard' });
  });

  it('leaves an unchanged schedule (and an operator pause) alone, and updates a changed one', async () => {
    const { config } = loadConfigFile(demo.configFile);
    const schedule = client.schedule.getHandle('trainyard-cut-demo');
    await schedule.pause('release freeze for the audit');
    expect(await upsertSchedules(client, config)).toEqual({ created: [], updated: [], unchanged: ['trainyard-cut-demo'], deleted: [] });
    expect((await schedule.describe()).state).toMatchObject({ paused: true, note: 'release freeze for the audit' });
    await schedule.unpause();
    // (A change while paused resends the pause with the update; Temporal applies an update and a
    // concurrent unpause in either order, so this test does not race the two.)
    const changed = { ...config, services: { demo: { ...config.services.demo!, cut: { at: '16:30' } } } };
    expect(await upsertSchedules(client, changed)).toEqual({ created: [], updated: ['trainyard-cut-demo'], unchanged: [], deleted: [] });
    const described = await schedule.describe();
    expect(described.spec.calendars?.[0]?.hour).toEqual([{ start: 16, end: 16, step: 1 }]);
    expect(described.state.paused).toBe(false);
    expect(await upsertSchedules(client, changed)).toMatchObject({ unchanged: ['trainyard-cut-demo'] });
  });

  it('a triggered schedule cuts a release and starts its train', async () => {
    await client.schedule.getHandle('trainyard-cut-demo').trigger();
    const listing = await pollUntil('`trainyard status` to list the train the schedule started', async () => {
      const out = (await demo.cli(['status'])).stdout;
      return /train\/demo\/demo\/v\S+\.1/.test(out) && out;
    }, { intervalMs: 500 });
    const trainId = /(train\/demo\/\S+)/.exec(listing)![1]!;
    expect((await demo.statusOf(trainId)).startedBy).toBe('schedule');
  });

  it('a scheduled cut with nothing new since the last release tag is skipped, as is one for a slot whose train is active; a new commit is cut', async () => {
    const scheduled = () => client.workflow.execute('cutRelease', { workflowId: 'cut/demo', taskQueue: 'trainyard', args: [{ service: 'demo', startedBy: 'schedule' }] });
    // The triggered train's tag exists once its first activity ran.
    await pollUntil("the triggered train's tag", () => git('tag', '--list').includes('.1'), { intervalMs: 200 });
    const nothing = await scheduled();
    expect(nothing.skipped).toMatch(/^nothing new since demo\/v\d{4}\.\d{2}\.\d{2}\.1 \(/);
    expect(nothing.trainId).toBeUndefined();
    commitChange(demo.dir, 'A change merged after the cut');
    // The triggered train still holds this release slot: a second train would race it to production.
    const taken = await scheduled();
    expect(taken.trainId).toBeUndefined();
    expect(taken.skipped).toMatch(/^service demo already has a train for this release slot: train\/demo\/demo\/v\S+\.1 \(/);
    const holder = /(train\/demo\/\S+\.1) /.exec(taken.skipped!)![1]!;
    expect((await demo.cli(['abort', holder, '--reason', 'a newer commit is to be cut'])).code).toBe(0);
    await demo.waitForStage(holder, 'aborted');
    const next = await scheduled();
    expect(next.tag).toMatch(/\.2$/);
  });

  it("a production freeze pauses the cut schedule with its reason; unfreeze unpauses; a person's pause stays", async () => {
    const schedule = client.schedule.getHandle('trainyard-cut-demo');
    const state = async () => (await schedule.describe()).state;
    const eventually = (check: (s: Awaited<ReturnType<typeof state>>) => boolean, what: string) =>
      pollUntil(`the schedule to be ${what}`, async () => check(await state()), { timeoutMs: 15_000, intervalMs: 200 });
    // The ledger updates the schedule in an activity after each freeze and unfreeze: count them.
    const ledger = client.workflow.getHandle(ledgerId('demo', 'production'));
    const scheduleCalls = async () => {
      const events = (await ledger.fetchHistory()).events ?? [];
      const scheduled = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name]));
      return events.filter((e) => e.activityTaskCompletedEventAttributes && scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId)) === 'pauseCutSchedule').length;
    };
    expect((await demo.cli(['freeze', 'demo', '--reason', 'hotfix in progress', '--as', 'sre'])).code).toBe(0);
    await eventually((s) => s.paused && s.note === 'Paused by a freeze: sre: hotfix in progress', 'paused by the freeze');
    expect((await demo.cli(['unfreeze', 'demo', '--reason', 'done', '--as', 'sre'])).code).toBe(0);
    await eventually((s) => !s.paused, 'unpaused');

    await schedule.pause('audit: no releases this week');
    const before = await scheduleCalls();
    expect((await demo.cli(['freeze', 'demo', '--reason', 'incident', '--as', 'sre'])).code).toBe(0);
    expect((await demo.cli(['unfreeze', 'demo', '--reason', 'resolved', '--as', 'sre'])).code).toBe(0);
    // Both looked at the schedule (and left the person's pause alone).
    await pollUntil('the ledger to update the schedule after the freeze and the unfreeze', async () => (await scheduleCalls()) >= before + 2);
    expect(await state()).toMatchObject({ paused: true, note: 'audit: no releases this week' });
    await schedule.unpause();
  });

  it('schedules list, pause, unpause and trigger through the CLI', async () => {
    const list = await demo.cli(['schedules', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { scheduleId: string; service: string; paused: boolean; next: string[] }[];
    expect(rows).toEqual([expect.objectContaining({ scheduleId: 'trainyard-cut-demo', service: 'demo', paused: false })]);
    expect(rows[0]?.next.length).toBeGreaterThan(0);

    const paused = await demo.cli(['schedules', 'pause', 'demo', '--reason', 'audit week', '--as', 'rm']);
    expect(paused.code, paused.stderr).toBe(0);
    expect((await client.schedule.getHandle('trainyard-cut-demo').describe()).state).toMatchObject({ paused: true, note: 'Paused by rm: audit week' });
    expect((await demo.cli(['schedules'])).stdout).toMatch(/trainyard-cut-demo\s+demo\s+PAUSED \(Paused by rm: audit week\)/);
    const twice = await demo.cli(['schedules', 'pause', 'demo', '--reason', 'again']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/already paused: Paused by rm: audit week/);
    expect((await demo.cli(['schedules', 'unpause', 'demo', '--reason', 'audit done'])).code).toBe(0);
    expect((await client.schedule.getHandle('trainyard-cut-demo').describe()).state.paused).toBe(false);

    const unknown = await demo.cli(['schedules', 'pause', 'nosuch', '--reason', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/service "nosuch" has no cut schedule/);
    expect((await demo.cli(['schedules', 'pause', 'demo'])).code).toBe(2);
    expect((await demo.cli(['schedules', 'trigger', 'demo'])).stderr).toMatch(/required option '--reason <text>'/);
    // Both went through the production ledger, which recorded who asked and why.
    const events = (await client.workflow.getHandle(ledgerId('demo', 'production')).fetchHistory()).events ?? [];
    const asked = events.flatMap((e) => {
      const request = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
      return request?.name === 'cutSchedule' ? [JSON.parse(Buffer.from(request.args?.payloads?.[0]?.data ?? []).toString('utf8')) as { by: string; action: string }] : [];
    });
    expect(asked).toMatchObject([{ by: 'rm', action: 'pause', reason: 'audit week' }, { action: 'pause', reason: 'again' }, { action: 'unpause', reason: 'audit done' }]);
  });

  it('deletes its schedule when the config no longer has it', async () => {
    const { config } = loadConfigFile(demo.configFile);
    delete config.services.demo!.cut;
    // The schedule list is eventually consistent: look again until it shows the schedule.
    const result = await pollUntil('the schedule list to show the schedule to delete', async () => {
      const r = await upsertSchedules(client, config);
      return r.deleted.length > 0 && r;
    }, { timeoutMs: 10_000, intervalMs: 300 });
    expect(result).toEqual({ created: [], updated: [], unchanged: [], deleted: ['trainyard-cut-demo'] });
  });
});
