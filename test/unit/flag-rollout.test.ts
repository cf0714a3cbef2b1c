/** The flag rollout's pure decisions: the config fragment, gates, soak verdicts, operator requests. */
import { describe, expect, it } from 'vitest';
import { flagsConfigSchema } from '../../domain/flag-config.js';
import {
  applyBoundaries,
  boundaryAt,
  evaluateSoak,
  flagChanges,
  flagPlanOf,
  initialFlagState,
  nextStep,
  recordSoak,
  startSoak,
  type FlagState,
} from '../../domain/flag-rollout.js';
import {
  advanceProblem,
  applyAbort,
  applyAdvance,
  applyApprove,
  applyRollbackStage,
  approveProblem,
  rollbackStageProblem,
} from '../../domain/flag-requests.js';
import { cleanedFile, setFlagInFile } from '../../domain/flag-files.js';

const raw = {
  GITALY_EXAMPLE_FEATURE: {
    maintainers: ['jacob'],
    operators: ['oncall'],
    timeZone: 'Europe/Amsterdam',
    optOutAfter: '2026-12-01',
    mandatoryAfter: '2027-01-05',
    links: { dashboard: 'https://grafana.example/d/gitaly' },
    environments: [
      { name: 'dev', driver: { kind: 'command', command: ['node', 'flag.mjs'] }, health: { url: 'http://127.0.0.1:9090', query: 'rate(errors[5m])', threshold: 0.05, soakMinutes: 30 } },
      { name: 'production', driver: { kind: 'forge-commit', forge: 'chef', path: 'roles/gitlab-base-fe.json', format: 'json', jsonPath: ['env'] }, health: { url: 'http://127.0.0.1:9090', query: 'q', threshold: 0.01, soakMinutes: 60 } },
    ],
    cleanup: { forge: 'chef', path: 'roles/gitlab-base-fe.json' },
  },
};

function parsed() {
  const result = flagsConfigSchema.safeParse(raw);
  if (!result.success) throw new Error(JSON.stringify(result.error.issues));
  return result.data;
}

function tested(): FlagState {
  const plan = flagPlanOf('GITALY_EXAMPLE_FEATURE', parsed().GITALY_EXAMPLE_FEATURE!);
  const state = initialFlagState(plan, 'dana', 0);
  for (const env of state.environments) {
    startSoak(state, env.name, 0.01, 'dana', 1);
    recordSoak(state, env.name, evaluateSoak({ samples: [0.001], failures: 0 }, env.threshold), 1, 2);
  }
  return state;
}

describe('flag config', () => {
  it('reads local release dates in the flag zone and keeps drivers out of the plan', () => {
    const plan = flagPlanOf('GITALY_EXAMPLE_FEATURE', parsed().GITALY_EXAMPLE_FEATURE!);
    expect(new Date(plan.optOutAt!).toISOString()).toBe('2026-11-30T23:00:00.000Z');
    expect(plan.environments).toEqual([{ name: 'dev', threshold: 0.05, soakMinutes: 30 }, { name: 'production', threshold: 0.01, soakMinutes: 60 }]);
    expect(JSON.stringify(plan)).not.toContain('flag.mjs');
  });

  it('names the valid driver kinds, and rejects unknown keys and dates out of order', () => {
    const bad = structuredClone(raw) as Record<string, any>;
    bad.GITALY_EXAMPLE_FEATURE.environments[0].driver = { kind: 'chef' };
    bad.GITALY_EXAMPLE_FEATURE.colour = 'red';
    const result = flagsConfigSchema.safeParse(bad);
    const messages = result.success ? [] : result.error.issues.map((i) => i.message).join('\n');
    expect(messages).toContain('unknown flag driver kind; valid kinds: forge-commit, command, webhook');
    expect(messages).toContain('colour');
    const late = structuredClone(raw) as Record<string, any>;
    late.GITALY_EXAMPLE_FEATURE.mandatoryAfter = '2026-11-01';
    const order = flagsConfigSchema.safeParse(late);
    expect(order.success ? '' : order.error.issues[0]?.message).toBe('mandatoryAfter must be later than optOutAfter');
  });
});

describe('soak evaluation', () => {
  it('passes below the threshold, fails on the first sample above it, and fails without samples', () => {
    expect(evaluateSoak({ samples: [0.01, 0.02], failures: 0 }, 0.05)).toMatchObject({ passed: true, after: 0.02, max: 0.02 });
    expect(evaluateSoak({ samples: [0.01, 0.3, 0.02], failures: 0 }, 0.05)).toMatchObject({ passed: false, after: 0.3, why: 'error rate 0.3 exceeded the threshold 0.05' });
    expect(evaluateSoak({ samples: [], failures: 3, lastError: 'connection refused' }, 0.05)).toMatchObject({ passed: false, why: expect.stringContaining('connection refused') });
  });
});

