/**
 * Rights: who may do what on a service. One rule, used by every workflow validator (trains, ledgers,
 * pre-releases, the stage follower) and by the cut itself; the CLI checks nothing.
 */
import type { Operator, Right } from './config.js';

/** Who may act on a service, as a workflow knows it (from the service's config). */
export interface OperatorPolicy {
  service: string;
  /** Absent: anyone may do anything (the config names no operators). */
  operators?: Operator[];
  /** Where they are declared, e.g. `services.api.operators of /etc/trainyard.yaml`. */
  operatorsIn?: string;
}

/** Where an admin adds a right: the config file when the worker said which, else the config's key. */
export function operatorsLocation(policy: OperatorPolicy): string {
  return policy.operatorsIn ?? `services.${policy.service}.operators of the worker's config`;
}

/**
 * Why `by` may not use `right` on this service, in words that say what to do; undefined when
 * allowed. With no operators in the config anyone may; with operators, only what a list says.
 */
export function authorisationProblem(policy: OperatorPolicy, by: string, right: Right): string | undefined {
  if (!policy.operators) return undefined;
  const where = operatorsLocation(policy);
  const operator = policy.operators.find((o) => o.name === by);
  if (!operator) return `"${by}" is not an operator of service ${policy.service}; ask an admin to add them, with the "${right}" right, to ${where}`;
  if (operator.rights.includes(right)) return undefined;
  const readOnly = operator.rights.length === 0 ? ` (${by} may only read: their rights are [])` : '';
  return `"${by}" does not have the "${right}" right on service ${policy.service}${readOnly}; ask an admin to add it to ${by}'s rights in ${where}`;
}
