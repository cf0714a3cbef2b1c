/**
 * `webhook` notifier: a signed JSON POST per train event (see activities/signing.ts for the
 * headers a receiver verifies). Body: {event, service, trainId, text, link?, at}.
 */
import type { WebhookNotifierConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import { bodyTail, displayUrl, postSigned, readSecret, type PostOutcome } from '../signing.js';
import type { Notifier } from './notifier.js';

const TIMEOUT_MS = 10_000;

export class WebhookNotifier implements Notifier {
  constructor(
    private readonly config: WebhookNotifierConfig,
    private readonly environment: Record<string, string | undefined> = process.env,
    private readonly now: () => number = Date.now,
  ) {}

  async send(note: Parameters<Notifier['send']>[0]): Promise<void> {
    if (this.config.events && !this.config.events.includes(note.event)) return;
    const secret = readSecret({ env: this.config.secretEnv, what: 'webhook notifier signing secret' }, '.', this.environment);
    const payload = { event: note.event, service: note.service, trainId: note.trainId, text: note.text, ...(note.link ? { link: note.link } : {}), at: new Date(this.now()).toISOString() };
    const outcome = await postSigned(this.config.url, secret, payload, { timeoutMs: TIMEOUT_MS });
    failUnlessDelivered(outcome, `notification webhook ${displayUrl(this.config.url)}`, secret);
  }
}

/**
 * Throws NOTIFY_FAILED for anything but a 2xx answer (shared with the webhook annotator). Rate
 * limits keep the server's Retry-After so the retry comes when it asked.
 */
export function failUnlessDelivered(outcome: PostOutcome, what: string, secret?: string): void {
  const hint = 'It is retried a few times; check that the receiver is up and verifies with the same secret';
  switch (outcome.kind) {
    case 'answered': {
      if (outcome.status >= 200 && outcome.status < 300) return;
      const tail = bodyTail(outcome.text, secret);
      const signatureHint = outcome.status === 401 || outcome.status === 403 ? 'The receiver refused the signature: give it the same secret as the worker' : hint;
      const code = outcome.status === 401 || outcome.status === 403 ? 'NOTIFY_MISCONFIGURED' : 'NOTIFY_FAILED';
      throw new TrainyardError(code, `${what} answered ${outcome.status}${tail ? `: ${tail}` : ''}`, signatureHint, outcome.retryAfterMs === undefined ? undefined : { retryAfterMs: outcome.retryAfterMs });
    }
    case 'timeout':
      throw new TrainyardError('NOTIFY_FAILED', `${what} did not answer within ${TIMEOUT_MS / 1000} s`, hint);
    case 'cancelled':
      throw new TrainyardError('NOTIFY_FAILED', `${what}: cancelled`, 'The activity was cancelled');
    case 'unreachable':
      throw new TrainyardError('NOTIFY_FAILED', `${what} is unreachable (${outcome.reason})`, hint);
  }
}
