/**
 * Who may do what: the one rule (domain/rights.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Operator } from '../../domain/config.js';
import { authorisationProblem } from '../../domain/rights.js';

const OPERATORS: Operator[] = [
  { name: 'alice', rights: ['start', 'hotfix', 'freeze', 'revert'] },
  { name: 'bob', rights: ['promote'] },
  { name: 'carol', rights: [] },
];
const IN = 'services.api.operators of /etc/trainyard.yaml';

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
});
