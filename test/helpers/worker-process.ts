/**
 * A real Trainyard worker as its own process (`trainyard worker --config <file>`), so a test can kill
 * it with SIGKILL exactly as a crashed machine would: no shutdown, no goodbye to the server. It runs
 * the built CLI (bin/trainyard.js → dist/), which `npm test` builds before the tests run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollUntil } from './poll.js';
import { prebuiltBundlePath, projectRoot } from '../../workers/bundle.js';

export interface WorkerProcess {
  pid: number;
  /** Everything the worker printed (its log notifier writes there too). */
  output(): string;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Whether the process is still running. */
  alive(): boolean;
}

export interface WorkerProcessOptions {
  configFile: string;
  /** host:port of the Temporal frontend. */
  address: string;
  /** Where the worker's stdout and stderr go (a file, so a killed worker leaves no broken pipe behind). */
  logFile: string;
  readyTimeoutMs?: number;
}

/** The built CLI and workflow bundle the child process runs; says how to get them when missing. */
export function assertBuilt(): void {
  const missing = [join(projectRoot(), 'dist', 'client', 'main.js'), prebuiltBundlePath()].filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`${missing.join(' and ')} missing: run \`npm run -s build\` first (npm test does)`);
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Starts `trainyard worker` and resolves once it polls its task queue. */
class WorkerExited extends Error {}

export async function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  assertBuilt();
  const out = openSync(options.logFile, 'a');
  // Only the connection settings we mean: nothing from the developer's shell (a TEMPORAL_PROFILE).
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: options.address, TEMPORAL_NAMESPACE: 'default' };
  const child = spawn(process.execPath, [join(projectRoot(), 'bin', 'trainyard.js'), '--config', options.configFile, 'worker'], { stdio: ['ignore', out, out], env });
  closeSync(out);
  const exited = exitOf(child);
  const output = () => (existsSync(options.logFile) ? readFileSync(options.logFile, 'utf8') : '');
  const worker: WorkerProcess = {
    pid: child.pid ?? -1,
    output,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill() {
      if (worker.alive()) child.kill('SIGKILL');
      await exited;
    },
  };
  const readyMs = options.readyTimeoutMs ?? 30_000;
  try {
    await pollUntil('the worker to start polling', () => {
      if (!worker.alive()) throw new WorkerExited(`the worker exited at start:\n${output().slice(-2000)}`);
      return output().includes('worker polling');
    }, { timeoutMs: readyMs, intervalMs: 100, stopOn: (err) => err instanceof WorkerExited });
  } catch (err) {
    await worker.kill();
    if (err instanceof WorkerExited) throw err;
    throw new Error(`the worker did not start within ${readyMs} ms:\n${output().slice(-2000)}`);
  }
  return worker;
}
