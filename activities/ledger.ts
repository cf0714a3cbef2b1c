/**
 * Reaching an environment ledger from a train: signal-with-start, so the first train of a service
 * creates its ledgers and later ones find them. (Workflows cannot signal-with-start themselves.)
 */
import type { Client } from '@temporalio/client';
import { ledgerId } from '../domain/ids.js';
import { SERVICE } from '../workflows/search-attributes.js';
import type { LedgerSignal } from './types.js';

export function ledgerSignaller(client: Client, taskQueue: string) {
  return async function signalLedger({ service, environment, signal, payload }: LedgerSignal): Promise<void> {
    await client.workflow.signalWithStart('environmentLedger', {
      workflowId: ledgerId(service, environment),
      taskQueue,
      args: [{ service, environment }],
      signal,
      signalArgs: [payload],
      typedSearchAttributes: [{ key: SERVICE, value: service }],
      staticSummary: `Environment ledger of ${service} ${environment}: deploy lock, freeze, deployed versions`,
    });
  };
}
