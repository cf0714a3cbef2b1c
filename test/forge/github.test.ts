/**
 * The GitHub forge against the fake GitHub (a real HTTP server on loopback): the forge contract, then
 * how it behaves when GitHub or the network misbehaves, and what its errors say (never the token).
 * GitHub-only behaviour and request budgets are in github-behaviour.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GitHubForge } from '../../activities/forge/github.js';
import { TrainyardError } from '../../domain/errors.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github.js';
import { forgeContract } from './contract.js';
import { fixtureFor, forgeFor } from './github-fixture.js';

forgeContract('GitHub', async () => fixtureFor(await startFakeGitHub()));

async function failure(promise: Promise<unknown>): Promise<TrainyardError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TrainyardError) return err;
    throw err;
  }
  throw new Error('expected a TrainyardError, got success');
}

/** Everything an error could carry into a log, a Temporal failure or a notification. */
function everythingIn(err: TrainyardError): string {
  const cause = err.cause as Error | undefined;
  return [err.message, err.stack, err.hint, err.describe(), JSON.stringify(err), String(err), cause?.message, cause?.stack, JSON.stringify(cause)].join('\n');
}

describe('GitHub forge: faults and errors', () => {
  let fake: FakeGitHub;
  let forge: GitHubForge;
  const onRef = (path: string) => (req: { path: string }) => req.path.includes(path);
  beforeEach(async () => {
    fake = await startFakeGitHub();
    forge = forgeFor(fake);
  });
  afterEach(() => fake.close());

  it('retries 500 and 502 and then succeeds', async () => {
    const sha = fake.commit('main', 'feat: one');
    fake.http.inject({ status: 500, match: onRef('/commits/main') });
    fake.http.inject({ status: 502, match: onRef('/commits/main') });
    expect(await forge.resolveRef('main')).toBe(sha);
    expect(fake.http.log.filter((r) => r.path.endsWith('/commits/main')).map((r) => r.status)).toEqual([500, 502, 200]);
  });

  it('backs off from the first step on every call, however many retries earlier calls needed', async () => {
    const sha = fake.commit('main', 'feat: one');
    forge = forgeFor(fake, { tuning: { retryBaseDelayMs: 600 } });
    fake.http.inject({ status: 502, times: 2, match: onRef('/commits/main') });
    await forge.resolveRef('main');
    fake.http.inject({ status: 502, match: onRef('/commits/main') });
    const started = Date.now();
    expect(await forge.resolveRef('main')).toBe(sha);
    // One retry after 600 ms; plugin-retry alone would wait 9 × 600 ms here (its counter leaks).
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('retries a dropped connection, and gives up on a server that stays down as FORGE_UNAVAILABLE', async () => {
    fake.commit('main', 'feat: one');
    fake.http.inject({ reset: true, match: onRef('/commits/main') });
    await forge.resolveRef('main');
    fake.http.inject({ status: 503, times: 10, match: onRef('/git/ref/') });
    const err = await failure(forge.tagCommit('v1'));
    expect(err.code).toBe('FORGE_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    // One attempt and two retries (FAST tuning), then Temporal's retry policy takes over.
    expect(fake.http.log.filter((r) => r.path.includes('/git/ref/'))).toHaveLength(3);
  });

  it('waits out a secondary rate limit (429 and 403) for the Retry-After it was given', async () => {
    const sha = fake.commit('main', 'feat: one');
    for (const status of [429, 403]) {
      fake.http.inject({ status, headers: { 'retry-after': '1' }, body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', documentation_url: 'https://docs.github.com/rest' }, match: onRef('/commits/main') });
      const started = Date.now();
      expect(await forge.resolveRef('main')).toBe(sha);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    }
  });

  it('hands a long rate-limit wait back to Temporal as FORGE_RATE_LIMITED with retryAfterMs', async () => {
    fake.commit('main', 'feat: one');
    fake.http.inject({ status: 403, headers: { 'retry-after': '120' }, body: { message: 'You have exceeded a secondary rate limit' }, match: onRef('/commits/main') });
    const started = Date.now();
    const err = await failure(forge.resolveRef('main'));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(err).toMatchObject({ code: 'FORGE_RATE_LIMITED', retryAfterMs: 120_000 });
    // A 429 that says nothing GitHub-specific (a proxy) is not waited for blindly either.
    fake.http.inject({ status: 429, headers: { 'retry-after': '30' }, body: { message: 'Too Many Requests' }, match: onRef('/commits/main') });
    expect(await failure(forge.resolveRef('main'))).toMatchObject({ code: 'FORGE_RATE_LIMITED', retryAfterMs: 30_000 });
  });

  it('treats an exhausted primary rate limit as FORGE_RATE_LIMITED until the reset time', async () => {
    await fake.close();
    fake = await startFakeGitHub({ rateLimit: 3, rateWindowSeconds: 600 });
    forge = forgeFor(fake);
    // A new commit each time: an unchanged answer would be a free 304.
    for (let i = 0; i < 3; i++) {
      fake.commit('main', `feat: ${i}`);
      await forge.resolveRef('main');
    }
    fake.commit('main', 'feat: one too many');
    const err = await failure(forge.resolveRef('main'));
    expect(err.code).toBe('FORGE_RATE_LIMITED');
    expect(err.retryAfterMs).toBeGreaterThan(590_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(602_000);
  });

  it('bounds every attempt by the request timeout: a stalled GitHub is FORGE_UNAVAILABLE, a slow answer is retried', async () => {
    const sha = fake.commit('main', 'feat: one');
    forge = forgeFor(fake, { requestTimeoutMs: 250 });
    fake.http.inject({ delayMs: 1_000, match: onRef('/commits/main') });
    expect(await forge.resolveRef('main')).toBe(sha);
    fake.http.inject({ delayMs: 1_000, times: 10, match: onRef('/commits/main') });
    const started = Date.now();
    const err = await failure(forge.resolveRef('main'));
    expect(err.code).toBe('FORGE_UNAVAILABLE');
    expect(err.message).toMatch(/timeout|aborted/i);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('retries a malformed JSON answer, and reports one that stays malformed as FORGE_UNAVAILABLE', async () => {
    const sha = fake.commit('main', 'feat: one');
    fake.http.inject({ malformed: true, match: onRef('/commits/main') });
    expect(await forge.resolveRef('main')).toBe(sha);
    fake.http.inject({ malformed: true, times: 10, match: onRef('/commits/main') });
    const err = await failure(forge.resolveRef('main'));
    expect(err.code).toBe('FORGE_UNAVAILABLE');
    expect(err.message).toMatch(/not JSON/);
  });

  it('reports a rejected token as FORGE_AUTH with a hint, and the token appears nowhere in the error', async () => {
    const wrong = 'ghp_WRONGwrongWRONG0123456789abcdefSECRET';
    const err = await failure(forgeFor(fake, { token: wrong }).resolveRef('main'));
    expect(err.code).toBe('FORGE_AUTH');
    expect(err.message).toMatch(/401.*Bad credentials/);
    expect(err.hint).toMatch(/GITHUB_TOKEN/);
    // It was sent (so the check below means something), and it is in nothing the error carries.
    expect(fake.http.log.at(-1)?.headers.authorization).toBe(`token ${wrong}`);
    expect(everythingIn(err)).not.toContain(wrong);
    expect(everythingIn(err)).not.toContain('WRONGwrong');
  });

  it('cuts the token out of whatever GitHub says back', async () => {
    fake.http.inject({ status: 500, times: 10, body: { message: `upstream rejected ${fake.token} for acme/api` }, match: onRef('/commits/main') });
    const err = await failure(forge.resolveRef('main'));
    expect(err.code).toBe('FORGE_UNAVAILABLE');
    expect(err.message).toContain('[REDACTED]');
    expect(everythingIn(err)).not.toContain(fake.token);
  });

  it('reports a permission refusal (403, not a rate limit) as FORGE_AUTH', async () => {
    fake.http.inject({ status: 403, body: { message: 'Resource not accessible by personal access token' }, match: onRef('/git/refs') });
    const sha = fake.commit('main', 'feat: one');
    const err = await failure(forge.createBranch('topic', sha));
    expect(err.code).toBe('FORGE_AUTH');
    expect(err.message).toMatch(/Resource not accessible/);
  });

  it('reports an unknown repository as FORGE_NOT_FOUND, never as a missing tag, file or request', async () => {
    const elsewhere = forgeFor(fake, { repository: 'acme/missing' });
    for (const attempt of [elsewhere.tagCommit('v1'), elsewhere.readFile('VERSION', 'main'), elsewhere.getRelease('v1'), elsewhere.getChangeRequest(1), elsewhere.resolveRef('main')]) {
      const err = await failure(attempt);
      expect(err.code).toBe('FORGE_NOT_FOUND');
      expect(err.message).toContain('acme/missing');
    }
    // Once the repository answered, a 404 means the object: no extra look at the repository.
    await forge.resolveRef('main');
    const before = fake.counters.requests;
    expect(await forge.tagCommit('v404')).toBeUndefined();
    expect(fake.counters.requests - before).toBe(1);
  });
});
