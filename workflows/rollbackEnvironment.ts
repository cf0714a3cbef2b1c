/**
 * An operator's rollback of one environment (`trainyard rollback <service> --env <env> [--to <tag>]`
 * or the ledger's `rollback` update). The ledger's validator has already checked the right and the
 * target; this workflow takes the environment's deploy lock (through any freeze: a rollback is what
 * a freeze is for), deploys the target, runs the smoke check and records the outcome in the ledger.
 */
import { ActivityFailure, isCancellation, log, workflowInfo } from '@temporalio/workflow';
import type { DeploymentRecord } from '../domain/ledger.js';
import type { RollbackStart } from '../activities/types.js';
import { longRunning, notifier, quietNotifier, step } from './activity-options.js';
import { LedgerLink } from './train-ledger.js';

export interface RollbackResult {
  tag: string;
  outcome: 'rolled-back' | 'failed';
  summary: string;
}

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

export async function rollbackEnvironment(req: RollbackStart): Promise<RollbackResult> {
  const { service, environment, tag, commit } = req;
  const id = workflowInfo().workflowId;
  const tell = quietNotifier(service, id);
  await tell('rollback-started', `${req.by} rolls ${service} ${environment} back to ${tag}: ${req.reason}`);
  const ledgers = new LedgerLink({ service, tag }, id, {});
  let result: RollbackResult = { tag, outcome: 'failed', summary: 'not started' };
  await ledgers.withLock(environment, true, (why) => log.info('rollback waits for the lock', { why }), async () => {
    const record = (outcome: DeploymentRecord['outcome']): DeploymentRecord[] => [{ tag, commit, trainId: id, at: Date.now(), outcome, by: req.by }];
    try {
      await longRunning.deploy.executeWithOptions(step(`Deploy ${tag} to ${environment} (rollback)`, req), [{ service, environment, tag, commit, trainId: id }]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      result = { tag, outcome: 'failed', summary: `deploy of ${tag} failed: ${failureMessage(err)}` };
      return record('failed');
    }
    try {
      await notifier.annotate.executeWithOptions({ summary: `Annotate: ${tag} active in ${environment}` }, [{ service, environment, tag, trainId: id, at: Date.now() }]);
    } catch (err) {
      if (isCancellation(err)) throw err;
    }
    const smoke = await longRunning.runCheck.executeWithOptions(step(`Smoke test ${tag} in ${environment}`, req), [
      { service, check: 'smoke', environment, tag, commit, trainId: id },
    ]);
    result = smoke.passed
      ? { tag, outcome: 'rolled-back', summary: `${environment} runs ${tag} again (${smoke.summary})` }
      : { tag, outcome: 'failed', summary: `smoke test of ${tag} failed after the rollback: ${smoke.summary}` };
    return record(smoke.passed ? 'verified' : 'failed');
  });
  if (result.outcome === 'rolled-back') {
    await tell('rolled-back', `Rolled ${service} ${environment} back to ${tag}: ${result.summary}`);
  } else {
    await ledgers.freezeForIncident(environment, `rollback to ${tag} failed: ${result.summary}`);
    await tell('rollback-failed', `ROLLBACK FAILED: ${service} ${environment} → ${tag}: ${result.summary}. ${environment} is frozen until someone unfreezes it.`);
  }
  return result;
}
