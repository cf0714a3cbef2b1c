/** How trains look in a terminal. */
import { describeTime } from '../domain/calendar.js';
import { describeFreeze } from '../domain/ledger.js';
import type { TrainStatus } from '../domain/train.js';
import type { LedgerView } from './ledgers.js';
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

/** How many deployments `trainyard env` lists. */
export const SHOWN_DEPLOYMENTS = 10;

/** Who the ledger lets act: each operator with their rights, `read only` for `rights: []`. */
function rightsLine(view: LedgerView): string {
  if (!view.configured) return "not known yet: the ledger has not read the service's config (every operator action is refused until it has)";
  if (!view.operators) return "none: the service's config has no operators, so anyone may act";
  return `enforced for ${view.operators.map((o) => `${o.name} (${o.rights.length > 0 ? o.rights.join(', ') : 'read only'})`).join(', ')}`;
}

/** An environment ledger: lock, queue, freeze, the last deployments (newest first). */
export function formatLedger(view: LedgerView, timeZone: string, exists = true): string {
  const when = (ms: number) => describeTime(ms, timeZone);
  const title = `${view.service} ${view.environment}`;
  if (!exists) return `${title}: no train has deployed here and nobody has frozen it yet (the ledger is created by the first train or freeze).`;
  const h = view.holder;
  const f = view.frozen.frozen ? view.freeze : undefined;
  const freeze = f
    ? `${describeFreeze({ ...view.frozen, until: undefined })}; since ${when(f.at)}, ${f.until !== undefined ? `until ${when(f.until)}` : 'until someone unfreezes it'}${f.ownerTrainId ? ` or ${f.ownerTrainId} ends` : ''}`
    : 'not frozen';
  const lines = [
    `Ledger    ${title}`,
    `Lock      ${h ? `held by ${h.trainId} (${h.tag}) since ${when(h.grantedAt)}` : 'free'}`,
    `Freeze    ${freeze}`,
    `Rights    ${rightsLine(view)}`,
    `Queue     ${view.queue.length === 0 ? 'empty' : `${view.queue.length} waiting`}`,
  ];
  if (view.queue.length > 0) {
    lines.push('', table([['TRAIN', 'TAG', 'SINCE', 'WAITING BECAUSE'], ...view.queue.map((q) => [q.trainId, q.tag, when(q.requestedAt), q.toldWhy ?? ''])]));
  }
  const recent = view.deployments.slice(-SHOWN_DEPLOYMENTS).reverse();
  if (recent.length === 0) {
    lines.push('', 'No deployments recorded yet.');
  } else {
    const of = view.deployments.length > recent.length ? ` (last ${recent.length} of ${view.deployments.length})` : '';
    lines.push('', `Deployments, newest first${of}:`, table([['AT', 'TAG', 'OUTCOME', 'BY', 'TRAIN'], ...recent.map((d) => [when(d.at), d.tag, d.outcome, d.by, d.trainId])]));
  }
  return lines.join('\n');
}
