/**
 * `webhook` annotator: a signed JSON POST {service, environment, tag, trainId, at} when a version
 * becomes active (for monitoring systems other than Grafana). `at` is milliseconds since the epoch.
 */
import type { WebhookAnnotatorConfig } from '../../domain/config.js';
import { failUnlessDelivered } from '../notify/webhook.js';
import type { Annotator } from '../registry.js';
import { displayUrl, postSigned, readSecret } from '../signing.js';

const TIMEOUT_MS = 10_000;

export class WebhookAnnotator implements Annotator {
  constructor(
    private readonly config: WebhookAnnotatorConfig,
    private readonly environment: Record<string, string | undefined> = process.env,
  ) {}

  async annotate(a: Parameters<Annotator['annotate']>[0]): Promise<void> {
    const secret = readSecret({ env: this.config.secretEnv, what: 'webhook annotator signing secret' }, '.', this.environment);
    const payload = { service: a.service, environment: a.environment, tag: a.tag, trainId: a.trainId, at: a.at };
    const outcome = await postSigned(this.config.url, secret, payload, { timeoutMs: TIMEOUT_MS });
    failUnlessDelivered(outcome, `annotation webhook ${displayUrl(this.config.url)}`, secret);
  }
}
