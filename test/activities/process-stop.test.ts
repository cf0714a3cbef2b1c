/**
 * Stopping a program never takes its process down. A worker is a Node process like the one these
 * scenarios run in: an abort or a timeout of a real command (one that exits on SIGTERM, one that
 * ignores it, one already gone, one whose leader left a child behind) must end with every command
 * stopped and the process still running. Before the fix, the SIGKILL follow-up 5 s after SIGTERM
 * threw `kill ESRCH` from a timer for a group already gone, and the process died.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../workers/bundle.js';
import { pollUntil } from '../helpers/poll.js';

const processModule = join(projectRoot(), 'dist', 'activities', 'process.js');
const dir = mkdtempSync(join(tmpdir(), 'process-stop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each command touches its ready file once it runs (its trap set). The script aborts them when
// the test writes a line to its stdin; the one that ignores SIGTERM is aborted last, so it ends
// (SIGKILL after the grace period) only after every other follow-up timer has fired.
const script = `
import { createInterface } from 'node:readline';
import { runCommand } from ${JSON.stringify(processModule)};
const ready = (name) => 'touch ' + ${JSON.stringify(dir)} + '/' + name + '; ';
const run = (argv, extra = {}) => {
  const ac = new AbortController();
  return { ac, result: runCommand(argv, { timeoutMs: 60_000, signal: ac.signal, ...extra }) };
};
const exitsOnTerm = run(['sh', '-c', ready('exits') + 'exec sleep 30']);
const timesOut = run(['sleep', '30'], { timeoutMs: 200 });
const alreadyGone = run(['true']);
const leftAChild = run(['sh', '-c', '(trap "" TERM; ' + ready('child') + 'exec sleep 30) & wait']);
const ignoresTerm = run(['sh', '-c', 'trap "" TERM; ' + ready('ignores') + 'sleep 30']);
const gone = await alreadyGone.result;
await new Promise((res) => createInterface({ input: process.stdin }).once('line', res));
alreadyGone.ac.abort();
exitsOnTerm.ac.abort();
leftAChild.ac.abort();
const t0 = Date.now();
ignoresTerm.ac.abort();
const results = {
  exitsOnTerm: await exitsOnTerm.result,
  timesOut: await timesOut.result,
  alreadyGone: gone,
  leftAChild: await leftAChild.result,
  ignoresTerm: await ignoresTerm.result,
};
const ignoredFor = Date.now() - t0;
await new Promise((res) => setImmediate(res));
console.log(JSON.stringify({ results, ignoredFor }));
process.exit(0);
`;

describe('stopping commands', () => {
  it('aborts and times out real commands, gone or stubborn, and the process stays up', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    await pollUntil('every command to run', () => ['exits', 'child', 'ignores'].every((f) => existsSync(join(dir, f))));
    child.stdin.write('go\n');
    const status = await exited;
    expect(stderr).not.toContain('ESRCH');
    expect(status, `the process died: ${stderr}`).toBe(0);
    const { results, ignoredFor } = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
    expect(results.exitsOnTerm.signal).toBe('SIGTERM');
    expect(results.timesOut).toMatchObject({ timedOut: true, signal: 'SIGTERM' });
    expect(results.alreadyGone).toMatchObject({ exitCode: 0, timedOut: false });
    // Ignoring SIGTERM buys the grace period, then SIGKILL stops the group.
    expect(results.ignoresTerm.signal).toBe('SIGKILL');
    expect(ignoredFor).toBeGreaterThanOrEqual(4_500);
    // The leader went on SIGTERM; the child it left (ignoring SIGTERM, holding the output) is killed with the group.
    expect(results.leftAChild.signal).toBe('SIGTERM');
  });
});
