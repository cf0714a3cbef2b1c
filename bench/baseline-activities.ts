/**
 * Activities of the baseline workflows (bench/workflows). They do the same external work as the
 * train's counterparts: a signal-with-start plus a signal for a lock request, a schedule lookup on a
 * freeze change; `target` stands for the production deploy and only records when it started.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { schedulePauser } from '../activities/ledger.js';
import type { Emit } from './events.js';

export interface BaselineActivities {
  target(): Promise<void>;
  notify(): Promise<void>;
  requestLock(req: { partner: string; from: string; taskQueue: string; frozen: boolean }): Promise<void>;
  lookUpSchedule(): Promise<void>;
}

export function baselineActivities(client: Client, emit: Emit): BaselineActivities {
  const pauser = schedulePauser(client);
  return {
    async target() {
      emit({ kind: 'target', id: Context.current().info.workflowExecution?.workflowId ?? '?', at: Date.now() });
    },
    async notify() {
      /* a notifier that is never slow: the train's fake notifier is not either */
    },
    async requestLock({ partner, from, taskQueue, frozen }) {
      emit({ kind: 'step', step: 'request', id: from, at: Date.now() });
      const handle = await client.workflow.signalWithStart('hopLedger', { workflowId: partner, taskQueue, args: [{ frozen }], signal: 'configure', signalArgs: [{}] });
      await handle.signal('request', from);
    },
    async lookUpSchedule() {
      emit({ kind: 'step', step: 'schedule', id: Context.current().info.workflowExecution?.workflowId ?? '?', at: Date.now() });
      // The ledger's pauseCutSchedule on a service without a schedule: one describe call.
      await pauser({ service: 'bench-baseline', frozen: false, why: 'baseline' });
    },
  };
}
