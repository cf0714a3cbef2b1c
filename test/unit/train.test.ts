/**
 * The train's rules (domain/train.ts) as plain functions: the production gate, how stages follow
 * each other in the status an operator sees, and which operator commands a train accepts when.
 * The workflow tests cover the same rules end to end; these say what each rule is on its own.
 */
import { describe, expect, it } from 'vitest';
import {
  abortProblem,
  enterStage,
  environmentOf,
  FINAL_STAGES,
  gateDecision,
  initialStatus,
  isFinal,
  MAX_OPERATOR_LENGTH,
  MAX_REASON_LENGTH,
  promoteProblem,
  regenerateChangelogProblem,
  requestProblem,
  rerunE2EProblem,
  retryDeployProblem,
  statusOf,
  supersedeProblem,
  type Stage,
  type TrainInput,
  type TrainPolicy,
  type TrainStatus,
} from '../../domain/train.js';

const TRAIN_ID = 'train/api/v1.4.0';

function policy(overrides: Partial<TrainPolicy> = {}): TrainPolicy {
  return {
    service: 'api',
    tagFormat: 'v{version}',
    release: { timeZone: 'Europe/Berlin', days: ['tue'], time: '10:00', minLeadHours: 12 },
    decisionDeadlineHours: 24,
    hasE2E: true,
    smoke: { staging: true, production: true },
    ...overrides,
  };
}

function input(p: TrainPolicy = policy()): TrainInput {
  return { service: 'api', tag: 'v1.4.0', commit: 'c0ffee'.padEnd(40, '0'), policy: p, startedBy: 'schedule', releaseAt: 1_000_000 };
}

/** A train that went through `stages` in order, one millisecond apart. */
function trainAt(stages: Stage[], p: TrainPolicy = policy()): TrainStatus {
  const status = initialStatus(TRAIN_ID, input(p));
  stages.forEach((stage, i) => enterStage(status, stage, i + 1));
  return status;
}

const ask = { by: 'alice', reason: 'E2E flake, checked by hand' };
const failedE2E = { passed: false, summary: '3 of 120 failed' };
const passedE2E = { passed: true, summary: '120 passed' };

describe('the production gate', () => {
  it('waits for the release time while nobody has promoted', () => {
    expect(gateDecision({ releaseTimeReached: false, hasE2E: true, e2e: passedE2E })).toEqual({ kind: 'wait', why: 'the release time' });
  });

  it('promotes at the release time when E2E passed', () => {
    const decision = gateDecision({ releaseTimeReached: true, hasE2E: true, e2e: passedE2E });
    expect(decision.kind).toBe('promote');
    expect(decision.why).toContain('E2E passed');
  });

  it('promotes at the release time when the service has no E2E', () => {
    const decision = gateDecision({ releaseTimeReached: true, hasE2E: false });
    expect(decision.kind).toBe('promote');
    expect(decision.why).toContain('no E2E configured');
  });

  it('after failed E2E at the release time, waits for a release manager to promote or abort', () => {
    const decision = gateDecision({ releaseTimeReached: true, hasE2E: true, e2e: failedE2E });
    expect(decision.kind).toBe('wait');
    expect(decision.why).toMatch(/release manager.*promote.*E2E failed.*abort/);
  });

  it('waits at the release time when E2E is configured but has no result', () => {
    expect(gateDecision({ releaseTimeReached: true, hasE2E: true }).kind).toBe('wait');
  });

  it('promotes at once when an operator promoted, before the release time and despite failed E2E, naming who', () => {
    for (const releaseTimeReached of [false, true]) {
      expect(gateDecision({ promotedBy: 'alice', releaseTimeReached, hasE2E: true, e2e: failedE2E })).toEqual({ kind: 'promote', why: 'promoted by alice' });
    }
  });
});

