/** Finding trains: by id, or by service when it has exactly one active train. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TrainyardError } from '../domain/errors.js';
import { describeTime } from '../domain/calendar.js';
import { parseTrainId } from '../domain/ids.js';
import { isFinal, type TrainStatus } from '../domain/train.js';
import { statusQuery } from '../workflows/messages.js';

export interface TrainSummary {
  trainId: string;
  service: string;
  tag: string;
  stage: string;
  startTime: Date;
}

/** Trains matching a visibility query, newest first (sorted here: SQLite visibility has no ORDER BY). */
async function listTrains(client: Client, where: string, limit = 1000): Promise<TrainSummary[]> {
  const trains: TrainSummary[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = "releaseTrain"${where}` })) {
    const parsed = parseTrainId(wf.workflowId);
    const attrs = wf.searchAttributes as Record<string, unknown[] | undefined>;
    trains.push({
      trainId: wf.workflowId,
      service: parsed?.service ?? '?',
      tag: parsed?.tag ?? '?',
      stage: String(attrs.TrainyardStage?.[0] ?? '?'),
      startTime: wf.startTime,
    });
    if (trains.length >= limit) break;
  }
  return trains.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
}

function serviceFilter(service: string | undefined): string {
  return service ? ` AND TrainyardService = "${service.replace(/["\\]/g, '')}"` : '';
}

/** Active (running) trains, newest first; optionally of one service. */
export async function activeTrains(client: Client, service?: string): Promise<TrainSummary[]> {
  return listTrains(client, ` AND ExecutionStatus = "Running"${serviceFilter(service)}`);
}

function listing(trains: TrainSummary[]): string {
  return trains.length === 0 ? 'There are no active trains.' : `Active trains:\n${trains.map((t) => `  ${t.trainId} (${t.stage})`).join('\n')}`;
}

/**
 * A train id (`train/<service>/<tag>`) as given, the train of a tag, or the one active train of a
 * service; for read-only commands, the service's latest train when none is active.
 */
export async function resolveTrain(client: Client, name: string, options: { latestIfNoneActive?: boolean } = {}): Promise<string> {
  if (name.startsWith('train/')) return name;
  const trains = await activeTrains(client, name);
  if (trains.length === 1 && trains[0]) return trains[0].trainId;
  if (trains.length === 0) {
    // A tag names one train (of whichever service), e.g. `api/v2026.12.03.15`.
    const [tagged] = await listTrains(client, ` AND TrainyardTag = "${name.replace(/["\\]/g, '')}"`, 1);
    if (tagged) return tagged.trainId;
  }
  if (trains.length === 0 && options.latestIfNoneActive) {
    const [latest] = await listTrains(client, serviceFilter(name), 1);
    if (latest) return latest.trainId;
  }
  if (trains.length > 1) {
    throw new TrainyardError('UNKNOWN_TRAIN', `service "${name}" has ${trains.length} active trains`, `Name one by its id.\n${listing(trains)}`);
  }
  throw new TrainyardError('UNKNOWN_TRAIN', `"${name}" is neither a train id, a train's tag, nor a service with an active train`, listing(await activeTrains(client)));
}

export async function trainStatus(client: Client, id: string): Promise<TrainStatus> {
  try {
    return await client.workflow.getHandle(id).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new TrainyardError('UNKNOWN_TRAIN', `there is no train ${id}`, listing(await activeTrains(client)));
    }
    throw err;
  }
}

/** What `watch` has printed of a train so far. */
export interface WatchState {
  stagesShown: number;
  waitingShown?: string;
}

/**
 * The lines `watch` prints for a new status: every stage the train entered since the last one shown
 * (so a stage shorter than the poll is never skipped), each at the time it began, then what the
 * train waits for when that changed. Times are in the service's zone with its offset.
 */
export function watchLines(s: TrainStatus, seen: WatchState): string[] {
  const lines: string[] = [];
  for (const record of s.stages.slice(seen.stagesShown)) {
    lines.push(`${describeTime(record.startedAt, s.timeZone)}  ${record.stage}${record.note ? ` (${record.note})` : ''}`);
    seen.waitingShown = undefined;
  }
  seen.stagesShown = s.stages.length;
  if (s.waitingFor && s.waitingFor !== seen.waitingShown) lines.push(`${describeTime(Date.now(), s.timeZone)}  waiting for ${s.waitingFor}`);
  seen.waitingShown = s.waitingFor;
  return lines;
}

/**
 * Calls `onLine` with each line of `watchLines` until the train ends (returns its final status) or
 * `stopped()` says so (returns undefined). Query failures while a worker restarts are retried when
 * `tolerateErrors` is set.
 */
export async function followTrain(
  client: Client,
  id: string,
  onLine: (line: string) => void,
  options: { stopped?: () => boolean; tolerateErrors?: boolean } = {},
): Promise<TrainStatus | undefined> {
  const seen: WatchState = { stagesShown: 0 };
  while (!options.stopped?.()) {
    try {
      const s = await trainStatus(client, id);
      for (const line of watchLines(s, seen)) onLine(line);
      if (isFinal(s.stage)) return s;
    } catch (err) {
      if (!options.tolerateErrors) throw err;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return undefined;
}
