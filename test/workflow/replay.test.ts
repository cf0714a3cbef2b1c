/**
 * Every recorded history (test/histories/*.json) replays against the current workflow bundle.
 * A failure here means a change to workflow code would break trains that are running now: guard
 * the change with `patched()` instead (see the README's "Changing workflow code").
 */
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prebuiltBundlePath } from '../../workers/bundle.js';
import { installQuietRuntime } from '../../workers/worker.js';
import { HISTORIES_DIR } from '../helpers/histories.js';

const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));

describe('replay of recorded histories', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  it.each(files)('%s replays against the current code', async (file) => {
    installQuietRuntime();
    const { workflowId, history } = JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: { codePath: prebuiltBundlePath() } }, history, workflowId);
  });
});
