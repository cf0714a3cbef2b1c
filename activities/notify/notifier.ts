import type { Notification } from '../types.js';

/** Tells people about a train. Implementations throw on failure; the workflow never waits on them for long. */
export interface Notifier {
  send(note: Notification & { link?: string }): Promise<void>;
}
