/**
 * How a version bump shows itself: the search attributes trains use (TrainyardService = the
 * consumer, TrainyardStage, TrainyardStatus), the "current details" in the Temporal UI (the
 * request, its pipeline, what the bump waits for) and notifications. No decisions here.
 */
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { BumpNote } from '../activities/version-bump.js';
import { bumpStatusOf, recordAttempt, type BumpEvent, type BumpPlan, type BumpStage, type BumpStatus } from '../domain/version-bump.js';
import { SERVICE, STAGE, STATUS } from './search-attributes.js';

export class BumpReport {
  constructor(
    private readonly plan: BumpPlan,
    private readonly status: BumpStatus,
    private readonly send: (note: BumpNote) => Promise<void>,
  ) {}

  enter(stage: BumpStage): void {
    this.status.stage = stage;
    upsertSearchAttributes([
      { key: SERVICE, value: this.plan.consumer },
      { key: STAGE, value: stage },
      { key: STATUS, value: bumpStatusOf(stage) },
    ]);
    this.showDetails();
  }

  waitFor(what: string): void {
    this.status.waitingFor = what;
    this.showDetails();
  }

  showDetails(): void {
    const s = this.status;
    const mr = s.mr ? `\n\nRequest: [!${s.mr.number}](${s.mr.url}) on \`${s.mr.branch}\`` : '';
    const pipeline = s.pipeline ? `\n\nPipeline: [${s.pipeline.id}](${s.pipeline.url}) ${s.pipeline.status}` : '';
    const waiting = s.waitingFor && bumpStatusOf(s.stage) === 'waiting' ? `\n\n**Waiting for:** ${s.waitingFor}` : '';
    const target = s.target ? ` to \`${s.target.slice(0, 12)}\`` : '';
    const rows = s.attempts.slice(-10).map((a) => `| ${new Date(a.at).toISOString()} | ${a.event} | ${a.note.replaceAll('|', '/')} |`);
    setCurrentDetails(`**${this.plan.component} → ${this.plan.consumer}**${target}: ${s.stage}${mr}${pipeline}${waiting}\n\n| when | what | note |\n|---|---|---|\n${rows.join('\n')}`);
  }

  /** Records the event in the history of attempts and notifies it. */
  async tell(event: BumpEvent, text: string, audience: BumpNote['audience'], link?: string): Promise<void> {
    recordAttempt(this.status, { at: Date.now(), event, note: text });
    this.showDetails();
    const { component, consumer } = this.plan;
    await this.send({ bumpId: this.status.bumpId, component, consumer, event, audience, text, ...(link ? { link } : {}) });
  }
}