describe('stages in the status', () => {
  it('a new train is at the cut, running, with an empty history', () => {
    const status = initialStatus(TRAIN_ID, input());
    expect(status).toMatchObject({ trainId: TRAIN_ID, stage: 'cut', startedBy: 'schedule', releaseAt: 1_000_000, timeZone: 'Europe/Berlin' });
    expect(status.stages).toEqual([]);
    expect(status.actions).toEqual([]);
    expect(statusOf(status.stage)).toBe('running');
  });

  it('each stage closes the one before it, so the history shows how long each took', () => {
    const status = initialStatus(TRAIN_ID, input());
    enterStage(status, 'cut', 10);
    enterStage(status, 'staging', 25, 'deploying v1.4.0');
    enterStage(status, 'e2e', 70);
    expect(status.stage).toBe('e2e');
    expect(status.stages).toEqual([
      { stage: 'cut', startedAt: 10, endedAt: 25 },
      { stage: 'staging', startedAt: 25, endedAt: 70, note: 'deploying v1.4.0' },
      { stage: 'e2e', startedAt: 70 },
    ]);
  });

  it('a final stage is closed as it is entered', () => {
    const status = trainAt(['cut', 'staging', 'e2e', 'awaiting-release', 'production']);
    enterStage(status, 'released', 100);
    expect(status.stages.at(-1)).toEqual({ stage: 'released', startedAt: 100, endedAt: 100 });
    expect(status.stages.every((s) => s.endedAt !== undefined)).toBe(true);
  });

  it('shows what the train waits for until it moves on, and no stale wait afterwards', () => {
    const status = trainAt(['cut', 'staging', 'e2e', 'awaiting-decision']);
    status.waitingFor = gateDecision({ releaseTimeReached: true, hasE2E: true, e2e: failedE2E }).why;
    expect(statusOf(status.stage)).toBe('waiting');
    expect(status.waitingFor).toContain('E2E failed');
    enterStage(status, 'production', 50);
    expect(status.waitingFor).toBeUndefined();
    expect(statusOf(status.stage)).toBe('running');
  });

  it('searches as waiting while awaiting anything, running while working, and by its end once ended', () => {
    const waiting: Stage[] = ['awaiting-e2e', 'awaiting-release', 'awaiting-decision', 'awaiting-lock'];
    const working: Stage[] = ['cut', 'staging', 'e2e', 'production', 'rolling-back'];
    for (const stage of waiting) expect(statusOf(stage)).toBe('waiting');
    for (const stage of working) expect(statusOf(stage)).toBe('running');
    for (const stage of FINAL_STAGES) {
      expect(isFinal(stage)).toBe(true);
      expect(statusOf(stage)).toBe(stage);
    }
    for (const stage of [...waiting, ...working]) expect(isFinal(stage)).toBe(false);
  });

  it('names the environment the train works on, keeping the last one while it waits', () => {
    let env = environmentOf('cut', undefined);
    expect(env).toBeUndefined();
    env = environmentOf('staging', env);
    expect(env).toBe('staging');
    env = environmentOf('awaiting-release', env);
    expect(env).toBe('staging');
    env = environmentOf('production', env);
    expect(env).toBe('production');
    expect(environmentOf('awaiting-decision', env)).toBe('production');
    expect(environmentOf('rolled-back', 'staging')).toBe('production');
  });
});

