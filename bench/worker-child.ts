/**
 * The bench's side of its worker process: starts it, collects its events, reads its memory from
 * /proc (the worker's own RSS, not the bench's) and its workflow task counts from its metrics.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../client/dev-server.js';
import { eventKey, type BenchEvent, type WorkerMessage } from './events.js';

/** Events by key (the first occurrence, but the latest of a step), and waiters for keys not seen yet. */
export class EventHub {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, ((at: number) => void)[]>();

  record(event: BenchEvent): void {
    const key = eventKey(event);
    if (this.seen.has(key) && event.kind !== 'step') return;
    this.seen.set(key, event.at);
    for (const resolve of this.waiters.get(key) ?? []) resolve(event.at);
    this.waiters.delete(key);
  }

  at(key: string): number | undefined {
    return this.seen.get(key);
  }

  /** When the event happened; rejects after `timeoutMs` naming what it waited for. */
  wait(key: string, timeoutMs = 60_000): Promise<number> {
    const at = this.seen.get(key);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${key} within ${timeoutMs} ms`)), timeoutMs);
      const list = this.waiters.get(key) ?? [];
      list.push((t) => {
        clearTimeout(timer);
        resolve(t);
      });
      this.waiters.set(key, list);
    });
  }
}

export interface Memory {
  rssMiB: number;
  /** The process's peak RSS so far (VmHWM). */
  peakMiB: number;
}

export class WorkerChild {
  readonly hub = new EventHub();
  maxCachedWorkflows = 0;
  cachedWorkflows = 0;
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly metricsPort: number,
  ) {}

  static async start(address: string, baselineBundle: string, timeoutMs = 120_000): Promise<WorkerChild> {
    const metricsPort = await freePort();
    const child = fork(join(import.meta.dirname, 'worker-process.js'), [], {
      env: { ...process.env, BENCH_ADDRESS: address, BENCH_BASELINE_BUNDLE: baselineBundle, BENCH_METRICS_PORT: String(metricsPort) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const worker = new WorkerChild(child, metricsPort);
    const keep = (chunk: Buffer) => (worker.output = (worker.output + chunk.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bench worker was not ready within ${timeoutMs} ms:\n${worker.output}`)), timeoutMs);
      child.once('exit', (code) => reject(new Error(`the bench worker exited with ${code} at start:\n${worker.output}`)));
      child.on('message', (m: WorkerMessage) => {
        if (m.kind === 'event') worker.hub.record(m.event);
        else if (m.kind === 'status') worker.cachedWorkflows = m.cachedWorkflows;
        else if (m.kind === 'ready') {
          worker.maxCachedWorkflows = m.maxCachedWorkflows;
          clearTimeout(timer);
          resolve();
        }
      });
    });
    return worker;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  memory(): Memory {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  }

  /** Workflow tasks the worker has executed, per task queue, from its Prometheus metrics. */
  async workflowTasks(): Promise<Record<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
    const counts: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const m = /^temporal_workflow_task_execution_latency\w*_count\{([^}]*)\}\s+(\S+)/.exec(line);
      if (!m) continue;
      const queue = /task_queue="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? '?';
      counts[queue] = (counts[queue] ?? 0) + Number(m[2]);
    }
    return counts;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ kind: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