describe('rollout state', () => {
  it('tests environment by environment with the flag on only where it soaks', () => {
    const plan = flagPlanOf('F', parsed().GITALY_EXAMPLE_FEATURE!);
    const state = initialFlagState(plan, 'dana', 0);
    expect(nextStep(state)).toEqual({ kind: 'baseline', environment: 'dev' });
    startSoak(state, 'dev', 0.01, 'dana', 1);
    expect(flagChanges(state)).toEqual([{ environment: 'dev', enabled: true }]);
    state.environments[0]!.enabled = true;
    recordSoak(state, 'dev', { passed: false, after: 0.2, max: 0.2, why: 'breach' }, 2, 2);
    expect(flagChanges(state)).toEqual([{ environment: 'dev', enabled: false }]);
    expect(nextStep(state)).toMatchObject({ kind: 'wait', why: expect.stringContaining('acceptance test in dev failed') });
    applyAdvance(state, { by: 'oncall', reason: 'fixed' }, 3);
    expect(nextStep(state)).toEqual({ kind: 'baseline', environment: 'dev' });
  });

  it('approval: only maintainers, only after every environment passed, only with all three links', () => {
    const state = tested();
    const plan = flagPlanOf('GITALY_EXAMPLE_FEATURE', parsed().GITALY_EXAMPLE_FEATURE!);
    const links = { alerts: 'https://x.example/a', runbook: 'https://x.example/r' };
    expect(approveProblem(state, plan, { by: 'oncall', reason: 'ok', ...links })).toContain('not a maintainer');
    expect(approveProblem(state, plan, { by: 'jacob', reason: 'ok', alerts: links.alerts })).toContain('the runbook link is not recorded');
    expect(approveProblem(state, plan, { by: 'jacob', reason: 'ok', ...links, runbook: 'javascript:alert(1)' })).toContain('"runbook" must be an http(s) URL');
    expect(approveProblem(state, plan, { by: 'jacob', reason: 'ok', ...links })).toBeUndefined();
    applyApprove(state, { by: 'jacob', reason: 'ok', ...links }, 5);
    expect(state.status).toBe('opt-in');
    expect(flagChanges(state).map((c) => c.enabled)).toEqual([true, true]);
  });

  it('release boundaries move the flag on unless paused or held; rollbackStage holds', () => {
    const state = tested();
    applyApprove(state, { by: 'jacob', reason: 'ok', alerts: 'https://a.example', runbook: 'https://r.example' }, 5);
    expect(applyBoundaries(state, state.optOutAt! - 1)).toBe(false);
    state.paused = { by: 'oncall', reason: 'incident', at: 6 };
    expect(applyBoundaries(state, state.optOutAt!)).toBe(false);
    delete state.paused;
    expect(applyBoundaries(state, state.optOutAt!)).toBe(true);
    expect(state.status).toBe('opt-out');
    const plan = flagPlanOf('GITALY_EXAMPLE_FEATURE', parsed().GITALY_EXAMPLE_FEATURE!);
    expect(rollbackStageProblem(state, plan, { by: 'oncall', reason: 'reports' })).toBeUndefined();
    applyRollbackStage(state, { by: 'oncall', reason: 'reports' }, 7);
    expect(state.status).toBe('opt-in');
    expect(applyBoundaries(state, state.mandatoryAt!)).toBe(false);
    expect(advanceProblem(state, plan, { by: 'mallory', reason: 'x' })).toContain('neither a maintainer nor an operator');
    for (const env of state.environments) env.enabled = true; // as the workflow's drivers left them
    applyAbort(state, { by: 'jacob', reason: 'dropped' }, 8);
    expect(flagChanges(state).map((c) => c.enabled)).toEqual([false, false]);
    expect(nextStep(state)).toEqual({ kind: 'end' });
  });
});

describe('files', () => {
  it('sets a flag in env and JSON files and removes it for the clean-up', () => {
    expect(setFlagInFile('A=1\nGITALY_X=0\n', 'GITALY_X', '1', 'env')).toBe('A=1\nGITALY_X=1\n');
    expect(setFlagInFile(undefined, 'GITALY_X', '1', 'env')).toBe('GITALY_X=1\n');
    expect(JSON.parse(setFlagInFile('{"name":"fe","env":{"A":"1"}}', 'GITALY_X', '1', 'json', ['env']))).toEqual({ name: 'fe', env: { A: '1', GITALY_X: '1' } });
    expect(() => setFlagInFile('[1]', 'GITALY_X', '1', 'json')).toThrow('not a JSON object');
    expect(cleanedFile('A=1\nGITALY_X=1\nB=2\n', 'GITALY_X')).toBe('A=1\nB=2\n');
    expect(boundaryAt('2026-12-01', 'UTC')).toBe(Date.UTC(2026, 11, 1));
  });
});
