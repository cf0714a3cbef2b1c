/** What the CLI prints, as an operator reads it. */
import { describe, expect, it } from 'vitest';
import { formatLedger } from '../../client/format.js';
import { unwrittenLedger, type ServiceContext } from '../../client/ledgers.js';
import { watchLines, type WatchState } from '../../client/trains.js';
import { enterStage, initialStatus, type TrainPolicy } from '../../domain/train.js';

const NY = 'America/New_York';
const ctx: ServiceContext = {
  service: 'api',
  taskQueue: 'trainyard',
  timeZone: NY,
  configPath: '/etc/trainyard.yaml',
  services: ['api'],
  freezeWindows: [{ reason: 'weekend', days: ['fri', 'sat', 'sun'], from: '16:00', to: '00:00', environments: ['production'] }],
};

describe('trainyard env', () => {
  it('shows a freeze window of the config as a freeze, even before any ledger exists', () => {
    const friday = Date.parse('2026-12-04T22:00:00Z'); // Friday 17:00 in New York
    const text = formatLedger(unwrittenLedger(ctx, 'production', friday), NY, false);
    expect(text).toMatch(/^Freeze\s+frozen by freeze window: weekend, until 2026-12-05 00:00 EST \(UTC-05:00\)$/m);
    expect(text).not.toContain('not frozen');

    const tuesday = Date.parse('2026-12-01T15:00:00Z');
    expect(formatLedger(unwrittenLedger(ctx, 'production', tuesday), NY, false)).toMatch(/no train has deployed here and nobody has frozen it yet/);
    expect(formatLedger(unwrittenLedger(ctx, 'staging', friday), NY, false)).toMatch(/no train has deployed here and nobody has frozen it yet/);
  });

  it('names a manual freeze with who, why, since and until, in the zone with its offset', () => {
    const now = Date.parse('2026-12-01T15:00:00Z');
    const view = unwrittenLedger({ ...ctx, freezeWindows: undefined }, 'production', now);
    view.freeze = { by: 'alice', reason: 'incident 42', at: now, until: now + 2 * 3600_000 };
    view.frozen = { frozen: true, by: 'alice', reason: 'incident 42', until: now + 2 * 3600_000 };
    expect(formatLedger(view, NY)).toMatch(/^Freeze\s+frozen by alice: incident 42; since 2026-12-01 10:00 EST \(UTC-05:00\), until 2026-12-01 12:00 EST \(UTC-05:00\)$/m);
  });
});

describe('trainyard watch', () => {
  const policy = { service: 'api', release: { timeZone: NY } } as unknown as TrainPolicy;
  const status = initialStatus('train/api/v1', { service: 'api', tag: 'v1', commit: 'abc', startedBy: 'carol', releaseAt: 0, policy } as never);

  it('prints every stage entered since the last poll, each at the time it began, and each new wait once', () => {
    const seen: WatchState = { stagesShown: 0 };
    enterStage(status, 'cut', Date.parse('2026-12-01T15:00:00Z'));
    expect(watchLines(status, seen)).toEqual(['2026-12-01 10:00 EST (UTC-05:00)  cut']);
    // Between two polls the train went through production (fast) and released.
    enterStage(status, 'production', Date.parse('2026-12-01T16:00:00Z'));
    enterStage(status, 'released', Date.parse('2026-12-01T16:00:05Z'), 'v1 is live');
    expect(watchLines(status, seen)).toEqual(['2026-12-01 11:00 EST (UTC-05:00)  production', '2026-12-01 11:00 EST (UTC-05:00)  released (v1 is live)']);
    expect(watchLines(status, seen)).toEqual([]);
  });

  it('prints what the train waits for when that changes', () => {
    const seen: WatchState = { stagesShown: status.stages.length };
    status.waitingFor = 'a promote';
    expect(watchLines(status, seen)).toHaveLength(1);
    expect(watchLines(status, seen)[0]).toBeUndefined();
    status.waitingFor = 'the lock';
    expect(watchLines(status, seen)[0]).toMatch(/ {2}waiting for the lock$/);
  });
});
