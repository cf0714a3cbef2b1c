/**
 * The rule before production (domain/production-order.ts): given how a train's commit relates to
 * the one production runs, deploy or hold, and why. The forge answers the relation (its contract is
 * in test/forge); the workflow and the end-to-end test show the hold and the override in a train.
 */
import { describe, expect, it } from 'vitest';
import { comparisonNeeded, holdChoices, productionOrder } from '../../domain/production-order.js';

const running = { tag: 'api/v2024.10.02.3', commit: 'abc1234def5678'.padEnd(40, '0') };
const candidate = { tag: 'api/v2024.10.03.1', commit: 'fee1600d'.padEnd(40, '1') };

describe('what to compare before production', () => {
  it('nothing when nothing known runs in production, or production runs the same commit', () => {
    expect(comparisonNeeded(candidate, undefined)).toBeUndefined();
    expect(comparisonNeeded(candidate, { tag: 'api/v2024.10.02.9', commit: candidate.commit })).toBeUndefined();
  });

  it("otherwise whether the train's commit contains production's: base = running, head = candidate", () => {
    expect(comparisonNeeded(candidate, running)).toEqual({ base: running.commit, head: candidate.commit });
  });
});

describe('deploy or hold', () => {
  it('deploys when production runs nothing known, the same commit, or a commit the train contains', () => {
    expect(productionOrder({ candidate, running: undefined })).toMatchObject({ kind: 'deploy' });
    expect(productionOrder({ candidate, running: { ...running, commit: candidate.commit } })).toMatchObject({ kind: 'deploy' });
    expect(productionOrder({ candidate, running, relation: 'identical' })).toMatchObject({ kind: 'deploy' });
    expect(productionOrder({ candidate, running, relation: 'ahead' })).toEqual({ kind: 'deploy', why: `${candidate.tag} contains ${running.tag}` });
  });

  it("holds a train that does not contain production's commit (a hotfix's cherry-picks), saying what it would remove", () => {
    expect(productionOrder({ candidate, running, relation: 'diverged' })).toEqual({
      kind: 'hold',
      hold: {
        running,
        relation: 'diverged',
        why: `production runs ${running.tag} (abc1234), which ${candidate.tag} does not contain: deploying it would remove that change (e.g. a hotfix's cherry-picked commits)`,
      },
    });
  });

  it('holds an older train: production would go backwards', () => {
    const order = productionOrder({ candidate, running, relation: 'behind' });
    expect(order.kind).toBe('hold');
    if (order.kind === 'hold') expect(order.hold.why).toMatch(/does not contain: deploying it would remove that change \(.* is older: production would go backwards\)/);
  });

  it('holds when the forge could not tell, naming its answer: nothing is deployed blind', () => {
    const order = productionOrder({ candidate, running, relation: { error: 'GitHub answered 502' } });
    expect(order).toMatchObject({ kind: 'hold', hold: { relation: 'unknown' } });
    if (order.kind === 'hold') expect(order.hold.why).toContain('the forge could not tell whether api/v2024.10.03.1 contains it (GitHub answered 502)');
  });

  it('deploys once an operator overrode the hold for this running version, and says so', () => {
    expect(productionOrder({ candidate, running, relation: 'diverged', overriddenFor: running.tag })).toMatchObject({ kind: 'deploy', overridden: true });
  });

  it('an override of another version does not count: production changed since, a person looks again', () => {
    expect(productionOrder({ candidate, running, relation: 'diverged', overriddenFor: 'api/v2024.10.02.2' })).toMatchObject({ kind: 'hold' });
  });

  it('a train that contains production needs no override even when one was given', () => {
    expect(productionOrder({ candidate, running, relation: 'ahead', overriddenFor: running.tag })).not.toHaveProperty('overridden');
  });
});

describe('the choices of a held train', () => {
  it('are commands: re-tag (supersede), abort, or promote with the override', () => {
    const choices = holdChoices('api', 'train/api/api/v2024.10.03.1');
    expect(choices).toContain('trainyard tag api --from <sha> --reason "…", which supersedes this train');
    expect(choices).toContain('trainyard abort train/api/api/v2024.10.03.1 --reason "…"');
    expect(choices).toContain('trainyard promote train/api/api/v2024.10.03.1 --override-backwards --reason "…"; needs the rollback right');
  });
});
