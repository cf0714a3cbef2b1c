/**
 * Recorded workflow histories. `RECORD_HISTORIES=1 npx vitest run test/workflow` writes one file per
 * train path into test/histories/; the replay test runs every file against the current workflow
 * code, so a change that would break running trains fails the suite.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const HISTORIES_DIR = join(import.meta.dirname, '..', 'histories');

export function historyFileName(testName: string): string {
  return `${testName.replace(/^.*?>\s*/, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80)}.json`;
}

export async function recordHistory(testName: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  // Proto3 JSON, the format of `temporal workflow show --output json`: histories from a real
  // cluster can be added beside these.
  const history = JSON.parse(historyToJSON(await handle.fetchHistory()));
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, historyFileName(testName)), `${JSON.stringify({ workflowId: handle.workflowId, history }, null, 1)}\n`);
}
