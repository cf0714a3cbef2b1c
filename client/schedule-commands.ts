/**
 * `trainyard schedules [list|pause|unpause|trigger]`: the service's Temporal Schedules from an
 * operator's side. Pause, unpause and trigger are the production ledger's `cutSchedule` update: its
 * validator checks the right (`freeze` to pause or unpause, `start` to trigger) and a reason, and
 * its history records them; a pause carries who and why as the schedule's note (the Temporal UI
 * shows it). (`temporal schedule toggle` and the UI's pause button act on the schedule directly.)
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { declare } from './commands.js';
import { TrainyardError } from '../domain/errors.js';
import { cutScheduleId, SCHEDULE_PREFIX } from '../domain/ids.js';
import { describeTime } from '../domain/calendar.js';
import type { CutScheduleAction } from '../domain/service-actions.js';
import { cutScheduleUpdate } from '../workflows/ledger-messages.js';
import { operator, Rejected, withClient } from './cli-context.js';
import { serviceAction, serviceContext } from './ledgers.js';
import { say } from './terminal.js';

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

/** Asks the service's production ledger to pause, unpause or trigger its cut schedule; returns who asked. */
function onCutSchedule(program: Command, service: string, action: CutScheduleAction, reason: string): Promise<string> {
  const ctx = serviceContext(program.opts().config, service);
  const by = operator(program.opts().as);
  return withClient(async (client) => {
    await scheduleOf(client, service); // a service without a schedule is named as such
    const outcome = await serviceAction(client, ctx, `schedules ${action}`, (ledger) => ledger.executeUpdate(cutScheduleUpdate, { args: [{ by, reason, action }] }));
    if (!outcome.done) throw new Rejected(outcome.message);
    return by;
  });
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
        say(opts.json ? JSON.stringify(rows, null, 2) : formatRows(rows));
      });
    });
  schedules
    .command('pause <service>')
    .description("skip a service's scheduled cuts until unpaused (the freeze right)")
    .requiredOption('--reason <text>', 'why (the schedule note)')
    .action(async (service: string, opts: { reason: string }) => {
      const by = await onCutSchedule(program, service, 'pause', opts.reason);
      say(`paused ${cutScheduleId(service)} (by ${by}: ${opts.reason})`);
    });
  schedules
    .command('unpause <service>')
    .description("resume a service's scheduled cuts (the freeze right)")
    .requiredOption('--reason <text>', 'why (the schedule note)')
    .action(async (service: string, opts: { reason: string }) => {
      const by = await onCutSchedule(program, service, 'unpause', opts.reason);
      say(`unpaused ${cutScheduleId(service)} (by ${by}: ${opts.reason})`);
    });
  schedules
    .command('trigger <service>')
    .description('run the scheduled cut now (as the schedule would; skipped if a cut is running; the start right)')
    .requiredOption('--reason <text>', 'why (recorded in the production ledger)')
    .action(async (service: string, opts: { reason: string }) => {
      const by = await onCutSchedule(program, service, 'trigger', opts.reason);
      say(`triggered ${cutScheduleId(service)} (by ${by}: ${opts.reason}): a cut of ${service} starts now (trainyard status shows its train)`);
    });
}
