/**
 * The stage follower's side effects: its settings from the worker's config (so a config change
 * takes effect at the next look, and removing `stageOnMerge` ends the follower) and a look at the
 * followed branch through the service's forge. Deploys and checks are the train's own activities.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { TrainyardConfig } from '../domain/config.js';
import { ledgerId } from '../domain/ids.js';
import { stepPolicyOf } from '../domain/steps.js';
import { ledgerQuery } from '../workflows/ledger-messages.js';
import type { BranchLook, StagePolicy } from '../domain/stage.js';
import { stageOnMergeSchema } from '../domain/stage-config.js';
import type { Forge } from './forge/forge.js';
import { operatorsIn, translated } from './index.js';

export interface StageActivities {
  /** Null when the service is gone from the config or no longer follows a branch. */
  stagePolicy(req: { service: string }): Promise<StagePolicy | null>;
  lookAtBranch(req: { service: string; branch: string; requireGreen: boolean; lookback: number }): Promise<BranchLook>;
  /** The newest deployment the staging ledger recorded (any train's or the follower's), or null. */
  latestStagingDeployment(req: { service: string }): Promise<{ commit: string; outcome: string; at: number } | null>;
}

export function stagePolicyOf(config: TrainyardConfig, service: string, defaultBranch: () => string, configFile?: string): StagePolicy | null {
  const s = config.services[service];
  const raw = (s as { stageOnMerge?: unknown } | undefined)?.stageOnMerge;
  if (!s || raw === undefined) return null;
  const follow = stageOnMergeSchema.parse(raw);
  return {
    service,
    branch: follow.branch ?? defaultBranch(),
    requireGreen: follow.requireGreen,
    lookback: follow.lookback,
    quietSeconds: follow.quietSeconds,
    pollMinutes: follow.pollMinutes,
    pendingPollSeconds: follow.pendingPollSeconds,
    smoke: s.environments.staging.smoke !== undefined,
    ...(s.operators ? { operators: s.operators, ...(configFile ? { operatorsIn: operatorsIn(service, configFile) } : {}) } : {}),
    ...stepPolicyOf(s),
  };
}

export function createStageActivities(deps: { config: TrainyardConfig; forge: (service: string) => Forge; client: Client; configFile?: string }): StageActivities {
  return translated<StageActivities>({
    async stagePolicy({ service }) {
      return stagePolicyOf(deps.config, service, () => deps.forge(service).defaultBranch, deps.configFile);
    },
    async lookAtBranch({ service, branch, requireGreen, lookback }) {
      const forge = deps.forge(service);
      const head = await forge.resolveRef(branch);
      const headState = await forge.commitState(head);
      const candidate = requireGreen ? (headState === 'success' ? head : await forge.latestGreenCommit(branch, lookback)) : head;
      return { head, headState, ...(candidate ? { candidate } : {}) };
    },
    async latestStagingDeployment({ service }) {
      try {
        const ledger = await deps.client.workflow.getHandle(ledgerId(service, 'staging')).query(ledgerQuery);
        const newest = ledger.deployments.at(-1);
        return newest ? { commit: newest.commit, outcome: newest.outcome, at: newest.at } : null;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return null;
        throw err;
      }
    },
  });
}
