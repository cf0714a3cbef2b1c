import { describe, expect, it } from 'vitest';
import { nextWindowChange, windowFreezeAt, type FreezeWindow } from '../../domain/freeze-windows.js';

const NY = 'America/New_York';
const at = (iso: string) => Date.parse(iso);
const weekend: FreezeWindow[] = [
  { reason: 'weekend', days: ['fri'], from: '16:00', environments: ['production'] },
  { reason: 'weekend', days: ['sat', 'sun'], environments: ['production'] },
];

describe('freeze windows', () => {
  it('freezes Friday from 16:00 local and says when the instance ends', () => {
    // Friday 2024-10-04 17:00 EDT = 21:00Z; the Friday instance ends at midnight EDT (04:00Z).
    expect(windowFreezeAt(weekend, NY, 'production', at('2024-10-04T21:00:00Z'))).toEqual({ reason: 'weekend', until: at('2024-10-05T04:00:00Z') });
    expect(windowFreezeAt(weekend, NY, 'production', at('2024-10-04T19:00:00Z'))).toBeUndefined(); // 15:00 EDT
    expect(windowFreezeAt(weekend, NY, 'staging', at('2024-10-04T21:00:00Z'))).toBeUndefined();
  });

  it('knows when the next window starts and, inside one, when it ends', () => {
    expect(nextWindowChange(weekend, NY, 'production', at('2024-10-04T19:00:00Z'))).toBe(at('2024-10-04T20:00:00Z'));
    // Sunday 12:00 EDT: the Sunday instance ends Monday 00:00 EDT.
    expect(nextWindowChange(weekend, NY, 'production', at('2024-10-06T16:00:00Z'))).toBe(at('2024-10-07T04:00:00Z'));
  });

  it('runs past midnight when the end is before the start', () => {
    const nightly: FreezeWindow[] = [{ reason: 'batch jobs', from: '22:00', to: '02:00', environments: ['production'] }];
    expect(windowFreezeAt(nightly, 'UTC', 'production', at('2024-10-05T01:00:00Z'))?.until).toBe(at('2024-10-05T02:00:00Z'));
    expect(windowFreezeAt(nightly, 'UTC', 'production', at('2024-10-05T03:00:00Z'))).toBeUndefined();
  });

  it('keeps local times across DST (11:00 New York is 15:00Z in summer, 16:00Z in winter)', () => {
    const daily: FreezeWindow[] = [{ reason: 'standup', from: '11:00', to: '11:30', environments: ['production'] }];
    expect(windowFreezeAt(daily, NY, 'production', at('2024-11-01T15:10:00Z'))).toBeDefined(); // EDT
    expect(windowFreezeAt(daily, NY, 'production', at('2024-11-04T15:10:00Z'))).toBeUndefined(); // EST: 10:10
    expect(windowFreezeAt(daily, NY, 'production', at('2024-11-04T16:10:00Z'))).toBeDefined();
  });

  it('freezes whole date ranges, both ends included', () => {
    const yearEnd: FreezeWindow[] = [{ reason: 'year end', dates: { from: '2024-12-20', to: '2025-01-03' }, environments: ['staging', 'production'] }];
    expect(windowFreezeAt(yearEnd, NY, 'staging', at('2025-01-03T23:00:00Z'))?.until).toBe(at('2025-01-04T05:00:00Z'));
    expect(windowFreezeAt(yearEnd, NY, 'staging', at('2025-01-04T06:00:00Z'))).toBeUndefined();
    expect(nextWindowChange(yearEnd, NY, 'production', at('2024-12-01T00:00:00Z'))).toBe(at('2024-12-20T05:00:00Z'));
  });
});
