/**
 * How a train shows itself: its stage records, the search attributes and "current details" the
 * Temporal UI displays, and notifications. Deterministic workflow code; no decisions here.
 */
import { isCancellation, log, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Notification, TrainEvent } from '../activities/types.js';
import { describeTime } from '../domain/calendar.js';
import { enterStage, environmentOf, statusOf, type ChangelogSummary, type EnvironmentName, type Stage, type TrainInput, type TrainStatus } from '../domain/train.js';
import { handlerNotifier, notifier } from './activity-options.js';
import { ENVIRONMENT, SERVICE, STAGE, STATUS, TAG } from './search-attributes.js';

/**
 * The changelog in the UI: a link when the forge serves it on the web; otherwise (the local-git
 * forge writes a file) where it is, since a web page cannot open a `file://` link.
 */
export function changelogLine(c: ChangelogSummary): string {
  const what = `${c.commits}${c.truncated ? '+' : ''} commit${c.commits === 1 ? '' : 's'}${c.fromTag ? ` since ${c.fromTag}` : ''}`;
  if (/^https?:\/\//.test(c.url)) return `**Changelog:** [${what}](${c.url})`;
  const path = c.url.startsWith('file://') ? decodeURIComponent(c.url.slice('file://'.length)) : c.url;
  return `**Changelog:** ${what}, in \`${path}\` on the machine of the local forge`;
}

export class TrainReport {
  private environment?: EnvironmentName;

  constructor(
    private readonly input: TrainInput,
    private readonly status: TrainStatus,
  ) {}

  enter(stage: Stage, note?: string): void {
    enterStage(this.status, stage, Date.now(), note);
    this.environment = environmentOf(stage, this.environment);
    upsertSearchAttributes([
      { key: SERVICE, value: this.input.service },
      { key: TAG, value: this.input.tag },
      { key: STAGE, value: stage },
      { key: STATUS, value: statusOf(stage) },
      ...(this.environment ? [{ key: ENVIRONMENT, value: this.environment }] : []),
    ]);
    this.showDetails();
  }

  /** Says what the train waits for (in the status query and the UI). */
  waitFor(why: string): void {
    this.status.waitingFor = why;
    this.showDetails();
  }

  markFailed(why: string): void {
    this.enter('failed', why);
    this.status.error = why;
  }

  /** The "current details" shown on the workflow's page in the Temporal UI (Markdown). */
  showDetails(): void {
    const zone = this.input.policy.release.timeZone;
    const rows = this.status.stages.map((s) => `| ${s.stage} | ${describeTime(s.startedAt, zone)} | ${s.note ?? ''} |`);
    const waiting = this.status.waitingFor ? `\n\n**Waiting for:** ${this.status.waitingFor}` : '';
    const changelog = this.status.changelog ? `\n\n${changelogLine(this.status.changelog)}` : '';
    setCurrentDetails(`**${this.input.tag}**: ${this.status.stage}${waiting}${changelog}\n\n| stage | since | note |\n|---|---|---|\n${rows.join('\n')}`);
  }

  /** Marks in monitoring that `tag` is now active in `environment`; like notifications, never fatal. */
  async annotate(environment: EnvironmentName, tag: string): Promise<void> {
    const req = { service: this.input.service, environment, tag, trainId: this.status.trainId, at: Date.now() };
    try {
      await notifier.annotate.executeWithOptions({ summary: `Annotate: ${tag} active in ${environment}` }, [req]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('annotation failed; the train goes on', { environment, error: String(err) });
    }
  }

  /**
   * Notifications never block or fail a train: the activity retries, then we log and go on.
   * `fromHandler`: sent inside a message handler, where only regular activities replay safely.
   */
  async tell(event: TrainEvent, text: string, fromHandler = false): Promise<void> {
    const note: Notification = { service: this.input.service, trainId: this.status.trainId, event, text };
    try {
      const via = fromHandler ? handlerNotifier : notifier;
      await via.notify.executeWithOptions({ summary: `Notify: ${event}` }, [note]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('notification failed; the train goes on', { event, error: String(err) });
    }
  }
}
