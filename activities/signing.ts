/**
 * Signed webhooks, both ways: what Trainyard sends (webhook notifier, annotator and deployer) and
 * what it receives (deploy callbacks). One scheme for all of them, so a receiver verifies every
 * Trainyard request with the same dozen lines:
 *
 *   X-Trainyard-Timestamp: <unix seconds>
 *   X-Trainyard-Delivery: <uuid>
 *   X-Trainyard-Signature-256: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>
 *
 * The timestamp is signed so a captured request stops working after the tolerance; the receiver
 * remembers recent deliveries so it cannot be replayed within it either.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { TrainyardError } from '../domain/errors.js';

export const SIGNATURE_HEADER = 'X-Trainyard-Signature-256';
export const TIMESTAMP_HEADER = 'X-Trainyard-Timestamp';
export const DELIVERY_HEADER = 'X-Trainyard-Delivery';

export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export function signatureOf(secret: string, timestamp: number, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** Headers for a signed JSON request; `body` must be sent byte for byte as signed. */
export function signedHeaders(secret: string, body: string, options: { now?: number; deliveryId?: string } = {}): Record<string, string> {
  const timestamp = Math.floor((options.now ?? Date.now()) / 1000);
  return {
    'content-type': 'application/json',
    [TIMESTAMP_HEADER]: String(timestamp),
    [DELIVERY_HEADER]: options.deliveryId ?? randomUUID(),
    [SIGNATURE_HEADER]: signatureOf(secret, timestamp, body),
  };
}

/**
 * Recently accepted deliveries, bounded (oldest forgotten first). Entries older than the timestamp
 * tolerance are useless (the timestamp check rejects those requests anyway), so the capacity only
 * has to cover the deliveries of one tolerance window.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly capacity = 10_000) {}

  /** True when any key was accepted before and has not expired; otherwise remembers them all. */
  checkAndRemember(keys: readonly string[], expiresAt: number, now: number): boolean {
    if (keys.some((k) => (this.seen.get(k) ?? 0) > now)) return true;
    for (const k of keys) {
      this.seen.delete(k);
      this.seen.set(k, expiresAt);
    }
    while (this.seen.size > this.capacity) {
      const oldest = this.seen.keys().next();
      if (oldest.done) break;
      this.seen.delete(oldest.value);
    }
    return false;
  }
}

export type Rejection = 'too-large' | 'unsigned' | 'stale' | 'bad-signature' | 'replayed';

export type Verification =
  | { ok: true; deliveryId: string; timestamp: number }
  | { ok: false; reason: Rejection; /** The HTTP status a receiver answers with. */ status: 401 | 409 | 413; message: string };

export interface VerifyOptions {
  toleranceSeconds?: number;
  maxBodyBytes?: number;
  /** Milliseconds since the epoch (injected in tests). */
  now?: number;
  /** Without one, replays are not detected (a one-off check, e.g. in a test receiver). */
  replays?: ReplayGuard;
  /**
   * What the request addresses beyond its body (e.g. the URL path): the same signed body sent to
   * two different targets is two deliveries, not a replay.
   */
  scope?: string;
}

type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const lower = name.toLowerCase();
  const found = Object.entries(headers).find(([k]) => k.toLowerCase() === lower)?.[1];
  return Array.isArray(found) ? found[0] : found;
}

function reject(reason: Rejection, message: string): Verification {
  const status = reason === 'too-large' ? 413 : reason === 'replayed' ? 409 : 401;
  return { ok: false, reason, status, message };
}

