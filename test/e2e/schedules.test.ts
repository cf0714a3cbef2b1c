/**
 * The day-before cut as a Temporal Schedule on the real dev server (the test server has no
 * Schedules): created from the config, updated idempotently, triggered, deleted with the config.
 */
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../client/config-file.js';
import { upsertSchedules } from '../../client/schedules.js';
import { connectClient, localTarget } from '../../client/temporal.js';
import { startDemoEnv, type DemoEnv } from '../helpers/demo-env.js';
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
    const deadline = Date.now() + 30_000;
    let listing = '';
    while (!/train\/demo\/demo\/v\S+\.1/.test(listing)) {
      if (Date.now() > deadline) throw new Error(`no train started: ${listing}`);
      await new Promise((r) => setTimeout(r, 500));
      listing = (await demo.cli(['status'])).stdout;
    }
    const trainId = /(train\/demo\/\S+)/.exec(listing)![1]!;
    expect((await demo.statusOf(trainId)).startedBy).toBe('schedule');
  });

  it('a scheduled cut with nothing new since the last release tag is skipped; a new commit is cut', async () => {
    const scheduled = () => client.workflow.execute('cutRelease', { workflowId: 'cut/demo', taskQueue: 'trainyard', args: [{ service: 'demo', startedBy: 'schedule' }] });
    // The triggered train's tag exists once its first activity ran.
    const deadline = Date.now() + 20_000;
    while (!git('tag', '--list').includes('.1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const nothing = await scheduled();
    expect(nothing.skipped).toMatch(/^nothing new since demo\/v\d{4}\.\d{2}\.\d{2}\.1 \(/);
    expect(nothing.trainId).toBeUndefined();
    commitChange(demo.dir, 'A change merged after the cut');
    const next = await scheduled();
    expect(next.tag).toMatch(/\.2$/);
  });

  it("a production freeze pauses the cut schedule with its reason; unfreeze unpauses; a person's pause stays", async () => {
    const schedule = client.schedule.getHandle('trainyard-cut-demo');
    const state = async () => (await schedule.describe()).state;
    const eventually = async (check: (s: Awaited<ReturnType<typeof state>>) => boolean, what: string) => {
      const deadline = Date.now() + 15_000;
      while (!check(await state())) {
        if (Date.now() > deadline) throw new Error(`schedule never ${what}: ${JSON.stringify(await state())}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    expect((await demo.cli(['freeze', 'demo', '--reason', 'hotfix in progress', '--as', 'sre'])).code).toBe(0);
    await eventually((s) => s.paused && s.note === 'Paused by a freeze: sre: hotfix in progress', 'paused by the freeze');
    expect((await demo.cli(['unfreeze', 'demo', '--reason', 'done', '--as', 'sre'])).code).toBe(0);
    await eventually((s) => !s.paused, 'unpaused');

    await schedule.pause('audit: no releases this week');
    expect((await demo.cli(['freeze', 'demo', '--reason', 'incident', '--as', 'sre'])).code).toBe(0);
    expect((await demo.cli(['unfreeze', 'demo', '--reason', 'resolved', '--as', 'sre'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1_500));
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
  });

  it('deletes its schedule when the config no longer has it', async () => {
    const { config } = loadConfigFile(demo.configFile);
    delete config.services.demo!.cut;
    const deadline = Date.now() + 10_000;
    let result = await upsertSchedules(client, config);
    // The schedule list is eventually consistent: look again until it shows the schedule.
    while (result.deleted.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      result = await upsertSchedules(client, config);
    }
    expect(result).toEqual({ created: [], updated: [], unchanged: [], deleted: ['trainyard-cut-demo'] });
  });
});
