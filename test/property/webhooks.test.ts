/**
 * Webhook bodies and headers under hostile input, through the one verifier every incoming Trainyard
 * request goes through (activities/signing.ts verifySignature): random requests never verify, any
 * change to a signed request fails, a replay is caught, an oversized body is refused before anything
 * else, and no answer throws or names the secret.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_BODY_BYTES,
  DELIVERY_HEADER,
  ReplayGuard,
  SIGNATURE_HEADER,
  signedHeaders,
  TIMESTAMP_HEADER,
  verifySignature,
  type Verification,
} from '../../activities/signing.js';
import { check, nasty, printTally, sized } from './arbitraries.js';

afterAll(printTally);

const SECRET = 'whsec-Pangolin-9c1e4f7a2b';
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const NOW_S = Math.floor(NOW / 1000);

const body = fc.oneof(
  { weight: 3, arbitrary: fc.json() },
  { weight: 3, arbitrary: nasty },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: sized(nasty, 10_000, 200_000) },
);
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
/** Header values a forger might send: plausible shapes, wrong contents, odd encodings, arrays. */
const headerValue = fc.oneof(
  nasty,
  hex64.map((h) => `sha256=${h}`),
  hex64.map((h) => `SHA256=${h.toUpperCase()}`),
  fc.integer({ min: NOW_S - 1_000, max: NOW_S + 1_000 }).map(String),
  fc.constantFrom('', ' ', 'sha256=', String(NOW_S), `${NOW_S}.0`, `0${NOW_S}`, '-1', '1e10', 'NaN'),
  fc.array(nasty, { maxLength: 3 }),
  sized(nasty, 100_000, 300_000),
);
const headerName = fc.oneof(fc.constantFrom(SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER), fc.constantFrom(SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER).map((h) => h.toLowerCase()), nasty);
const headers = fc.dictionary(headerName, headerValue, { maxKeys: 6 });

const bytes = (b: string | Buffer) => (typeof b === 'string' ? Buffer.from(b, 'utf8') : b);

function expectRefusal(verdict: Verification, reasons: string[]): void {
  expect(verdict.ok).toBe(false);
  if (verdict.ok) return;
  expect(reasons).toContain(verdict.reason);
  expect([401, 409, 413]).toContain(verdict.status);
  expect(verdict.message).not.toContain(SECRET);
  expect(verdict.message.length).toBeLessThan(200);
}

describe('webhook bodies and headers', () => {
  it('a random request never verifies, and the answer says why without throwing', () => {
    check('webhooks', 1500, headers, body, (h, b) => {
      expectRefusal(verifySignature(SECRET, h, b, { now: NOW, replays: new ReplayGuard() }), ['unsigned', 'stale', 'bad-signature', 'too-large']);
    });
  });

  it('a signed request verifies, whatever the case of its header names', () => {
    check('webhooks', 500, body.filter((b) => bytes(b).length <= DEFAULT_MAX_BODY_BYTES), fc.boolean(), (b, lower) => {
      const text = bytes(b).toString('utf8');
      const signed = signedHeaders(SECRET, text, { now: NOW });
      const h = lower ? Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.toLowerCase(), v])) : signed;
      expect(verifySignature(SECRET, h, text, { now: NOW }).ok).toBe(true);
    });
  });

  it('any change to the body, timestamp, signature or secret makes it fail', () => {
    const tamper = fc.oneof(
      fc.record({ what: fc.constant('body' as const), at: fc.nat(), insert: fc.string({ minLength: 1, maxLength: 3 }) }),
      fc.record({ what: fc.constant('timestamp' as const), delta: fc.integer({ min: -10_000, max: 10_000 }).filter((d) => d !== 0) }),
      fc.record({ what: fc.constant('signature' as const), at: fc.nat({ max: 63 }) }),
      fc.record({ what: fc.constant('secret' as const), other: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s !== SECRET) }),
    );
    check('webhooks', 1500, fc.json(), tamper, (text, t) => {
      const h: Record<string, string> = signedHeaders(SECRET, text, { now: NOW });
      let sent = text;
      let secret = SECRET;
      if (t.what === 'body') {
        const at = t.at % (text.length + 1);
        sent = text.slice(0, at) + t.insert + text.slice(at);
      } else if (t.what === 'timestamp') {
        h[TIMESTAMP_HEADER] = String(NOW_S + t.delta);
      } else if (t.what === 'signature') {
        const sig = h[SIGNATURE_HEADER]!;
        const i = 7 + t.at;
        h[SIGNATURE_HEADER] = sig.slice(0, i) + (sig[i] === '0' ? '1' : '0') + sig.slice(i + 1);
      } else {
        secret = t.other;
      }
      expectRefusal(verifySignature(secret, h, sent, { now: NOW }), ['bad-signature', 'stale']);
    });
  });

  it('a verified request sent again is refused as a replay, even with a new delivery id', () => {
    check('webhooks', 300, fc.json(), fc.uuid(), (text, freshId) => {
      const replays = new ReplayGuard();
      const h = signedHeaders(SECRET, text, { now: NOW });
      expect(verifySignature(SECRET, h, text, { now: NOW, replays }).ok).toBe(true);
      expectRefusal(verifySignature(SECRET, h, text, { now: NOW + 1_000, replays }), ['replayed']);
      expectRefusal(verifySignature(SECRET, { ...h, [DELIVERY_HEADER]: freshId }, text, { now: NOW + 2_000, replays }), ['replayed']);
    });
  });

  it('an oversized body is refused as too large before its signature is even looked at', () => {
    check('webhooks', 20, sized(nasty, DEFAULT_MAX_BODY_BYTES + 1, 4 * DEFAULT_MAX_BODY_BYTES), fc.boolean(), (huge, signed) => {
      const h = signed ? signedHeaders(SECRET, huge, { now: NOW }) : {};
      expectRefusal(verifySignature(SECRET, h, huge, { now: NOW }), ['too-large']);
    });
  });
});
