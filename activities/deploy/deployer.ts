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
}

/** Puts a tag into an environment; resolves when the deploy finished, throws TrainyardError otherwise. */
export interface Deployer {
  deploy(req: DeployRequest, ctx: DeployContext): Promise<{ summary: string; url?: string }>;
}
