/**
 * The suite prints its test lines and figure lines, not the Temporal SDK's log: what the SDK logs
 * in a test file (workers' warnings, the expected failed attempts of fault tests) goes to
 * .trainyard/test-logs/<folder>-<test file>.log, e.g. e2e-flag-rollout.test.ts.log (workers/worker.ts `installQuietRuntime` reads
 * TRAINYARD_SDK_LOG; worker processes a test starts inherit it), and its new lines are printed
 * when a test fails.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { afterAll, beforeEach, expect } from 'vitest';

const dir = join(import.meta.dirname, '..', '..', '.trainyard', 'test-logs');
const testPath = expect.getState().testPath;
// The folder is part of the name: test/e2e/flag-rollout.test.ts and test/workflow/flag-rollout.test.ts are two files.
const file = join(dir, `${testPath ? relative(join(import.meta.dirname, '..'), testPath).replaceAll(sep, '-') : `pid-${process.pid}`}.log`);
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

/**
 * `TRAINYARD_CPU_REPORT=<file>`: after each test file, a line with the CPU it used — its process's
 * and that of the children it reaped (servers, CLI runs) — to find where a loaded run's time goes.
 * Counters are read from /proc/self/stat (utime, stime, cutime, cstime; 100 ticks a second) before
 * and after, since a test process may run several files.
 */
const cpuReport = process.env.TRAINYARD_CPU_REPORT;
if (cpuReport) {
  const ticks = () => {
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
    const [utime = 0, stime = 0, cutime = 0, cstime = 0] = fields.slice(11, 15).map(Number);
    return { own: utime + stime, children: cutime + cstime, at: Date.now() };
  };
  const before = ticks();
  // Registered first, so it runs after every afterAll of the file itself (hooks run as a stack).
  afterAll(() => {
    const after = ticks();
    const line = { file: basename(file, '.log'), wall: (after.at - before.at) / 1000, own: (after.own - before.own) / 100, children: (after.children - before.children) / 100 };
    appendFileSync(cpuReport, `${JSON.stringify(line)}\n`);
  });
}
