/**
 * Runs a program with an argument list (never through a shell), with a timeout, cancellation and a
 * bounded tail of its output for error messages.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TrainyardError } from '../domain/errors.js';

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs: number;
  /** Aborting kills the program's whole process group. */
  signal?: AbortSignal;
  /** Called every `heartbeatMs` while the program runs. */
  onTick?: () => void;
  heartbeatMs?: number;
  /** Called once the program runs, with its process id (= its process group id). */
  onStart?: (pid: number) => void;
  /** After SIGTERM, how long the group has before SIGKILL (default 5 s). */
  killGraceMs?: number;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Last lines of stdout and stderr, interleaved, at most TAIL_BYTES. */
  tail: string;
  durationMs: number;
}

const TAIL_BYTES = 4_000;

export function describeExit(argv: readonly string[], result: RunResult): string {
  const how = result.timedOut ? 'timed out' : result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
  const tail = result.tail.trim() ? `; last output:\n${result.tail.trim()}` : '';
  return `${argv[0]} ${how} after ${Math.round(result.durationMs / 100) / 10}s${tail}`;
}

/** Sends `signal` to process group `pid`; a group already gone (ESRCH) or not ours (EPERM) is no error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * Runs a callback from a timer or an event (heartbeats, progress): an error there is not the
 * program's and must not become an uncaught exception in the worker. A failed heartbeat shows up as
 * the activity's heartbeat timeout instead.
 */
function guarded(callback: (() => void) | undefined): void {
  try {
    callback?.();
  } catch {
    /* see above */
  }
}

export async function runCommand(argv: readonly string[], options: RunOptions): Promise<RunResult> {
  const [program, ...args] = argv;
  if (!program) throw new TrainyardError('CHECK_MISCONFIGURED', 'empty command', 'Give the program and its arguments as a list.');
  const started = Date.now();
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a timeout or cancellation also stops what the program started.
    detached: true,
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let timedOut = false;
  let stopping = false;
  let followUp: NodeJS.Timeout | undefined;
  const graceMs = options.killGraceMs ?? 5_000;
  // SIGTERM to the group, SIGKILL to what is left after the grace period. Every signal goes through
  // signalGroup, which never throws: the group may be gone by then (it exited on SIGTERM, or it had
  // ended before the abort), and a throw from a timer callback would take the whole worker down.
  const killGroup = () => {
    if (child.pid === undefined || stopping || child.exitCode !== null || child.signalCode !== null) return;
    stopping = true;
    const pid = child.pid;
    signalGroup(pid, 'SIGTERM');
    followUp = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    followUp.unref();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, options.timeoutMs);
  const ticker = options.onTick ? setInterval(() => guarded(options.onTick), options.heartbeatMs ?? 5_000) : undefined;
  if (child.pid !== undefined) guarded(() => options.onStart?.(child.pid as number));
  options.signal?.addEventListener('abort', killGroup, { once: true });

  try {
    return await new Promise<RunResult>((resolve, reject) => {
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') {
          reject(new TrainyardError('COMMAND_NOT_FOUND', `program "${program}" was not found`, 'Install it or fix the command in the config (it is run without a shell, from PATH or a path).'));
        } else reject(err);
      });
      child.on('close', (exitCode, signal) => resolve({ exitCode, signal, timedOut, tail, durationMs: Date.now() - started }));
    });
  } finally {
    clearTimeout(timer);
    if (followUp && child.pid !== undefined) {
      // Stopped and its output closed: what is left of the group (a child that ignored SIGTERM and
      // closed its output) is killed now, and no timer outlives the call.
      clearTimeout(followUp);
      signalGroup(child.pid, 'SIGKILL');
    }
    if (ticker) clearInterval(ticker);
    options.signal?.removeEventListener('abort', killGroup);
  }
}

/**
 * When a process started, in clock ticks since boot (Linux `/proc/<pid>/stat`, field 22): with the
 * pid it names one process, not a later one that reused the pid. Undefined when it has ended (a
 * zombie included) or where there is no /proc.
 */
export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie (Z) or dead (X) process has ended; only its parent has not collected it yet.
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether the process `pid` that started at `startTicks` still runs. */
export function stillRunning(pid: number, startTicks: string): boolean {
  return processStartTicks(pid) === startTicks;
}

/** Stops a process group: SIGTERM, then SIGKILL after `graceMs` if it is still there. */
export async function stopGroup(pid: number, graceMs = 5_000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (Date.now() < until && processStartTicks(pid) !== undefined) await new Promise((r) => setTimeout(r, 100));
  signalGroup(pid, 'SIGKILL');
}
