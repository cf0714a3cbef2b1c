/** Finding trains: by id, or by service when it has exactly one active train. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TrainyardError } from '../domain/errors.js';
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
 * A train id (`train/<service>/<tag>`) as given, or the one active train of a service; for read-only
 * commands, the service's latest train when none is active.
 */
export async function resolveTrain(client: Client, name: string, options: { latestIfNoneActive?: boolean } = {}): Promise<string> {
  if (name.startsWith('train/')) return name;
  const trains = await activeTrains(client, name);
  if (trains.length === 1 && trains[0]) return trains[0].trainId;
  if (trains.length === 0 && options.latestIfNoneActive) {
    const [latest] = await listTrains(client, serviceFilter(name), 1);
    if (latest) return latest.trainId;
  }
  if (trains.length > 1) {
    throw new TrainyardError('UNKNOWN_SERVICE', `service "${name}" has ${trains.length} active trains`, `Name one by its id.\n${listing(trains)}`);
  }
  throw new TrainyardError('UNKNOWN_SERVICE', `"${name}" is neither a train id nor a service with an active train`, listing(await activeTrains(client)));
}

export async function trainStatus(client: Client, id: string): Promise<TrainStatus> {
  try {
    return await client.workflow.getHandle(id).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new TrainyardError('UNKNOWN_SERVICE', `there is no train ${id}`, listing(await activeTrains(client)));
    }
    throw err;
  }
}

/**
 * Calls `onChange` with each new "stage — waiting for …" line until the train ends (returns its
 * final status) or `stopped()` says so (returns undefined). Query failures while a worker restarts
 * are retried when `tolerateErrors` is set.
 */
export async function followTrain(
  client: Client,
  id: string,
  onChange: (line: string) => void,
  options: { stopped?: () => boolean; tolerateErrors?: boolean } = {},
): Promise<TrainStatus | undefined> {
  let last = '';
  while (!options.stopped?.()) {
    try {
      const s = await trainStatus(client, id);
      const line = `${s.stage}${s.waitingFor ? ` — waiting for ${s.waitingFor}` : ''}`;
      if (line !== last) onChange(line);
      last = line;
      if (isFinal(s.stage)) return s;
    } catch (err) {
      if (!options.tolerateErrors) throw err;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return undefined;
}