describe('operator requests', () => {
  it('need an operator and a reason, bounded, and refuse fields the command does not take', () => {
    expect(requestProblem(undefined)).toContain('"by"');
    expect(requestProblem(['alice'])).toContain('"by"');
    expect(requestProblem({ by: ' ', reason: 'x' })).toContain('operator name');
    expect(requestProblem({ by: 'alice', reason: '' })).toContain('reason is required');
    expect(requestProblem({ by: 'a'.repeat(MAX_OPERATOR_LENGTH + 1), reason: 'x' })).toContain(`${MAX_OPERATOR_LENGTH} characters`);
    expect(requestProblem({ by: 'alice', reason: 'x'.repeat(MAX_REASON_LENGTH + 1) })).toContain('link to a document');
    expect(requestProblem({ ...ask, force: true })).toMatch(/unknown field "force"; this request takes by, reason$/);
    expect(requestProblem({ ...ask, overrideFreeze: 'yes' }, { overrideFreeze: 'boolean' })).toBe('"overrideFreeze" must be a boolean');
    expect(requestProblem({ ...ask, newTag: 'v'.repeat(301) }, { newTag: 'string' })).toContain('longer than 300');
    expect(requestProblem({ ...ask, overrideFreeze: true }, { overrideFreeze: 'boolean' })).toBeUndefined();
  });

  it('only listed operators with the right may act when the service names operators', () => {
    const p = policy({ operators: [{ name: 'alice', rights: ['promote'] }, { name: 'bob', rights: ['abort'] }] });
    const status = trainAt(['cut', 'staging', 'awaiting-release'], p);
    expect(promoteProblem(status, p, ask)).toBeUndefined();
    expect(promoteProblem(status, p, { by: 'bob', reason: 'go' })).toBe("\"bob\" does not have the \"promote\" right on service api; ask an admin to add it to bob's rights in services.api.operators of the worker's config");
    expect(promoteProblem(status, p, { by: 'mallory', reason: 'go' })).toMatch(/not an operator of service api; ask an admin/);
    expect(abortProblem(status, p, { by: 'bob', reason: 'broken' })).toBeUndefined();
    expect(abortProblem(status, p, ask)).toContain('"abort" right');
  });
});

describe('promote', () => {
  it('is accepted while the train waits for the release time or a decision', () => {
    expect(promoteProblem(trainAt(['cut', 'staging', 'awaiting-release']), policy(), ask)).toBeUndefined();
    const decided = trainAt(['cut', 'staging', 'e2e', 'awaiting-decision']);
    decided.e2e = failedE2E;
    expect(promoteProblem(decided, policy(), ask)).toBeUndefined();
  });

  it('of an ended train is rejected, saying how it ended and what to do', () => {
    for (const end of FINAL_STAGES) {
      const problem = promoteProblem(trainAt(['cut', 'staging', end]), policy(), ask);
      expect(problem).toBe(`train ${TRAIN_ID} has ended (${end}); start a new train`);
    }
  });

  it('is rejected while production is deploying or rolling back, and a second time', () => {
    expect(promoteProblem(trainAt(['cut', 'production']), policy(), ask)).toContain('already in production');
    expect(promoteProblem(trainAt(['cut', 'production', 'rolling-back']), policy(), ask)).toContain('already in rolling-back');
    const promoted = trainAt(['cut', 'staging', 'awaiting-lock']);
    promoted.actions.push({ kind: 'promote', by: 'alice', reason: 'go', at: 5 });
    expect(promoteProblem(promoted, policy(), ask)).toContain('already promoted');
  });

  it('is rejected after a failed deploy, pointing to retryDeploy or abort', () => {
    const status = trainAt(['cut', 'staging', 'awaiting-decision']);
    status.failedDeploy = { environment: 'staging', error: 'deployer answered 503' };
    expect(promoteProblem(status, policy(), ask)).toContain('waits for retryDeploy or abort after a failed deploy to staging');
  });

  it('through a production freeze needs overrideFreeze and the override-freeze right', () => {
    const p = policy({ operators: [{ name: 'alice', rights: ['promote'] }, { name: 'sre', rights: ['promote', 'override-freeze'] }] });
    const status = trainAt(['cut', 'staging', 'awaiting-release'], p);
    status.freezes.production = { frozen: true, by: 'sre', reason: 'incident 42' };
    const blocked = promoteProblem(status, p, ask);
    expect(blocked).toContain('production is frozen by sre: incident 42');
    expect(blocked).toContain('overrideFreeze');
    expect(promoteProblem(status, p, { ...ask, overrideFreeze: true })).toContain('"override-freeze" right');
    expect(promoteProblem(status, p, { by: 'sre', reason: 'fix for incident 42', overrideFreeze: true })).toBeUndefined();
  });

  it('is not held up by the freeze this train itself holds (a hotfix)', () => {
    const status = trainAt(['cut', 'staging', 'awaiting-release']);
    status.freezes.production = { frozen: true, by: 'alice', reason: 'hotfix v1.4.0 in progress', ownerTrainId: TRAIN_ID };
    expect(promoteProblem(status, policy(), ask)).toBeUndefined();
  });
});

