/**
 * The train's activities in the bench: the workflow tests' fake activities (the real ones for
 * messages between workflows: ledger signals, schedule lookups; instant in-memory stand-ins for the
 * forge), with deploys, checks and notifications replaced by a probe that tells the bench when a
 * deploy starts and what a train notifies, and keeps nothing in memory.
 *
 * A bench service's name carries its behaviour, so trains of many scenarios share one worker:
 * `<name>_<flag>_<flag>…` with flags
 *   e2efail       E2E fails
 *   smokefail     the production smoke test of the train's tag fails (the train rolls back)
 *   rollbackfail  the production smoke test fails and so does the rollback
 *   deployfail    the first production deploy fails for good (the train waits for retryDeploy)
 *   hang          the staging deploy runs until it is cancelled (abort)
 *   poll<n>       every deploy heartbeats n times, as a driver polling a pipeline does
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { DeployRequest, TrainActivities } from '../activities/types.js';
import { fakeActivities, fakeWorld } from '../test/helpers/fake-activities.js';
import type { Emit } from './events.js';
import { benchPolicy } from './trains.js';

function flags(service: string): string[] {
  return service.split('_').slice(1);
}

function pollsOf(service: string): number {
  const flag = flags(service).find((f) => /^poll\d+$/.test(f));
  return flag ? Number(flag.slice(4)) : 0;
}

/** Heartbeats `polls` times, yielding now and then as a driver waiting on a pipeline would. */
async function poll(polls: number): Promise<void> {
  const ctx = Context.current();
  for (let i = 0; i < polls; i++) {
    ctx.heartbeat({ poll: i });
    if (i % 100 === 0) await ctx.sleep(1);
  }
}

async function hangUntilCancelled(): Promise<never> {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await ctx.sleep(50);
  }
}

/** A rollback deploys another tag than the train's own. */
function isRollback(req: DeployRequest): boolean {
  return !req.trainId.endsWith(`/${req.tag}`);
}

export function trainActivities(client: Client, taskQueue: string, emit: Emit): TrainActivities {
  const failedOnce = new Set<string>();
  const deploy = async (req: DeployRequest) => {
    emit({ kind: 'deploy', id: req.trainId, environment: req.environment, tag: req.tag, at: Date.now() });
    const f = flags(req.service);
    if (f.includes('hang') && req.environment === 'staging') await hangUntilCancelled();
    if (req.environment === 'production' && f.includes('rollbackfail') && isRollback(req)) {
      throw ApplicationFailure.nonRetryable('the rollback deploy failed (bench)', 'DEPLOY_FAILED');
    }
    if (req.environment === 'production' && f.includes('deployfail') && !failedOnce.has(req.trainId)) {
      failedOnce.add(req.trainId);
      throw ApplicationFailure.nonRetryable('the production deploy failed (bench)', 'DEPLOY_FAILED');
    }
    await poll(pollsOf(req.service));
    return { summary: `deployed ${req.tag}` };
  };
  const fakes = fakeActivities(fakeWorld(), benchPolicy('bench'), client, taskQueue);
  return {
    ...fakes,
    async signalLedger(req) {
      if (req.signal === 'requestLock' && req.environment === 'production') emit({ kind: 'step', step: 'request', id: req.payload.trainId, at: Date.now() });
      return fakes.signalLedger(req);
    },
    async pauseCutSchedule(req) {
      emit({ kind: 'step', step: 'schedule', id: Context.current().info.workflowExecution?.workflowId ?? '?', at: Date.now() });
      return fakes.pauseCutSchedule(req);
    },
    deploy,
    async runCheck(req) {
      const f = flags(req.service);
      if (req.check === 'e2e' && f.includes('e2efail')) return { passed: false, summary: 'E2E failed (bench)' };
      // Only the train's own tag fails: the version it rolls back to passes its smoke test.
      const smokeFails = req.environment === 'production' && (f.includes('smokefail') || f.includes('rollbackfail')) && req.trainId.endsWith(`/${req.tag}`);
      if (req.check === 'smoke' && smokeFails) return { passed: false, summary: 'smoke failed (bench)' };
      return { passed: true, summary: 'ok' };
    },
    async readDeployedVersion({ service }) {
      return `${service}/v0`;
    },
    async notify(note) {
      emit({ kind: 'notify', id: note.trainId, event: note.event, at: Date.now() });
    },
    async annotate() {
      /* monitoring annotations cost the train a local activity; their content does not matter here */
    },
  };
}
