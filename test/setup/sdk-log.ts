/**
 * The suite prints its test lines and figure lines, not the Temporal SDK's log: what the SDK logs
 * in a test file (workers' warnings, the expected failed attempts of fault tests) goes to
 * .trainyard/test-logs/<test file>.log (workers/worker.ts `installQuietRuntime` reads
 * TRAINYARD_SDK_LOG; worker processes a test starts inherit it), and its new lines are printed
 * when a test fails.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeEach, expect } from 'vitest';

const dir = join(import.meta.dirname, '..', '..', '.trainyard', 'test-logs');
const file = join(dir, `${basename(expect.getState().testPath ?? `pid-${process.pid}`)}.log`);
mkdirSync(dir, { recursive: true });
rmSync(file, { force: true });
process.env.TRAINYARD_SDK_LOG = file;

/** How much of the log was printed already (each failure prints what came since). */
let shown = 0;
const TAIL = 150;

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    if (!existsSync(file)) return;
    const text = readFileSync(file, 'utf8');
    const lines = text.slice(shown).trimEnd().split('\n').filter(Boolean);
    shown = text.length;
    if (lines.length === 0) return;
    console.error(`--- Temporal SDK log (last ${Math.min(TAIL, lines.length)} of ${lines.length} new lines; all in ${file}) ---\n${lines.slice(-TAIL).join('\n')}`);
  });
});
