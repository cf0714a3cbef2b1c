/**
 * `slack` notifier: posts each selected train event to the configured channels (Web API
 * `chat.postMessage`) and, when a changelog is published, sets the topic channel's topic to its link.
 *
 * A notification must never hold a train up: the WebClient retries a failed request at most twice,
 * each try has a short timeout, and a rate limit is waited out inline only when Slack asks for a few
 * seconds; longer ones fail at once with `retryAfterMs` so the activity retries when Slack said.
 * Slack's errors become NOTIFY_FAILED with a hint; the token never appears in them.
 */
import { ErrorCode, LogLevel, WebClient, type Logger } from '@slack/web-api';
import type { SlackNotifierConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import { readSecret, redact } from '../signing.js';
import type { Notifier } from './notifier.js';

export interface SlackNotifierOptions {
  /** Folder the config's `tokenFile` is relative to. */
  baseDir: string;
  environment?: Record<string, string | undefined>;
  /** Where the WebClient's warnings go (redacted). */
  log?: (line: string) => void;
  /** Per request; default 5 s. With two retries a call gives up within ~17 s, inside the activity's 30 s. */
  requestTimeoutMs?: number;
  /** The longest Retry-After waited inline (default 3 s). */
  maxRateLimitWaitMs?: number;
}

/** A note may carry a key stable across retries of one activity; channels that already got it are skipped. */
type Note = Parameters<Notifier['send']>[0] & { deliveryKey?: string };

/** Error codes that mean the config or the Slack app is wrong: retrying will not help. */
const MISCONFIGURED: Record<string, string> = {
  invalid_auth: 'Slack refused the token',
  not_authed: 'no token reached Slack',
  account_inactive: 'the token belongs to a deactivated user or app',
  token_revoked: 'the token was revoked',
  token_expired: 'the token expired',
  missing_scope: 'the token lacks a scope this needs',
  no_permission: 'the app has no permission for this',
  channel_not_found: 'the channel does not exist or the app cannot see it',
  not_in_channel: 'the app is not a member of the channel',
  is_archived: 'the channel is archived',
  restricted_action: 'the workspace does not allow the app to do this',
};

const DELIVERY_MEMORY_MS = 60 * 60 * 1000;

export class SlackNotifier implements Notifier {
  private client: WebClient | undefined;
  private token = '';
  /** Channel name → id, from conversations.list (setTopic needs an id). */
  private readonly channelIds = new Map<string, string>();
  /** `deliveryKey channel` → when it was posted; lets an activity retry skip channels already done. */
  private readonly delivered = new Map<string, number>();

  constructor(
    private readonly config: SlackNotifierConfig,
    private readonly options: SlackNotifierOptions,
  ) {}

  async send(note: Note): Promise<void> {
    if (this.config.events && !this.config.events.includes(note.event)) return;
    this.webClient(); // a missing token is a config error, not one per channel
    const message = slackMessage(note);
    const channels = this.config.channels.filter((c) => !note.deliveryKey || !this.delivered.has(`${note.deliveryKey} ${c}`));
    const results = await Promise.allSettled(channels.map((channel) => this.call('chat.postMessage', { channel, ...message, unfurl_links: false })));
    const failures: { channel: string; error: TrainyardError }[] = [];
    results.forEach((r, i) => {
      const channel = channels[i] as string;
      if (r.status === 'rejected') failures.push({ channel, error: r.reason as TrainyardError });
      else if (note.deliveryKey) this.remember(`${note.deliveryKey} ${channel}`);
    });
    const first = failures[0];
    if (!first) return;
    const detail = failures.map((f) => `${f.channel}: ${f.error.message}`).join('; ');
    const waits = failures.flatMap((f) => (f.error.retryAfterMs === undefined ? [] : [f.error.retryAfterMs]));
    const summary = `Slack did not get "${note.event}" of ${note.service} in ${failures.length} of ${channels.length} channel(s) (${detail})`;
    throw new TrainyardError('NOTIFY_FAILED', summary, first.error.hint, waits.length ? { retryAfterMs: Math.max(...waits) } : undefined);
  }

  /** Sets the topic channel's topic to the changelog link; nothing when no topic channel is configured. */
  async changelogPublished(c: { service: string; tag: string; url: string; trainId: string }): Promise<void> {
    const channel = this.config.topicChannel;
    if (!channel) return;
    const id = await this.channelId(channel);
    try {
      await this.call('conversations.setTopic', { channel: id, topic: topicFor(c.service, c.tag, c.url) });
    } catch (err) {
      // The channel may have been renamed or re-created: look it up again next time.
      this.channelIds.delete(channel.replace(/^#/, ''));
      throw err;
    }
  }

  private remember(key: string): void {
    const now = Date.now();
    this.delivered.set(key, now);
    // Oldest first: forget what is past any retry, and keep the memory bounded.
    for (const [k, at] of this.delivered) {
      if (this.delivered.size <= 1_000 && at > now - DELIVERY_MEMORY_MS) break;
      this.delivered.delete(k);
    }
  }

  /** A channel id for a name (`#release-coordination` or `release-coordination`); ids pass through. */
  private async channelId(channel: string): Promise<string> {
    if (/^[CG][A-Z0-9]{6,}$/.test(channel)) return channel;
    const name = channel.replace(/^#/, '');
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const known = this.channelIds.get(name);
      if (known) return known;
      if (page > 0 && !cursor) break;
      const result = (await this.call('conversations.list', { types: 'public_channel,private_channel', exclude_archived: true, limit: 200, ...(cursor ? { cursor } : {}) })) as {
        channels?: { id?: string; name?: string }[];
        response_metadata?: { next_cursor?: string };
      };
      for (const c of result.channels ?? []) if (c.id && c.name) this.channelIds.set(c.name, c.id);
      cursor = result.response_metadata?.next_cursor || undefined;
    }
    throw new TrainyardError(
      'NOTIFY_FAILED',
      `Slack channel #${name} was not found among the channels the app can see`,
      'Check topicChannel in the config (or give the channel id, C…); the token needs channels:read (groups:read for a private channel)',
    );
  }

  private webClient(): WebClient {
    if (!this.client) {
      const { tokenEnv, tokenFile } = this.config;
      this.token = readSecret({ env: tokenEnv, ...(tokenFile ? { file: tokenFile } : {}), what: 'Slack token' }, this.options.baseDir, this.options.environment);
      const apiUrl = this.config.apiUrl.endsWith('/') ? this.config.apiUrl : `${this.config.apiUrl}/`;
      this.client = new WebClient(this.token, {
        slackApiUrl: apiUrl,
        logger: this.logger(),
        timeout: this.options.requestTimeoutMs ?? 5_000,
        retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2_000, randomize: false },
        rejectRateLimitedCalls: true,
        maxRequestConcurrency: 10,
      });
    }
    return this.client;
  }

  /** One Web API call; short rate limits waited out here, everything else translated. */
  private async call(method: string, args: Record<string, unknown>): Promise<unknown> {
    const client = this.webClient();
    let waitedMs = 0;
    for (;;) {
      try {
        return await client.apiCall(method, args);
      } catch (err) {
        const e = err as { code?: string; retryAfter?: number };
        const waitMs = (e.retryAfter ?? 0) * 1000;
        if (e.code === ErrorCode.RateLimitedError && waitedMs + waitMs <= (this.options.maxRateLimitWaitMs ?? 3_000)) {
          waitedMs += waitMs;
          await new Promise((r) => setTimeout(r, waitMs));
          continue;
        }
        throw this.translate(method, err);
      }
    }
  }

  private translate(method: string, err: unknown): TrainyardError {
    if (err instanceof TrainyardError) return err;
    const e = err as { code?: string; data?: { error?: string }; statusCode?: number; retryAfter?: number; original?: Error & { cause?: { code?: string } } };
    const where = `${this.config.tokenFile ?? this.config.tokenEnv}`;
    switch (e.code) {
      case ErrorCode.PlatformError: {
        const code = e.data?.error ?? 'unknown_error';
        const known = MISCONFIGURED[code];
        if (known) return new TrainyardError('NOTIFY_MISCONFIGURED', `Slack ${method} failed: ${code}`, `${known}: check the Slack app (token in ${where}, scopes chat:write, channels:read) and the channel names in the config`);
        return new TrainyardError('NOTIFY_FAILED', `Slack ${method} failed: ${code}`, 'It is retried a few times');
      }
      case ErrorCode.RateLimitedError:
        return new TrainyardError('NOTIFY_FAILED', `Slack rate-limited ${method} for ${e.retryAfter ?? '?'} s`, 'It is retried when Slack allows', { retryAfterMs: (e.retryAfter ?? 1) * 1000 });
      case ErrorCode.HTTPError:
        return new TrainyardError('NOTIFY_FAILED', `Slack ${method} answered HTTP ${e.statusCode ?? '?'} after 3 tries`, 'Slack may be degraded (https://slack-status.com); it is retried');
      case ErrorCode.RequestError: {
        const why = e.original?.name === 'TimeoutError' ? 'timed out' : (e.original?.cause?.code ?? e.original?.message ?? 'failed');
        return new TrainyardError('NOTIFY_FAILED', `Slack ${method} request ${redact(String(why), this.token)} after 3 tries`, `Check that the worker can reach ${this.config.apiUrl}; it is retried`);
      }
      default:
        return new TrainyardError('NOTIFY_FAILED', `Slack ${method} failed: ${redact((err as Error).message ?? String(err), this.token)}`, 'It is retried a few times');
    }
  }

  private logger(): Logger {
    const write = this.options.log ?? ((line: string) => console.warn(line));
    const line = (level: string) => (...msg: unknown[]) => write(`[slack] ${level}: ${redact(msg.map(String).join(' '), this.token)}`);
    let level = LogLevel.WARN;
    return {
      debug: () => undefined,
      info: () => undefined,
      warn: line('warn'),
      error: line('error'),
      setLevel: (l) => {
        level = l;
      },
      getLevel: () => level,
      setName: () => undefined,
    };
  }
}

/** Slack's topic limit. */
export const TOPIC_MAX = 250;

/** The topic for a published changelog; drops words before it would cut the link. */
export function topicFor(service: string, tag: string, url: string): string {
  const candidates = [`${service} ${tag} changelog: ${url}`, `${tag} changelog: ${url}`, url];
  return candidates.find((c) => [...c].length <= TOPIC_MAX) ?? `${[...url].slice(0, TOPIC_MAX - 1).join('')}…`;
}

/** Slack mrkdwn treats &, < and > as control characters. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const EMOJI: Partial<Record<Note['event'], string>> = {
  released: ':white_check_mark:',
  failed: ':x:',
  'rollback-failed': ':rotating_light:',
  'rolled-back': ':rewind:',
  'check-failed': ':warning:',
  'awaiting-decision': ':raised_hand:',
  frozen: ':snowflake:',
};

/** The message: a fallback text (notifications, screen readers) and blocks with the UI link. */
export function slackMessage(note: Note): { text: string; blocks: unknown[] } {
  const emoji = EMOJI[note.event] ? `${EMOJI[note.event]} ` : '';
  const headline = `${emoji}*${escape(note.service)}* · ${note.event}`;
  // A section's text is limited to 3,000 characters.
  const body = escape(note.text).slice(0, 2_900);
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: `${headline}\n${body}` } }];
  if (note.link) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${note.link}|Open ${escape(note.trainId)} in the Temporal UI>` }] });
  const text = `${note.service} ${note.event}: ${escape(note.text)}${note.link ? ` ${note.link}` : ''}`;
  return { text, blocks };
}
