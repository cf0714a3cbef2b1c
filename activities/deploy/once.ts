/**
 * A deploy is done once where the environment can tell what runs there. A later attempt of a deploy
 * (its predecessor's worker died, or it failed after the deploy may have taken effect) first lets
 * the driver wait out what the earlier attempt left running (`Deployer.settle`: the command
 * deployer's orphaned program on this host), then reads the environment's `versionUrl`; when the tag
 * already runs there, the deploy is recorded as done and the driver is not run again. Otherwise (no
 * version URL, another version, no answer) the driver runs as it always did.
 */
import { TrainyardError } from '../../domain/errors.js';
import { deployDecision, followsEarlierAttempt, type DeployAttempt } from '../../domain/steps.js';
import { displayUrl } from '../signing.js';
import type { DeployOutcome, DeployRequest } from '../types.js';
import type { DeployContext, Deployer } from './deployer.js';

export interface OnceOptions {
  /** The environment's version URL (may hold credentials: only its `displayUrl` is ever shown). */
  versionUrl?: string;
  /** The version the environment reports at `url`; null when it does not say. */
  readVersion: (url: string) => Promise<string | null>;
  /** Runs the driver (with what the activity adds: callbacks). */
  run: () => Promise<DeployOutcome>;
  /** Where the decision of a later attempt is written (the activity's log). */
  log?: (line: string) => void;
}

export async function deployOnce(deployer: Deployer, req: DeployRequest, ctx: DeployContext, options: OnceOptions): Promise<DeployOutcome> {
  const attempt: DeployAttempt = { tag: req.tag, environment: req.environment, attempt: ctx.attempt ?? 1, resumed: ctx.resumeFrom !== undefined };
  if (!followsEarlierAttempt(attempt) || deployer.followsEarlierRuns) return options.run();
  // What the earlier attempt left running must be over before its effect is read (or repeated).
  await deployer.settle?.(ctx);
  if (ctx.signal.aborted) throw new TrainyardError('DEPLOY_FAILED', `deploy of ${req.tag} to ${req.environment} was cancelled`, 'The train was aborted or cancelled.');
  const { versionUrl } = options;
  const reading = versionUrl ? { url: displayUrl(versionUrl), version: await options.readVersion(versionUrl) } : undefined;
  const decision = deployDecision(attempt, reading);
  if (decision.kind === 'run') {
    options.log?.(`[trainyard] deploy of ${req.tag} to ${req.environment} runs again (${decision.why})`);
    return options.run();
  }
  options.log?.(`[trainyard] ${decision.summary}`);
  return { summary: decision.summary, alreadyRunning: true };
}
