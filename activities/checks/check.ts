import type { CheckOutcome } from '../../domain/train.js';
import type { DeployContext } from '../deploy/deployer.js';
import type { CheckRequest } from '../types.js';

export type CheckContext = DeployContext;

/**
 * A smoke test or E2E suite. A failing check is a result (passed: false), not an error: errors are
 * for checks that could not run at all (misconfigured, program missing).
 */
export interface Check {
  run(req: CheckRequest, ctx: CheckContext): Promise<CheckOutcome>;
}
