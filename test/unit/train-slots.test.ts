/**
 * One train per release slot (domain/train-slots.ts): which active train holds a slot, and what a
 * refused cut says. The cut workflow and `trainyard start` are tested in test/workflow/ledger.test.ts
 * and test/e2e/production-order.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { slotHolder, slotTakenReason, type ActiveTrain } from '../../domain/train-slots.js';

const slot = Date.parse('2026-11-24T16:00:00Z'); // 11:00 in New York
const train = (id: string, releaseAt: number, stage = 'awaiting-release'): ActiveTrain => ({ trainId: `train/api/${id}`, tag: id, stage, commit: 'c0ffee'.padEnd(40, '0'), releaseAt });

describe('the train of a release slot', () => {
  it('is the active train cut for that slot', () => {
    const holder = train('api/v2026.11.24.1', slot);
    expect(slotHolder([train('api/v2026.11.23.1', slot - 86_400_000), holder], slot)).toBe(holder);
  });

  it('none when the service has no active train for it (an older slot, a hotfix released at once)', () => {
    expect(slotHolder([], slot)).toBeUndefined();
    expect(slotHolder([train('api/v2026.11.23.1', slot - 86_400_000, 'awaiting-decision'), train('api/v2026.11.20.2', slot - 3_600_000, 'staging')], slot)).toBeUndefined();
  });

  it("a re-tag's own superseded train does not count", () => {
    const old = train('api/v2026.11.24.1', slot);
    expect(slotHolder([old], slot, old.trainId)).toBeUndefined();
    const other = train('api/v2026.11.24.2', slot);
    expect(slotHolder([old, other], slot, old.trainId)).toBe(other);
  });
});

describe('a refused cut', () => {
  it('names the train that holds the slot and how to replace it', () => {
    const why = slotTakenReason('api', train('api/v2026.11.24.1', slot, 'e2e'), 'America/New_York');
    expect(why).toBe(
      'service api already has a train for this release slot: train/api/api/v2026.11.24.1 (e2e, commit c0ffee000000, release 2026-11-24 11:00 EST (UTC-05:00)); ' +
        'a second train for one slot could deploy over it. To release a newer commit instead, re-tag: trainyard tag api --from <sha> --reason "…" ' +
        '(it supersedes train/api/api/v2026.11.24.1, which then never deploys); or abort that train first',
    );
  });
});
