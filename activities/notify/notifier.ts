import type { Notification } from '../types.js';

export type Note = Notification & {
  /** The train in the Temporal UI. */
  link?: string;
  /** Same across retries of one notify activity: a retry skips the channels already sent to. */
  deliveryKey?: string;
};

/** Tells people about a train. Implementations throw on failure; the workflow never waits on them for long. */
export interface Notifier {
  send(note: Note): Promise<void>;
  /** A changelog was published (Slack sets the release channel's topic to it). Optional. */
  changelogPublished?(c: { service: string; tag: string; url: string; trainId: string }): Promise<void>;
}
