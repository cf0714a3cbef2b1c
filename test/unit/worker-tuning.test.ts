import { describe, expect, it } from 'vitest';
import { TrainyardError } from '../../domain/errors.js';
import { WORKER_TUNING, workerTuning } from '../../workers/worker.js';

describe('worker tuning from the environment', () => {
  it('keeps the SDK default cache unless TRAINYARD_MAX_CACHED_WORKFLOWS says otherwise', () => {
    expect(workerTuning({})).toEqual(WORKER_TUNING);
    expect(workerTuning({ TRAINYARD_MAX_CACHED_WORKFLOWS: ' ' })).toEqual(WORKER_TUNING);
    expect(workerTuning({ TRAINYARD_MAX_CACHED_WORKFLOWS: '2000' })).toEqual({ ...WORKER_TUNING, maxCachedWorkflows: 2000 });
  });

  it('refuses a value that is not a sensible number of workflows, naming the variable', () => {
    for (const bad of ['lots', '2.5', '0', '9', '-100', '1e9']) {
      let error: unknown;
      try {
        workerTuning({ TRAINYARD_MAX_CACHED_WORKFLOWS: bad });
      } catch (err) {
        error = err;
      }
      expect(error, bad).toBeInstanceOf(TrainyardError);
      expect((error as TrainyardError).message).toContain('TRAINYARD_MAX_CACHED_WORKFLOWS must be a whole number from 10 to 1000000');
    }
  });
});
