import { describe, expect, it } from 'vitest';
import { activeFreeze, changelogBase, enqueue, freezeUntilProblem, grant, initialLedger, MAX_DEPLOYMENTS, nextGrant, release, stableVersion, waitReason, type LockRequest } from '../../domain/ledger.js';

const req = (n: number, bypassFreeze = false): LockRequest => ({ trainId: `t${n}`, tag: `v${n}`, requestedAt: n, bypassFreeze });

describe('ledger decisions', () => {
  it('grants first come first served, one holder at a time, and queues a retried request once', () => {
    const s = initialLedger('api', 'production');
    enqueue(s, req(1));
    enqueue(s, req(2));
    enqueue(s, req(1));
    expect(s.queue).toHaveLength(2);
    grant(s, nextGrant(s, 0)!, 0);
    expect(s.holder?.trainId).toBe('t1');
    expect(nextGrant(s, 0)).toBeUndefined();
    expect(waitReason(s, s.queue[0]!, 0)).toBe('t1 is deploying v1 (queue position 1)');
    release(s, 't1');
    expect(nextGrant(s, 0)?.trainId).toBe('t2');
  });

  it('while frozen only requests that bypass the freeze go, and the freeze ends at its end time', () => {
    const s = initialLedger('api', 'production');
    s.freeze = { by: 'sre', reason: 'incident', at: 0, until: 100 };
    enqueue(s, req(1));
    enqueue(s, req(2, true));
    expect(nextGrant(s, 50)?.trainId).toBe('t2');
    expect(waitReason(s, s.queue[0]!, 50)).toBe('production is frozen by sre: incident');
    expect(activeFreeze(s, 100)).toBeUndefined();
    expect(nextGrant(s, 100)?.trainId).toBe('t1');
  });

  it('knows the last verified version, skipping failures and the asking tag', () => {
    const s = initialLedger('api', 'production');
    release(s, 'a', [{ tag: 'v1', commit: 'c1', trainId: 'a', at: 1, outcome: 'verified', by: 'x' }]);
    release(s, 'b', [{ tag: 'v2', commit: 'c2', trainId: 'b', at: 2, outcome: 'rolled-back', by: 'x' }]);
    release(s, 'c', [{ tag: 'v3', commit: 'c3', trainId: 'c', at: 3, outcome: 'verified', by: 'x' }]);
    expect(stableVersion(s)?.tag).toBe('v3');
    expect(stableVersion(s, 'v3')?.tag).toBe('v1');
  });

  it("a changelog starts where the environment was before the tag arrived, not at what came later", () => {
    const s = initialLedger('api', 'production');
    const deploy = (tag: string, outcome: 'verified' | 'failed' = 'verified') => release(s, tag, [{ tag, commit: tag, trainId: tag, at: 0, outcome, by: 'x' }]);
    expect(changelogBase(s, 'v1')).toBeUndefined(); // the first release: from the first commit
    deploy('v1');
    deploy('v2', 'failed');
    deploy('v3');
    deploy('v4');
    // A released train's notes (v3) start at v1, though production runs v4 now and v2 failed.
    expect(changelogBase(s, 'v3')?.tag).toBe('v1');
    expect(changelogBase(s, 'v1')).toBeUndefined();
    // A tag not deployed here yet starts at what runs now.
    expect(changelogBase(s, 'v5')?.tag).toBe('v4');
  });

  it('a freeze with an end ends within 90 days', () => {
    const now = Date.UTC(2026, 11, 4);
    expect(freezeUntilProblem(now + 90 * 86_400_000, now)).toBeUndefined();
    expect(freezeUntilProblem(now + 90 * 86_400_000 + 1, now)).toMatch(/ends within 90 days, not on 2027-03-04/);
    expect(freezeUntilProblem(now, now)).toBe('"until" is in the past');
  });

  it('keeps a bounded number of deployments', () => {
    const s = initialLedger('api', 'staging');
    for (let i = 0; i < MAX_DEPLOYMENTS + 20; i++) release(s, `t${i}`, [{ tag: `v${i}`, commit: 'c', trainId: `t${i}`, at: i, outcome: 'verified', by: 'x' }]);
    expect(s.deployments).toHaveLength(MAX_DEPLOYMENTS);
    expect(s.deployments[0]?.tag).toBe('v20');
  });
});
