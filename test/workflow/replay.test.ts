/**
 * Every recorded history (test/histories/*.json) replays against the current workflow bundle.
 * A failure here means a change to workflow code would break trains that are running now: guard
 * the change with `patched()` instead (see the README's "Changing workflow code").
 */
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { prebuiltBundlePath } from '../../workers/bundle.js';
import { installQuietRuntime } from '../../workers/worker.js';
import { HISTORIES_DIR } from '../helpers/histories.js';

const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));

/** Each file's replay error (undefined: it replayed). One replay worker for all: a worker costs a second of CPU. */
const errors = new Map<string, Error | undefined>();

beforeAll(async () => {
  installQuietRuntime();
  const histories = files.map((file) => JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as { workflowId: string; history: unknown });
  // Results come in the order of the histories (several files share a workflow id).
  let i = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: prebuiltBundlePath() } }, histories as never)) {
    const file = files[i++]!;
    const recorded = histories[files.indexOf(file)]!.workflowId;
    errors.set(file, result.workflowId === recorded ? result.error : new Error(`the replay of ${file} answered for ${result.workflowId}, not ${recorded}`));
  }
});

describe('replay of recorded histories', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  it.each(files)('%s replays against the current code', (file) => {
    expect(errors.has(file), `${file} was not replayed`).toBe(true);
    const error = errors.get(file);
    if (error) throw error;
  });
});