describe('promote of a train held because production runs what it does not contain', () => {
  const hold = { running: { tag: 'v1.3.1', commit: 'abc1234'.padEnd(40, '0') }, relation: 'diverged' as const, why: 'production runs v1.3.1 (abc1234), which v1.4.0 does not contain: deploying it would remove that change' };
  const held = (p: TrainPolicy = policy()) => {
    const status = trainAt(['cut', 'staging', 'awaiting-release', 'awaiting-decision'], p);
    status.actions.push({ kind: 'promote', by: 'alice', reason: 'release day', at: 3 });
    status.productionHold = hold;
    return status;
  };

  it('without overrideBackwards is rejected with the reason and the choices, even after an earlier promote', () => {
    const problem = promoteProblem(held(), policy(), ask);
    expect(problem).toContain(`waits: ${hold.why}`);
    expect(problem).toMatch(/re-tag from a newer commit, abort, or promote with overrideBackwards/);
  });

  it('with overrideBackwards needs the rollback right as well as promote (it removes changes as a rollback does)', () => {
    const p = policy({ operators: [{ name: 'alice', rights: ['promote'] }, { name: 'rm', rights: ['promote', 'rollback'] }, { name: 'sre', rights: ['rollback'] }] });
    expect(promoteProblem(held(p), p, { ...ask, overrideBackwards: true })).toMatch(/^"alice" does not have the "rollback" right on service api; ask an admin/);
    expect(promoteProblem(held(p), p, { by: 'sre', reason: 'x', overrideBackwards: true })).toMatch(/^"sre" does not have the "promote" right on service api; ask an admin/);
    expect(promoteProblem(held(p), p, { by: 'rm', reason: 'the fix is reverted upstream', overrideBackwards: true })).toBeUndefined();
    expect(promoteProblem(held(p), p, { by: 'rm', reason: 'x', overrideBackwards: true, overrideFreeze: true })).toMatch(/^"rm" does not have the "override-freeze" right on service api; ask an admin/);
  });

  it('still needs a reason, and overrideBackwards must be a boolean', () => {
    expect(promoteProblem(held(), policy(), { by: 'rm', reason: ' ', overrideBackwards: true })).toMatch(/a reason is required/);
    expect(promoteProblem(held(), policy(), { by: 'rm', reason: 'x', overrideBackwards: 'yes' } as never)).toBe('"overrideBackwards" must be a boolean');
  });

  it('overrideBackwards on a train that is not held is rejected: there is nothing to override', () => {
    expect(promoteProblem(trainAt(['cut', 'staging', 'awaiting-release']), policy(), { ...ask, overrideBackwards: true })).toContain('is not held by the production check');
  });

  it('rerunE2E is rejected while held: E2E would not change what production runs', () => {
    const status = held();
    status.e2e = failedE2E;
    expect(rerunE2EProblem(status, policy(), ask)).toContain(`waits because ${hold.why}`);
  });

  it('abort and supersede stay open while held', () => {
    expect(abortProblem(held(), policy(), ask)).toBeUndefined();
    expect(supersedeProblem(held(), policy(), { ...ask, newTag: 'v1.4.1' })).toBeUndefined();
  });
});

