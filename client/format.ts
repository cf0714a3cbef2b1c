/** How trains look in a terminal. */
import { describeTime } from '../domain/calendar.js';
import type { TrainStatus } from '../domain/train.js';
import type { TrainSummary } from './trains.js';

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function formatTrainList(trains: TrainSummary[]): string {
  if (trains.length === 0) return 'No active trains.';
  return table([['TRAIN', 'STAGE', 'STARTED'], ...trains.map((t) => [t.trainId, t.stage, t.startTime.toISOString()])]);
}

export function formatTrain(s: TrainStatus): string {
  const when = (ms: number) => describeTime(ms, s.timeZone);
  const lines = [
    `Train     ${s.trainId}`,
    `Stage     ${s.stage}${s.waitingFor ? ` — waiting for ${s.waitingFor}` : ''}`,
    `Commit    ${s.commit}`,
    `Release   ${when(s.releaseAt)}`,
    `Started   by ${s.startedBy}`,
  ];
  if (s.e2e) lines.push(`E2E       ${s.e2e.passed ? 'passed' : 'FAILED'}: ${s.e2e.summary}`);
  const v = s.versions;
  lines.push(`Versions  staging=${v.staging ?? '-'} production=${v.production ?? '-'}${v.previousProduction ? ` (previous ${v.previousProduction})` : ''}`);
  if (s.error) lines.push(`Error     ${s.error}`);
  lines.push('', table([['STAGE', 'STARTED', 'ENDED', 'NOTE'], ...s.stages.map((r) => [r.stage, when(r.startedAt), r.endedAt ? when(r.endedAt) : '', r.note ?? ''])]));
  if (s.actions.length > 0) {
    lines.push('', table([['ACTION', 'BY', 'AT', 'REASON'], ...s.actions.map((a) => [a.kind, a.by, when(a.at), a.reason])]));
  }
  return lines.join('\n');
}
