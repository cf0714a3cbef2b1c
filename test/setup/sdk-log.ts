/**
 * The suite prints its test lines and figure lines, not the Temporal SDK's log: what the SDK logs
 * in a test file (workers' warnings, the expected failed attempts of fault tests) goes to
 * .trainyard/test-logs/<test file>.log (workers/worker.ts `installQuietRuntime` reads
 * TRAINYARD_SDK_LOG; worker processes a test starts inherit it), and its new lines are printed
 * when a test fails.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * `TRAINYARD_CPU_REPORT=<file>`: each test file's process appends, as it exits, the CPU it and the
 * children it reaped (servers, CLI runs) used — to find where a loaded run's time goes.
 */
const cpuReport = process.env.TRAINYARD_CPU_REPORT;
if (cpuReport) {
  const started = Date.now();
  process.on('exit', () => {
    // /proc/self/stat fields 14–17: utime, stime, cutime, cstime in clock ticks (100 per second).
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
    const [utime = 0, stime = 0, cutime = 0, cstime = 0] = fields.slice(11, 15).map((n) => Number(n) / 100);
    appendFileSync(cpuReport, `${JSON.stringify({ file: basename(file, '.log'), wall: (Date.now() - started) / 1000, own: +(utime + stime).toFixed(2), children: +(cutime + cstime).toFixed(2) })}\n`);
  });
}
