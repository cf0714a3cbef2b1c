/**
 * The forge side of daily pre-releases: which pull requests a pre-release holds, their labels now,
 * and publishing the release (as a pre-release, then as the latest release). Built from a forge per
 * service so tests inject the fake GitHub; errors cross the boundary through `translated`.
 */
import type { TrainyardConfig } from '../domain/config.js';
import { TrainyardError } from '../domain/errors.js';
import { stepPolicyOf } from '../domain/steps.js';
import { parsePreReleaseTag, preReleaseTagPrefix, type PreReleasePolicy, type PullRequestLabels, type PullRequestView } from '../domain/prerelease.js';
import { preReleaseConfigSchema, type PreReleaseConfig } from '../domain/prerelease-config.js';
import type { Forge } from './forge/forge.js';
import { operatorsIn, translated } from './index.js';

/** At most this many pull requests per pre-release: the list travels in workflow history. */
export const MAX_PRERELEASE_PRS = 200;

export interface PreReleaseActivities {
  preReleasePolicy(req: { service: string }): Promise<PreReleasePolicy>;
  /** Tags in the pre-release format (others, e.g. train tags, are left out). */
  listPreReleaseTags(req: { service: string }): Promise<string[]>;
  /** Pull requests merged after `fromTag` up to `to` (a commit), newest first. */
  mergedPullRequests(req: { service: string; fromTag?: string; to: string }): Promise<{ prs: PullRequestView[]; truncated: boolean }>;
  /** The pull requests' titles and labels as they are now. */
  readPullRequests(req: { service: string; numbers: number[] }): Promise<PullRequestLabels[]>;
  /** Creates or updates the release of an existing tag. */
  publishPreRelease(req: { service: string; tag: string; name: string; notes: string; prerelease: boolean; latest: boolean }): Promise<{ url: string }>;
  /** After a rollback: marks `tag`'s release latest again, when it has one. */
  restoreLatest(req: { service: string; tag: string }): Promise<{ restored: boolean }>;
}

export interface PreReleaseDeps {
  forge(service: string): Forge;
  policy(service: string): PreReleasePolicy;
}

/** The decision-relevant part of a service's `prerelease` config (mounted in domain/config.ts). */
export function preReleasePolicyOf(config: TrainyardConfig, service: string, configFile?: string): PreReleasePolicy {
  const s = config.services[service] as (TrainyardConfig['services'][string] & { prerelease?: PreReleaseConfig }) | undefined;
  if (!s) throw new TrainyardError('UNKNOWN_SERVICE', `service "${service}" is not in the config`, `Known services: ${Object.keys(config.services).join(', ')}`);
  if (!s.prerelease) {
    throw new TrainyardError('CONFIG_INVALID', `service "${service}" has no prerelease settings`, 'Add `prerelease: { schedule: { at: "HH:mm" } }` to the service in the config.');
  }
  const p = preReleaseConfigSchema.parse(s.prerelease);
  return {
    service,
    tagFormat: p.tagFormat,
    approvalLabel: p.approvalLabel,
    envVarLabel: p.envVarLabel,
    sres: p.sres,
    recheckMinutes: p.recheckMinutes,
    expireHours: p.expireHours,
    timeZone: s.release.timeZone,
    smoke: s.environments.production.smoke !== undefined,
    ...(s.operators ? { operators: s.operators, ...(configFile ? { operatorsIn: operatorsIn(service, configFile) } : {}) } : {}),
    ...stepPolicyOf(s),
  };
}

export function createPreReleaseActivities(deps: PreReleaseDeps): PreReleaseActivities {
  return translated<PreReleaseActivities>({
    async preReleasePolicy({ service }) {
      return deps.policy(service);
    },
    async listPreReleaseTags({ service }) {
      const { tagFormat } = deps.policy(service);
      const tags = await deps.forge(service).listTags(preReleaseTagPrefix(tagFormat, service));
      return tags.filter((t) => parsePreReleaseTag(tagFormat, service, t) !== undefined);
    },
    async mergedPullRequests({ service, fromTag, to }) {
      const { changes, truncated } = await deps.forge(service).mergedChangesBetween(fromTag, to, MAX_PRERELEASE_PRS);
      const prs = changes.map(({ number, title, url, author, labels }) => ({ number, title, url, author, labels }));
      return { prs, truncated };
    },
    async readPullRequests({ service, numbers }) {
      const forge = deps.forge(service);
      const out: PullRequestLabels[] = [];
      // One at a time: a pre-release holds a day's merges, and parallel reads invite secondary rate limits.
      for (const n of numbers) {
        const { number, title, url, labels } = await forge.getChangeRequest(n);
        out.push({ number, title, url, labels });
      }
      return out;
    },
    async publishPreRelease({ service, tag, name, notes, prerelease, latest }) {
      const { url } = await deps.forge(service).publishRelease({ tag, name, notes, prerelease, latest });
      return { url };
    },
    async restoreLatest({ service, tag }) {
      const forge = deps.forge(service);
      const release = await forge.getRelease(tag);
      if (!release) return { restored: false };
      await forge.publishRelease({ tag, name: release.name, notes: release.notes, prerelease: false, latest: true });
      return { restored: true };
    },
  });
}