describe('the other commands', () => {
  it('abort is accepted until the train ends, then rejected with how it ended', () => {
    expect(abortProblem(trainAt(['cut', 'staging', 'e2e']), policy(), ask)).toBeUndefined();
    expect(abortProblem(trainAt(['cut', 'production']), policy(), ask)).toBeUndefined();
    expect(abortProblem(trainAt(['cut', 'released']), policy(), ask)).toBe(`train ${TRAIN_ID} has already ended (released)`);
  });

  it('retryDeploy is accepted only while a failed deploy waits for it', () => {
    const status = trainAt(['cut', 'staging', 'awaiting-decision']);
    expect(retryDeployProblem(status, policy(), ask)).toBe(`train ${TRAIN_ID} has no failed deploy to retry (stage: awaiting-decision)`);
    status.failedDeploy = { environment: 'production', error: 'timeout' };
    expect(retryDeployProblem(status, policy(), ask)).toBeUndefined();
  });

  it('rerunE2E is accepted after failed E2E, and rejected when E2E passed or the service has none', () => {
    const failed = trainAt(['cut', 'staging', 'e2e', 'awaiting-decision']);
    failed.e2e = failedE2E;
    expect(rerunE2EProblem(failed, policy(), ask)).toBeUndefined();
    const passed = trainAt(['cut', 'staging', 'e2e', 'awaiting-release']);
    passed.e2e = passedE2E;
    expect(rerunE2EProblem(passed, policy(), ask)).toContain('not waiting after failed E2E');
    const noE2E = policy({ hasE2E: false });
    expect(rerunE2EProblem(trainAt(['cut', 'staging', 'awaiting-release'], noE2E), noE2E, ask)).toBe('service api has no E2E configured');
  });

  it('rerunE2E after failed E2E is accepted before the release time too, by trains that can run it then', () => {
    const early = trainAt(['cut', 'staging', 'e2e', 'awaiting-release']);
    early.e2e = failedE2E;
    expect(rerunE2EProblem(early, policy(), ask, { beforeRelease: true })).toBeUndefined();
    // Trains started before that change re-run it only at the gate.
    expect(rerunE2EProblem(early, policy(), ask)).toContain('not waiting after failed E2E (stage: awaiting-release)');
    const running = trainAt(['cut', 'staging', 'e2e', 'awaiting-release', 'e2e']);
    running.e2e = failedE2E;
    expect(rerunE2EProblem(running, policy(), ask, { beforeRelease: true })).toContain('not waiting after failed E2E (stage: e2e)');
  });

  it('regenerateChangelog checks the tag it starts from and is rejected once the train ended', () => {
    const status = trainAt(['cut', 'staging', 'awaiting-release']);
    expect(regenerateChangelogProblem(status, policy(), { ...ask, previousTag: 'v1.3.0' })).toBeUndefined();
    expect(regenerateChangelogProblem(status, policy(), { ...ask, previousTag: 'v1..3' })).toBe('previousTag "v1..3" contains ".."');
    expect(regenerateChangelogProblem(trainAt(['cut', 'aborted']), policy(), ask)).toBe(`train ${TRAIN_ID} has ended (aborted)`);
  });

  it('supersede replaces a train before production; once production ran its tag, it says to roll back', () => {
    const before = trainAt(['cut', 'staging', 'awaiting-release']);
    expect(supersedeProblem(before, policy(), { ...ask, newTag: 'v1.4.1' })).toBeUndefined();
    expect(supersedeProblem(before, policy(), { ...ask } as never)).toBe('the new tag ("newTag") is required');
    expect(supersedeProblem(before, policy(), { ...ask, newTag: 'v1.4.1 ' })).toContain('new tag "v1.4.1 " contains one of the characters');
    for (const stages of [['cut', 'production'], ['cut', 'production', 'rolling-back']] as Stage[][]) {
      expect(supersedeProblem(trainAt(stages), policy(), { ...ask, newTag: 'v1.4.1' })).toContain('roll back (trainyard rollback) instead of re-tagging');
    }
    const ranInProduction = trainAt(['cut', 'production', 'awaiting-decision']);
    ranInProduction.versions.production = 'v1.4.0';
    expect(supersedeProblem(ranInProduction, policy(), { ...ask, newTag: 'v1.4.1' })).toContain('has reached production');
    expect(supersedeProblem(trainAt(['cut', 'superseded']), policy(), { ...ask, newTag: 'v1.4.1' })).toBe(`train ${TRAIN_ID} has already ended (superseded)`);
    // A re-tag is a cut: the `start` right, not `promote`.
    const guarded = policy({ operators: [{ name: 'alice', rights: ['promote'] }, { name: 'rm', rights: ['start'] }] });
    expect(supersedeProblem(before, guarded, { ...ask, newTag: 'v1.4.1' })).toMatch(/^"alice" does not have the "start" right/);
    expect(supersedeProblem(before, guarded, { by: 'rm', reason: 'bad build', newTag: 'v1.4.1' })).toBeUndefined();
  });
});
