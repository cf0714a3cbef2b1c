/**
 * Who may do what: the one rule (domain/rights.ts) and the validators of the service actions that
 * go through the production ledger (domain/service-actions.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Operator } from '../../domain/config.js';
import { configure, initialLedger, ledgerRightsProblem, type LedgerState } from '../../domain/ledger.js';
import { authorisationProblem } from '../../domain/rights.js';
import { changelogProblem, cutProblem, cutScheduleProblem, describeReverts, revertProblem } from '../../domain/service-actions.js';

const OPERATORS: Operator[] = [
  { name: 'alice', rights: ['start', 'hotfix', 'freeze', 'revert'] },
  { name: 'bob', rights: ['promote'] },
  { name: 'carol', rights: [] },
];
const IN = 'services.api.operators of /etc/trainyard.yaml';

/** A ledger that read its config; `null`: a config that names no operators. */
function ledger(environment: 'production' | 'staging' = 'production', operators: Operator[] | null = OPERATORS): LedgerState {
  const state = initialLedger('api', environment);
  configure(state, { ...(operators ? { operators, operatorsIn: IN } : {}) });
  return state;
}

describe('rights', () => {
  it('without operators anyone may do anything; with them, only what a list says, and the refusal says where to add it', () => {
    expect(authorisationProblem({ service: 'api' }, 'anyone', 'hotfix')).toBeUndefined();
    const p = { service: 'api', operators: OPERATORS, operatorsIn: IN };
    expect(authorisationProblem(p, 'alice', 'hotfix')).toBeUndefined();
    expect(authorisationProblem(p, 'bob', 'hotfix')).toBe(`"bob" does not have the "hotfix" right on service api; ask an admin to add it to bob's rights in ${IN}`);
    expect(authorisationProblem(p, 'carol', 'start')).toBe(`"carol" does not have the "start" right on service api (carol may only read: their rights are []); ask an admin to add it to carol's rights in ${IN}`);
    expect(authorisationProblem(p, 'mallory', 'revert')).toBe(`"mallory" is not an operator of service api; ask an admin to add them, with the "revert" right, to ${IN}`);
    expect(authorisationProblem({ service: 'api', operators: OPERATORS }, 'bob', 'start')).toMatch(/in services\.api\.operators of the worker's config$/);
  });

  it("a ledger that has not read its service's config refuses everyone, even when the config would let anyone act", () => {
    const fresh = initialLedger('api', 'production');
    expect(ledgerRightsProblem(fresh, 'alice', 'freeze')).toMatch(/^the production ledger of api has not read the service's operators from the config yet/);
    expect(ledgerRightsProblem(ledger('production', null), 'anyone', 'freeze')).toBeUndefined();
    expect(ledgerRightsProblem(ledger(), 'bob', 'freeze')).toMatch(/^"bob" does not have the "freeze" right/);
  });

  it('cut: start, re-tag and hotfix need a reason and their right, on the production ledger only', () => {
    const state = ledger();
    expect(cutProblem(state, { by: 'alice', reason: 'weekly' })).toBeUndefined();
    expect(cutProblem(state, { by: 'alice', reason: 'retag', ref: 'abc1234', supersedes: { trainId: 'train/api/api/v1.1', tag: 'api/v1.1' } })).toBeUndefined();
    expect(cutProblem(state, { by: 'alice', reason: 'outage', hotfix: { fromTag: 'api/v1.1', picks: ['abc1234'] } })).toBeUndefined();
    expect(cutProblem(state, { by: 'alice', reason: '' })).toMatch(/a reason is required/);
    expect(cutProblem(state, { by: 'alice' })).toMatch(/a reason is required/);
    expect(cutProblem(state, { by: 'bob', reason: 'weekly' })).toMatch(/^"bob" does not have the "start" right/);
    expect(cutProblem(state, { by: 'bob', reason: 'outage', hotfix: { fromTag: 'api/v1.1', picks: ['abc'] } })).toMatch(/^"bob" does not have the "hotfix" right/);
    expect(cutProblem(state, { by: 'carol', reason: 'x' })).toMatch(/carol may only read/);
    expect(cutProblem(state, { by: 'schedule', reason: 'x' })).toMatch(/^"schedule" names the cut schedule/);
    expect(cutProblem(state, { by: 'alice', reason: 'x', hotfix: { fromTag: 'api/v1.1', picks: [] } })).toMatch(/"hotfix.picks" must list the commits/);
    expect(cutProblem(state, { by: 'alice', reason: 'x', hotfix: { fromTag: 'api/v1.1', picks: ['a'] }, tag: 'v9' })).toMatch(/a hotfix takes only fromTag and picks/);
    expect(cutProblem(state, { by: 'alice', reason: 'x', supersedes: { trainId: 'train/web/web/v1', tag: 'web/v1' } })).toMatch(/must be a train of api/);
    expect(cutProblem(state, { by: 'alice', reason: 'x', ref: 'a..b' })).toMatch(/^ref "a\.\.b" contains "\.\."/);
    expect(cutProblem(state, { by: 'alice', reason: 'x', colour: 'red' })).toMatch(/unknown field "colour"/);
    expect(cutProblem(ledger('staging'), { by: 'alice', reason: 'x' })).toMatch(/go through its production ledger \(env\/api\/production\)/);
  });

  it('revert: pull request numbers, a reason and the revert right', () => {
    const state = ledger();
    expect(revertProblem(state, { by: 'alice', reason: 'broke staging', prs: [12, 13] })).toBeUndefined();
    expect(revertProblem(state, { by: 'bob', reason: 'broke staging', prs: [12] })).toMatch(/^"bob" does not have the "revert" right/);
    expect(revertProblem(state, { by: 'alice', reason: 'x', prs: [] })).toMatch(/"prs" must list the pull requests/);
    expect(revertProblem(state, { by: 'alice', reason: 'x', prs: [1.5] })).toMatch(/must be pull request numbers/);
    expect(revertProblem(state, { by: 'alice', reason: 'x', prs: [3, 3] })).toMatch(/listed twice/);
    expect(revertProblem(state, { by: 'alice', prs: [3] })).toMatch(/a reason is required/);
    expect(describeReverts({ by: 'alice', reason: 'broke staging' }, [{ pr: 12, revert: { number: 15, url: 'u' } }, { pr: 13, error: 'conflicts' }])).toBe(
      'alice opened reverts of #12 (as #15); #13 failed: conflicts: broke staging',
    );
  });

  it("changelog of an ended train: its tag, a well-formed base, a reason and the promote right, on the production ledger", () => {
    const state = ledger();
    expect(changelogProblem(state, { by: 'bob', reason: 'notes missed a fix', tag: 'api/v1.2' })).toBeUndefined();
    expect(changelogProblem(state, { by: 'bob', reason: 'race', tag: 'api/v1.2', previousTag: 'api/v1.0' })).toBeUndefined();
    expect(changelogProblem(state, { by: 'alice', reason: 'x', tag: 'api/v1.2' })).toMatch(/^"alice" does not have the "promote" right/);
    expect(changelogProblem(state, { by: 'carol', reason: 'x', tag: 'api/v1.2' })).toMatch(/carol may only read/);
    expect(changelogProblem(state, { by: 'bob', reason: 'x' })).toMatch(/"tag" \(the release whose notes to regenerate\) is required/);
    expect(changelogProblem(state, { by: 'bob', reason: 'x', tag: 'api/v1.2', previousTag: 'a..b' })).toMatch(/^previous tag "a\.\.b" contains "\.\."/);
    expect(changelogProblem(state, { by: 'bob', tag: 'api/v1.2' })).toMatch(/a reason is required/);
    expect(changelogProblem(state, { by: 'bob', reason: 'x', tag: 'api/v1.2', extra: 1 })).toMatch(/unknown field "extra"/);
    expect(changelogProblem(ledger('staging'), { by: 'bob', reason: 'x', tag: 'api/v1.2' })).toMatch(/go through its production ledger/);
  });

  it('the cut schedule: pausing is a freeze of releases, triggering a cut; no unpause while production is frozen', () => {
    const state = ledger();
    const now = Date.now();
    expect(cutScheduleProblem(state, { by: 'alice', reason: 'audit', action: 'pause' }, now)).toBeUndefined();
    expect(cutScheduleProblem(state, { by: 'bob', reason: 'audit', action: 'pause' }, now)).toMatch(/^"bob" does not have the "freeze" right/);
    expect(cutScheduleProblem(state, { by: 'bob', reason: 'now', action: 'trigger' }, now)).toMatch(/^"bob" does not have the "start" right/);
    expect(cutScheduleProblem(state, { by: 'alice', reason: 'x', action: 'delete' }, now)).toMatch(/"action" must be one of pause, unpause, trigger/);
    state.freeze = { by: 'sre', reason: 'incident', at: now };
    expect(cutScheduleProblem(state, { by: 'alice', reason: 'x', action: 'unpause' }, now)).toMatch(/is frozen by sre: incident, and its cut schedule stays paused while it is; end the freeze instead: trainyard unfreeze api/);
  });
});
