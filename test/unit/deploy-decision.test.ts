/**
 * The retried deploy's decision (domain/steps.ts): a first attempt always runs the deploy driver; a
 * later one skips it only when the version URL reports exactly the tag being deployed.
 */
import { describe, expect, it } from 'vitest';
import { deployDecision, followsEarlierAttempt, type DeployAttempt } from '../../domain/steps.js';

const first: DeployAttempt = { tag: 'api/v2026.11.23.1', environment: 'production', attempt: 1, resumed: false };
const retry: DeployAttempt = { ...first, attempt: 2, resumed: true };
const url = 'https://example.com/version';

describe('deployDecision', () => {
  it('runs a first attempt whatever the environment reports', () => {
    expect(deployDecision(first, { url, version: first.tag })).toEqual({ kind: 'run', why: 'first attempt' });
    expect(deployDecision(first, undefined).kind).toBe('run');
  });

  it('records a retry as done when the tag already runs there, saying where it read that', () => {
    expect(deployDecision(retry, { url, version: retry.tag })).toEqual({
      kind: 'already-running',
      summary: 'api/v2026.11.23.1 already runs in production (read from https://example.com/version): not deployed again',
    });
  });

  it('counts a later attempt and a resumed one as retries alike', () => {
    expect(followsEarlierAttempt(first)).toBe(false);
    expect(followsEarlierAttempt({ ...first, attempt: 3 })).toBe(true);
    expect(followsEarlierAttempt({ ...first, resumed: true })).toBe(true);
    expect(deployDecision({ ...first, attempt: 4 }, { url, version: first.tag }).kind).toBe('already-running');
    expect(deployDecision({ ...first, resumed: true }, { url, version: first.tag }).kind).toBe('already-running');
  });

  it('runs a retry when the environment reports another version', () => {
    expect(deployDecision(retry, { url, version: 'api/v2026.11.20.1' })).toEqual({
      kind: 'run',
      why: 'attempt 2, production runs api/v2026.11.20.1 (read from https://example.com/version)',
    });
    // Only the exact tag counts: a prefix, another case or spacing is another version.
    for (const version of ['api/v2026.11.23', 'API/V2026.11.23.1', ` ${retry.tag}`, `${retry.tag}.2`]) {
      expect(deployDecision(retry, { url, version }).kind, version).toBe('run');
    }
  });

  it('runs a retry when the version cannot be read', () => {
    expect(deployDecision(retry, { url, version: null })).toEqual({ kind: 'run', why: 'attempt 2, https://example.com/version reports no version' });
  });

  it('runs a retry as before when there is no version URL: the command must be idempotent', () => {
    expect(deployDecision(retry, undefined)).toEqual({ kind: 'run', why: 'attempt 2, no versionUrl to check: the deploy command must be idempotent' });
  });

  it('bounds what a target reports in its message', () => {
    const decision = deployDecision(retry, { url, version: 'x'.repeat(5_000) });
    expect(decision.kind).toBe('run');
    expect(decision.kind === 'run' && decision.why.length).toBeLessThan(200);
  });
});
