import type { DeployRequest } from '../types.js';

export interface DeployContext {
  signal: AbortSignal;
  heartbeat: () => void;
}

/** Puts a tag into an environment; resolves when the deploy finished, throws TrainyardError otherwise. */
export interface Deployer {
  deploy(req: DeployRequest, ctx: DeployContext): Promise<{ summary: string }>;
}
