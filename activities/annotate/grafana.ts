/**
 * `grafana` annotator: marks the moment a version became active as a Grafana annotation
 * (POST {url}/api/annotations with a service-account token), tagged with the config's tags, the
 * service and the environment, so a dashboard can show deploys of one service next to its graphs.
 */
import type { GrafanaAnnotatorConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import type { Annotator } from '../registry.js';
import { bodyTail, displayUrl, postJson, readSecret } from '../signing.js';

const TIMEOUT_MS = 10_000;

type Annotation = Parameters<Annotator['annotate']>[0];

export class GrafanaAnnotator implements Annotator {
  constructor(
    private readonly config: GrafanaAnnotatorConfig,
    private readonly baseDir: string,
    private readonly environment: Record<string, string | undefined> = process.env,
  ) {}

  async annotate(a: Annotation): Promise<void> {
    const token = readSecret({ env: this.config.tokenEnv, ...(this.config.tokenFile ? { file: this.config.tokenFile } : {}), what: 'Grafana token' }, this.baseDir, this.environment);
    const url = `${this.config.url.replace(/\/+$/, '')}/api/annotations`;
    const body = {
      time: a.at,
      tags: [...new Set([...this.config.tags, a.service, a.environment])],
      text: `${a.service} ${a.tag} active in ${a.environment} (train ${a.trainId})`,
      ...(this.config.dashboardUid ? { dashboardUID: this.config.dashboardUid } : {}),
    };
    const outcome = await postJson(url, JSON.stringify(body), { authorization: `Bearer ${token}`, accept: 'application/json' }, { timeoutMs: TIMEOUT_MS });
    const what = `Grafana ${displayUrl(url)}`;
    if (outcome.kind === 'answered') {
      if (outcome.status >= 200 && outcome.status < 300) return;
      const tail = bodyTail(outcome.text, token);
      const hint =
        outcome.status === 401 || outcome.status === 403
          ? `Check the token in ${this.config.tokenFile ?? this.config.tokenEnv}: a service-account token with the annotations:write permission`
          : 'It is retried; check that Grafana is up';
      const code = outcome.status === 401 || outcome.status === 403 ? 'NOTIFY_MISCONFIGURED' : 'NOTIFY_FAILED';
      throw new TrainyardError(code, `${what} answered ${outcome.status}${tail ? `: ${tail}` : ''}`, hint, outcome.retryAfterMs === undefined ? undefined : { retryAfterMs: outcome.retryAfterMs });
    }
    const why = outcome.kind === 'unreachable' ? `is unreachable (${outcome.reason})` : outcome.kind === 'timeout' ? `did not answer within ${TIMEOUT_MS / 1000} s` : 'call was cancelled';
    throw new TrainyardError('NOTIFY_FAILED', `${what} ${why}`, 'It is retried; check that Grafana is up and reachable from the worker');
  }
}
