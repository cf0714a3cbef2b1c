/** A GitHubForge over a fake GitHub, with short waits, for the GitHub forge's tests. */
import { GitHubForge, type GitHubTuning } from '../../activities/forge/github.js';
import type { FakeGitHub } from '../fakes/github.js';
import type { ForgeFixture } from './contract.js';

/** Retries in milliseconds, rate-limit waits up to 2 s inline, no spacing between writes. */
export const FAST: GitHubTuning = {
  retries: 2,
  retryBaseDelayMs: 20,
  maxRateLimitWaitMs: 2_000,
  rateLimitRetries: 2,
  writeSpacingMs: 0,
  runLookup: { attempts: 5, intervalMs: 100, clockSkewMs: 5_000 },
};

export interface ForgeOverrides {
  token?: string;
  repository?: string;
  requestTimeoutMs?: number;
  tuning?: Partial<GitHubTuning>;
}

export function forgeFor(fake: FakeGitHub, overrides: ForgeOverrides = {}): GitHubForge {
  return new GitHubForge({
    repository: overrides.repository ?? fake.repository,
    apiUrl: fake.url,
    token: overrides.token ?? fake.token,
    defaultBranch: fake.defaultBranch,
    requestTimeoutMs: overrides.requestTimeoutMs ?? 5_000,
    tuning: { ...FAST, ...overrides.tuning },
  });
}

export function fixtureFor(fake: FakeGitHub, forge = forgeFor(fake)): ForgeFixture {
  return {
    forge,
    commit: async (branch, message, files) => fake.commit(branch, message, files),
    // A check run and a commit status, as a repository with both GitHub Actions and an external CI has.
    setCommitState: async (sha, state) => fake.setCommitState(sha, state, 'both'),
    mergedChange: async (title, opts) => fake.mergedChange(title, opts),
    finishPipeline: async (id, status) => fake.finishRun(id, status),
    pipelineVariables: async (id) => fake.runInputs(id),
    comments: async (number) => fake.comments(number),
    close: () => fake.close(),
  };
}