/** Verifies a signed request. The messages say what was wrong, never what the right signature was. */
export function verifySignature(secret: string, headers: HeaderBag, body: string | Buffer, options: VerifyOptions = {}): Verification {
  const now = options.now ?? Date.now();
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const max = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (Buffer.byteLength(body) > max) return reject('too-large', `body is larger than ${max} bytes`);

  const signature = header(headers, SIGNATURE_HEADER);
  const timestampText = header(headers, TIMESTAMP_HEADER);
  const deliveryId = header(headers, DELIVERY_HEADER);
  if (!signature || !timestampText || !deliveryId) {
    return reject('unsigned', `missing ${[!signature && SIGNATURE_HEADER, !timestampText && TIMESTAMP_HEADER, !deliveryId && DELIVERY_HEADER].filter(Boolean).join(', ')}`);
  }
  const timestamp = /^\d{1,12}$/.test(timestampText) ? Number(timestampText) : NaN;
  if (!Number.isFinite(timestamp) || Math.abs(now / 1000 - timestamp) > tolerance) {
    return reject('stale', `timestamp is not within ${tolerance} s of this server's clock`);
  }
  // Compare digests as bytes of equal length, in constant time; a malformed header is just wrong.
  const given = Buffer.from(/^sha256=[0-9a-f]{64}$/i.test(signature) ? signature.slice(7) : '', 'hex');
  const expected = Buffer.from(signatureOf(secret, timestamp, body).slice(7), 'hex');
  if (!secret || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return reject('bad-signature', 'signature does not match (wrong secret, or the body was changed)');
  }
  // Remembered only once authentic, so forged requests cannot fill the memory. The signature is
  // remembered too: the delivery header is not signed, so a replay with a fresh id is still caught.
  const scope = options.scope ?? '';
  if (options.replays?.checkAndRemember([`delivery:${deliveryId}`, `signature:${scope}:${signature.toLowerCase()}`], now + tolerance * 2000, now)) {
    return reject('replayed', `delivery ${deliveryId} was already received`);
  }
  return { ok: true, deliveryId, timestamp };
}

/**
 * A secret from a file (relative to the config file) or an environment variable; the file wins
 * when both are configured. Errors name where the secret should be, never its value.
 */
export function readSecret(
  ref: { env?: string; file?: string; what?: string },
  baseDir: string,
  environment: Record<string, string | undefined> = process.env,
): string {
  const what = ref.what ?? 'secret';
  if (ref.file) {
    const path = resolve(baseDir, ref.file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new TrainyardError('CONFIG_INVALID', `the ${what} file ${path} cannot be read (${code ?? 'error'})`, 'Create the file (readable by the worker) or fix the path in the config, which is relative to the config file');
    }
    const value = text.trim();
    if (!value) throw new TrainyardError('CONFIG_INVALID', `the ${what} file ${path} is empty`, 'Write the secret into the file');
    return value;
  }
  if (!ref.env) throw new TrainyardError('CONFIG_INVALID', `no ${what} is configured`, 'Name the environment variable (or file) that holds it in the config');
  const value = environment[ref.env]?.trim();
  if (!value) {
    throw new TrainyardError('CONFIG_INVALID', `the ${what} is missing: environment variable ${ref.env} is not set or empty`, `Set ${ref.env} in the worker's environment and restart the worker`);
  }
  return value;
}

/** Replaces every occurrence of the secrets in text that goes into an error or a log line. */
export function redact(text: string, ...secrets: string[]): string {
  return secrets.filter((s) => s.length >= 4).reduce((t, s) => t.split(s).join('[redacted]'), text);
}

/** A URL for messages: scheme, host and path; no credentials or query (webhook URLs often carry tokens). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

export type PostOutcome =
  | { kind: 'answered'; status: number; text: string; /** From Retry-After, when given. */ retryAfterMs?: number }
  | { kind: 'timeout' }
  | { kind: 'cancelled' }
  | { kind: 'unreachable'; reason: string };

function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * POSTs a JSON body and classifies what happened, so each driver only decides what an outcome
 * means for it. Redirects are not followed: a signed request must not be replayed elsewhere.
 */
export async function postJson(url: string, body: string, headers: Record<string, string>, options: { timeoutMs: number; signal?: AbortSignal }): Promise<PostOutcome> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal, redirect: 'manual' });
    const text = await response.text();
    const after = retryAfterMs(response.headers.get('retry-after'), Date.now());
    return { kind: 'answered', status: response.status, text, ...(after === undefined ? {} : { retryAfterMs: after }) };
  } catch (err) {
    if (options.signal?.aborted) return { kind: 'cancelled' };
    if (timeout.aborted) return { kind: 'timeout' };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { kind: 'unreachable', reason: cause?.code ?? cause?.message ?? (err as Error).message };
  }
}

/** Signs and POSTs a JSON payload. */
export async function postSigned(url: string, secret: string, payload: unknown, options: { timeoutMs: number; signal?: AbortSignal; deliveryId?: string }): Promise<PostOutcome> {
  const body = JSON.stringify(payload);
  return postJson(url, body, signedHeaders(secret, body, options.deliveryId ? { deliveryId: options.deliveryId } : {}), options);
}

/** The last part of a response body for an error message, on one line, without the secret. */
export function bodyTail(text: string, secret?: string, max = 300): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const tail = line.length > max ? `…${line.slice(-max)}` : line;
  return secret ? redact(tail, secret) : tail;
}
