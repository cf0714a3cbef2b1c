/**
 * `http` check: each URL must answer with the expected status (and body text, and version) within
 * the settle period; a freshly deployed service gets that long to come up.
 */
import type { HttpCheckConfig } from '../../domain/config.js';
import type { CheckOutcome } from '../../domain/train.js';
import type { CheckRequest } from '../types.js';
import type { Check, CheckContext } from './check.js';

const RETRY_INTERVAL_MS = 1_000;

/** The version a service reports: JSON `version` field, else the `X-Version` header. */
export async function reportedVersion(response: Response): Promise<string | undefined> {
  const header = response.headers.get('x-version');
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { version?: unknown };
    if (typeof body.version === 'string') return body.version;
  } catch {
    /* not JSON */
  }
  return header ?? undefined;
}

export class HttpCheck implements Check {
  constructor(
    private readonly config: HttpCheckConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** One probe of one URL: undefined when it passed, else what was wrong. */
  private async probe(url: string, tag: string, signal: AbortSignal): Promise<string | undefined> {
    try {
      const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(this.config.timeoutSeconds * 1000)]), redirect: 'manual' });
      if (response.status !== this.config.expectStatus) return `${url} answered ${response.status}, expected ${this.config.expectStatus}`;
      const clone = response.clone();
      const body = await response.text();
      if (this.config.expectBodyContains && !body.includes(this.config.expectBodyContains)) {
        return `${url} body does not contain "${this.config.expectBodyContains}"`;
      }
      if (this.config.expectVersion) {
        const version = await reportedVersion(clone);
        if (version !== tag) return `${url} reports version ${version ?? '(none)'}, expected ${tag}`;
      }
      return undefined;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return `${url} did not answer (${cause ?? (err as Error).name}: ${(err as Error).message})`;
    }
  }

  async run(req: CheckRequest, ctx: CheckContext): Promise<CheckOutcome> {
    const deadline = this.now() + this.config.settleSeconds * 1000;
    let problems: string[] = [];
    for (;;) {
      ctx.heartbeat();
      problems = (await Promise.all(this.config.urls.map((u) => this.probe(u, req.tag, ctx.signal)))).filter((p): p is string => !!p);
      if (problems.length === 0) return { passed: true, summary: `${this.config.urls.length} URL(s) healthy`, url: this.config.urls[0] };
      if (ctx.signal.aborted || this.now() + RETRY_INTERVAL_MS > deadline) break;
      await new Promise((r) => setTimeout(r, RETRY_INTERVAL_MS));
    }
    return { passed: false, summary: problems.join('; '), url: this.config.urls[0] };
  }
}

/** The version an environment reports at `url`; null when it does not answer (nothing deployed yet). */
export async function readVersion(url: string, timeoutMs = 5_000): Promise<string | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return null;
    return (await reportedVersion(response)) ?? null;
  } catch {
    return null;
  }
}
