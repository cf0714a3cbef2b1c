import type { DeployRequest } from '../types.js';

/**
 * What a long-running driver gets from its activity: cancellation, heartbeats, and the details of
 * the last heartbeat of a previous attempt, so a deploy resumed on another worker (after a crash)
 * watches the run it already started instead of starting another.
 */
export interface DeployContext {
  signal: AbortSignal;
  heartbeat: (details?: unknown) => void;
  /** Details of the previous attempt's last heartbeat; undefined on a first attempt. */
  resumeFrom?: unknown;
  /** Which attempt this is (1 = first). */
  attempt?: number;
  /** When the step's first attempt was scheduled (ms since the epoch): what it did started after this. */
  firstScheduledAt?: number;
}

/** Puts a tag into an environment; resolves when the deploy finished, throws TrainyardError otherwise. */
export interface Deployer {
  deploy(req: DeployRequest, ctx: DeployContext): Promise<{ summary: string; url?: string }>;
  /**
   * Before a later attempt reads the environment's version (activities/deploy/once.ts): waits until
   * what an earlier attempt left running can no longer change the environment (the command
   * deployer's orphaned program on this host). Absent: there is nothing the driver can wait for.
   */
  settle?(ctx: DeployContext): Promise<void>;
  /**
   * The driver finds and follows an earlier attempt's run itself (a pipeline: the run id in the
   * heartbeat, or the run looked up on the forge), so a later attempt does not read the version first.
   */
  readonly followsEarlierRuns?: boolean;
}
