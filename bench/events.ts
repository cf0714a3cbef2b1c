/**
 * What the bench's worker process tells the bench (over Node IPC). Activities stamp `at` with
 * Date.now() the moment they start: the bench and its worker share one machine clock.
 */
export type BenchEvent =
  /** A train's deploy activity started (first attempt only is used for reaction times). */
  | { kind: 'deploy'; id: string; environment: string; tag: string; at: number }
  /** A train's notification (`released`, `rolled-back`, …): how the bench sees trains end. */
  | { kind: 'notify'; id: string; event: string; at: number }
  /** A baseline workflow's target activity started. */
  | { kind: 'target'; id: string; at: number }
  /**
   * An intermediate activity started, which splits a reaction in two: `request` (a train asks
   * production's ledger for its lock; id: the train) and `schedule` (a ledger looks up the cut
   * schedule after a freeze change; id: the ledger).
   */
  | { kind: 'step'; step: 'request' | 'schedule'; id: string; at: number };

export type WorkerMessage =
  | { kind: 'ready'; maxCachedWorkflows: number }
  | { kind: 'status'; cachedWorkflows: number }
  | { kind: 'event'; event: BenchEvent };

export type Emit = (event: BenchEvent) => void;

/** The key a waiter looks for: one per kind, workflow, and environment or notification. */
export function eventKey(event: BenchEvent): string {
  switch (event.kind) {
    case 'deploy':
      return `deploy:${event.environment}:${event.id}`;
    case 'notify':
      return `notify:${event.event}:${event.id}`;
    case 'target':
      return `target:${event.id}`;
    case 'step':
      return `${event.step}:${event.id}`;
  }
}

export const TRAIN_QUEUE = 'bench-trainyard';
export const BASELINE_QUEUE = 'bench-baseline';
