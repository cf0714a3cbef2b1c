import { describe, expect, it } from 'vitest';
import { planVersionBumpSchedules } from '../../client/version-bump-schedules.js';
import { versionBumpsSchema } from '../../domain/version-bump-config.js';
import { branchOf, bumpBody, failureAction, initialBumpStatus, isStale, nextWakeMs, resolvedProblem, versionIn, writtenVersionOf, type BumpPlan } from '../../domain/version-bump.js';

const to = 'b'.repeat(40);

describe('version bump decisions', () => {
  it('retries once, then tells a broken master from a regression', () => {
    expect(failureAction({ retried: false, masterState: 'failure' })).toBe('retry');
    expect(failureAction({ retried: true, masterState: 'failure' })).toBe('await-master');
    expect(failureAction({ retried: true, masterState: 'success' })).toBe('blocked');
    expect(failureAction({ retried: true, masterState: 'pending' })).toBe('blocked');
  });

  it('writes a body with the compare link, the commits and a marker a later run reads back', () => {
    const body = bumpBody({ component: 'gitaly', from: 'a'.repeat(40), to, compareUrl: 'https://x/compare/{from}...{to}', commits: [{ sha: to, subject: 'fix: y', author: 'dev' }], truncated: true });
    expect(body).toContain(`https://x/compare/${'a'.repeat(40)}...${to}`);
    expect(body).toContain('- bbbbbbbbbbbb fix: y (dev)');
    expect(body).toContain('list truncated');
    expect(writtenVersionOf(body)).toBe(to);
    expect(writtenVersionOf('a person wrote this')).toBeUndefined();
  });

  it('reads versions, names branches per generation, and tells when a request is stale', () => {
    expect(versionIn(' abc \n')).toBe('abc');
    expect(versionIn('\n')).toBeUndefined();
    expect(branchOf({ branch: 'b' }, 0)).toBe('b');
    expect(branchOf({ branch: 'b' }, 2)).toBe('b-3');
    expect(isStale('2024-01-01T00:00:00Z', Date.parse('2024-01-02T00:00:00Z'), 24)).toBe(true);
    expect(isStale('2024-01-01T00:00:00Z', Date.parse('2024-01-01T23:59:00Z'), 24)).toBe(false);
    expect(nextWakeMs({ now: 0, pollMs: 300_000, nextGreenCheckAt: 60_000 })).toBe(60_000);
    expect(nextWakeMs({ now: 0, pollMs: 300_000, nextGreenCheckAt: 0, staleAt: -5 })).toBe(1_000);
  });

  it('refuses resolved from unknown people, without a reason, with extra fields, or when nothing waits', () => {
    const plan = { component: 'gitaly', consumer: 'gitlab' } as BumpPlan;
    const s = { ...initialBumpStatus(plan), stage: 'blocked' as const };
    expect(resolvedProblem(s, ['alice'], { by: 'alice', reason: 'reverted' })).toBeUndefined();
    expect(resolvedProblem(s, ['alice'], { by: 'bob', reason: 'x' })).toMatch(/may not resolve/);
    expect(resolvedProblem(s, undefined, { by: 'bob', reason: ' ' })).toMatch(/reason/);
    expect(resolvedProblem(s, undefined, { by: 'bob', reason: 'x', sneaky: 1 })).toMatch(/unknown field/);
    expect(resolvedProblem({ ...s, stage: 'awaiting-pipeline' }, undefined, { by: 'bob', reason: 'x' })).toMatch(/not waiting for a person/);
  });

  it('plans an hourly schedule per bump with the workflow id bump/<component>/<consumer>', () => {
    const bumps = versionBumpsSchema.parse([{ component: 'gitaly', consumer: 'gitlab', componentForge: {}, consumerForge: {}, versionFile: 'GITALY_SERVER_VERSION' }]);
    const [planned] = planVersionBumpSchedules(bumps, 'trainyard');
    expect(planned?.scheduleId).toBe('trainyard-bump-gitaly-gitlab');
    expect(planned?.options.spec.intervals).toEqual([{ every: '60m' }]);
    const action = planned!.options.action as unknown as { workflowId: string; args: [{ plan: BumpPlan }] };
    expect(action.workflowId).toBe('bump/gitaly/gitlab');
    expect(action.args[0].plan).toMatchObject({ branch: 'trainyard/bump-gitaly', title: 'Update Gitaly version', blockedLabel: 'trainyard::blocked', staleLabel: 'trainyard::stale' });
    expect(versionBumpsSchema.safeParse([{ component: 'gitaly', consumer: 'gitaly', componentForge: {}, consumerForge: {} }]).success).toBe(false);
  });
});
