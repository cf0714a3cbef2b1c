/** How trains look in a terminal. */
import { describeTime } from '../domain/calendar.js';
import { describeFreeze, type DeploymentRecord } from '../domain/ledger.js';
import type { EnvironmentName, TrainStatus } from '../domain/train.js';
import type { LedgerView } from './ledgers.js';
import type { TrainSummary } from './trains.js';

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function formatTrainList(trains: TrainSummary[]): string {
  if (trains.length === 0) return 'No active trains.';
  // Trains of several services (each with its own zone) share the list: their start times are in UTC.
  return table([['TRAIN', 'STAGE', 'STARTED'], ...trains.map((t) => [t.trainId, t.stage, describeTime(t.startTime.getTime(), 'UTC')])]);
}

/** What runs in each environment now, per its ledger (the last verified deployment). */
export type Running = Partial<Record<EnvironmentName, Pick<DeploymentRecord, 'tag' | 'at'>>>;

export function formatTrain(s: TrainStatus, running?: Running): string {
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
  lines.push(`Versions  staging=${v.staging ?? '-'} production=${v.production ?? '-'}${v.previousProduction ? ` (previous ${v.previousProduction})` : ''} (as this train deployed them)`);
  if (running) {
    const now = (env: EnvironmentName) => {
      const r = running[env];
      return r ? `${r.tag} (since ${when(r.at)})` : 'nothing yet';
    };
    lines.push(`Running   staging=${now('staging')} production=${now('production')}`);
  }
  if (s.changelog) {
    const c = s.changelog;
    lines.push(`Changelog ${c.url} (${c.commits}${c.truncated ? '+' : ''} commit${c.commits === 1 ? '' : 's'}${c.fromTag ? ` since ${c.fromTag}` : ''})`);
  }
  if (s.error) lines.push(`Error     ${s.error}`);
  lines.push('', table([['STAGE', 'STARTED', 'ENDED', 'NOTE'], ...s.stages.map((r) => [r.stage, when(r.startedAt), r.endedAt ? when(r.endedAt) : '', r.note ?? ''])]));
  if (s.actions.length > 0) {
    const kind = (a: TrainStatus['actions'][number]) => `${a.kind}${a.overrideFreeze ? ' (override freeze)' : ''}${a.overrideBackwards ? ` (over ${a.overrideBackwards})` : ''}`;
    lines.push('', table([['ACTION', 'BY', 'AT', 'REASON'], ...s.actions.map((a) => [kind(a), a.by, when(a.at), a.reason])]));
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
  if (!exists && !view.frozen.frozen) return `${title}: no train has deployed here and nobody has frozen it yet (the ledger is created by the first train or freeze).`;
  const h = view.holder;
  const fv = view.frozen;
  // The freeze in force is the manual one when it is the one the ledger reports; else a freeze window of the config.
  const f = fv.frozen && view.freeze && view.freeze.by === fv.by && view.freeze.reason === fv.reason ? view.freeze : undefined;
  const freeze = !fv.frozen
    ? 'not frozen'
    : f
      ? `${describeFreeze({ ...fv, until: undefined })}; since ${when(f.at)}, ${f.until !== undefined ? `until ${when(f.until)}` : 'until someone unfreezes it'}${f.ownerTrainId ? ` or ${f.ownerTrainId} ends` : ''}`
      : `${describeFreeze({ ...fv, until: undefined })}${fv.until !== undefined ? `, until ${when(fv.until)}` : ''}`;
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
    lines.push('', `Deployments, newest first${of}:`, table([['AT', 'TAG', 'OUTCOME', 'BY', 'TRAIN', 'NOTE'], ...recent.map((d) => [when(d.at), d.tag, d.outcome, d.by, d.trainId, d.note ?? ''])]));
  }
  return lines.join('\n');
}
