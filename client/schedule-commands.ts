/**
 * `trainyard schedules [list|pause|unpause|trigger]`: the service's Temporal Schedules from an
 * operator's side. A pause carries who and why as the schedule's note (the Temporal UI shows it);
 * the same schedules can be paused in the UI or with `temporal schedule toggle`.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { declare } from './commands.js';
import { TrainyardError } from '../domain/errors.js';
import { cutScheduleId, SCHEDULE_PREFIX } from '../domain/ids.js';
import { describeTime } from '../domain/calendar.js';
import { authorisationProblem } from '../domain/train.js';
import { FREEZE_NOTE_PREFIX } from '../activities/ledger.js';
import { operator, Rejected, withClient } from './cli-context.js';
import { serviceContext, type ServiceContext } from './ledgers.js';

export interface ScheduleRow {
  scheduleId: string;
  service: string;
  paused: boolean;
  note: string;
  next: string[];
  lastRun?: string;
  /** The schedule's zone (the service's release calendar): the text shows times there. */
  timeZone: string;
}

export async function listSchedules(client: Client): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(SCHEDULE_PREFIX)) continue;
    const d = await client.schedule.getHandle(s.scheduleId).describe();
    const last = d.info.recentActions.at(-1);
    rows.push({
      scheduleId: s.scheduleId,
      service: s.scheduleId.slice(SCHEDULE_PREFIX.length),
      paused: d.state.paused,
      note: d.state.note ?? '',
      next: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
      ...(last ? { lastRun: last.takenAt.toISOString() } : {}),
      timeZone: d.spec.timezone ?? 'UTC',
    });
  }
  return rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

function formatRows(rows: ScheduleRow[]): string {
  if (rows.length === 0) return 'No Trainyard schedules. Services with `cut: { at: … }` get one when a worker starts.';
  const lines = rows.map((r) => {
    const when = (iso: string) => describeTime(Date.parse(iso), r.timeZone);
    const state = r.paused ? `PAUSED (${r.note})` : `next ${r.next[0] ? when(r.next[0]) : '—'}`;
    return `${r.scheduleId.padEnd(30)} ${r.service.padEnd(16)} ${state}${r.lastRun ? `; last run ${when(r.lastRun)}` : ''}`;
  });
  return [`${'SCHEDULE'.padEnd(30)} ${'SERVICE'.padEnd(16)} STATE`, ...lines].join('\n');
}

/** Pausing the cuts of a service is a freeze of its releases: the same right. */
function checkRight(ctx: ServiceContext, by: string): void {
  if (!ctx.operators) return;
  const problem = authorisationProblem({ service: ctx.service, operators: ctx.operators }, by, 'freeze');
  if (problem) throw new Rejected(`rejected: ${problem} (per ${ctx.configPath})`);
}

async function scheduleOf(client: Client, service: string) {
  const handle = client.schedule.getHandle(cutScheduleId(service));
  try {
    return { handle, state: (await handle.describe()).state };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      throw new TrainyardError('UNKNOWN_SERVICE', `service "${service}" has no cut schedule`, 'Schedules come from `cut: { at: "HH:mm" }` in the config and are created when a worker starts; `trainyard schedules list` shows them.');
    }
    throw err;
  }
}

/** Runs `act` on a service's cut schedule, for an operator who holds the service's rights. */
function onCutSchedule(program: Command, service: string, act: (target: Awaited<ReturnType<typeof scheduleOf>> & { by: string }) => Promise<void>): Promise<void> {
  const ctx = serviceContext(program.opts().config, service);
  const by = operator(program.opts().as);
  checkRight(ctx, by);
  return withClient(async (client) => act({ ...(await scheduleOf(client, service)), by }));
}

export function register(program: Command): void {
  const schedules = declare(program, 'schedules');
  schedules
    .command('list', { isDefault: true })
    .description('every Trainyard schedule: paused or not, why, and the next runs')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const rows = await listSchedules(client);
        console.log(opts.json ? JSON.stringify(rows, null, 2) : formatRows(rows));
      });
    });
  schedules
    .command('pause <service>')
    .description("skip a service's scheduled cuts until unpaused")
    .requiredOption('--reason <text>', 'why (the schedule note)')
    .action((service: string, opts: { reason: string }) =>
      onCutSchedule(program, service, async ({ handle, state, by }) => {
        if (state.paused) throw new Rejected(`${cutScheduleId(service)} is already paused: ${state.note ?? ''}`);
        await handle.pause(`Paused by ${by}: ${opts.reason}`.slice(0, 500));
        console.log(`paused ${cutScheduleId(service)} (by ${by}: ${opts.reason})`);
      }),
    );
  schedules
    .command('unpause <service>')
    .description("resume a service's scheduled cuts")
    .requiredOption('--reason <text>', 'why (the schedule note)')
    .action((service: string, opts: { reason: string }) =>
      onCutSchedule(program, service, async ({ handle, state, by }) => {
        if (!state.paused) throw new Rejected(`${cutScheduleId(service)} is not paused`);
        if (state.note?.startsWith(FREEZE_NOTE_PREFIX)) {
          throw new Rejected(`${cutScheduleId(service)} is paused by a production freeze (${state.note}); unfreeze instead: trainyard unfreeze ${service} --reason …`);
        }
        await handle.unpause(`Unpaused by ${by}: ${opts.reason}`.slice(0, 500));
        console.log(`unpaused ${cutScheduleId(service)} (by ${by}: ${opts.reason})`);
      }),
    );
  schedules
    .command('trigger <service>')
    .description('run the scheduled cut now (as the schedule would; skipped if a cut is running)')
    .action(async (service: string) => {
      const ctx = serviceContext(program.opts().config, service);
      const by = operator(program.opts().as);
      checkRight(ctx, by);
      await withClient(async (client) => {
        const { handle } = await scheduleOf(client, service);
        await handle.trigger();
        console.log(`triggered ${cutScheduleId(service)}: a cut of ${service} starts now (trainyard status shows its train)`);
      });
    });
}
