import type { ChangeEntry } from '../../domain/changelog.js';
import type { CommitRelation } from '../../domain/production-order.js';

/** A release published on the forge for a tag: its title and Markdown notes. */
export interface ReleaseInput {
  tag: string;
  name: string;
  notes: string;
  prerelease: boolean;
  /**
   * Mark it as the repository's latest release (GitHub `make_latest`; GitLab orders by
   * `released_at`, which is set to now). Default: true for a release, false for a pre-release.
   */
  latest?: boolean;
}

export interface Release {
  tag: string;
  name: string;
  notes: string;
  prerelease: boolean;
  url: string;
}

/** CI state of a commit, folded over all its checks / statuses / pipelines. */
export type CommitState = 'success' | 'failure' | 'pending' | 'none';

/** A merged pull request (GitHub) or merge request (GitLab). */
export interface MergedChange {
  number: number;
  title: string;
  author: string;
  url: string;
  labels: string[];
  /** ISO 8601. */
  mergedAt: string;
  /** The commit that brought it into the target branch (merge or squash commit). */
  mergeCommit: string;
}

/** An open, merged or closed pull/merge request. */
export interface ChangeRequest {
  number: number;
  url: string;
  title: string;
  body: string;
  state: 'open' | 'merged' | 'closed';
  sourceBranch: string;
  targetBranch: string;
  /** Head commit of the source branch. */
  headSha: string;
  labels: string[];
  /** Set once merged. */
  mergeCommit?: string;
  /** ISO 8601. */
  createdAt: string;
}

export interface ChangeRequestInput {
  sourceBranch: string;
  targetBranch: string;
  title: string;
  body: string;
  labels?: string[];
}

export type PipelineStatus = 'pending' | 'running' | 'manual' | 'success' | 'failed' | 'canceled';

/** A GitLab pipeline or a GitHub Actions workflow run. */
export interface PipelineRun {
  /** Forge id as a string (GitHub run ids exceed 2^53 in theory; GitLab ids are numbers). */
  id: string;
  url: string;
  ref: string;
  sha: string;
  status: PipelineStatus;
  /** Jobs that failed, with links (for notifications). */
  failedJobs?: { name: string; url: string }[];
}

export interface PipelineTrigger {
  /** Branch or tag to run on. */
  ref: string;
  /** GitLab pipeline variables; GitHub `workflow_dispatch` inputs. */
  variables?: Record<string, string>;
  /** GitHub: the workflow file (e.g. `deploy.yml`); ignored by GitLab. */
  workflow?: string;
}

export const PIPELINE_DONE: readonly PipelineStatus[] = ['success', 'failed', 'canceled'];

/** A predicate: the same variable names with the same values (order does not matter). */
export function sameVariables(wanted: Record<string, string>): (actual: Record<string, string>) => boolean {
  const keys = Object.keys(wanted).sort();
  return (actual) => {
    const have = Object.keys(actual).sort();
    return have.length === keys.length && keys.every((k, i) => have[i] === k && actual[k] === wanted[k]);
  };
}

/**
 * The one interface every forge implements: local git (the embedded default), GitHub and GitLab.
 * Drivers translate their library's errors into `TrainyardError` codes (FORGE_AUTH, REF_NOT_FOUND,
 * FORGE_NOT_FOUND, FORGE_CONFLICT, FORGE_INVALID, FORGE_RATE_LIMITED with `retryAfterMs`,
 * FORGE_UNAVAILABLE); nothing forge-specific leaks out, and no token ever appears in a message.
 *
 * Every write is idempotent or reports a conflict, because an activity may run it twice (a worker
 * killed after the call and before its completion was recorded).
 */
export interface Forge {
  readonly kind: 'local-git' | 'github' | 'gitlab';
  readonly defaultBranch: string;

  // ── refs, commits, CI state ─────────────────────────────────────────────────────────────────
  /** Commit sha a branch, tag or sha points at; REF_NOT_FOUND when it does not exist. */
  resolveRef(ref: string): Promise<string>;
  /** CI state of one commit (GitHub: check runs and the combined status; GitLab: its latest pipeline). */
  commitState(sha: string): Promise<CommitState>;
  /**
   * The newest commit on `branch` whose CI state is success, looking at most `lookback` commits
   * back (first parent); undefined when none is.
   */
  latestGreenCommit(branch: string, lookback: number): Promise<string | undefined>;
  /**
   * Commits reachable from `to` but not from `from` (all of `to`'s history when `from` is undefined),
   * newest first, at most `limit`; truncated when there were more. Subjects are cut to
   * MAX_SUBJECT_LENGTH. INVALID_REF / REF_NOT_FOUND for a bad or unknown ref.
   */
  commitsBetween(from: string | undefined, to: string, limit: number): Promise<{ entries: ChangeEntry[]; truncated: boolean }>;
  /**
   * How `head` relates to `base`: `ahead` when base is an ancestor of head (head contains it),
   * `behind` when head is an ancestor of base, `identical`, or `diverged` (neither contains the
   * other, or no shared history). Local: `git merge-base --is-ancestor`; GitHub: the compare API's
   * `status`; GitLab: the merge-base API. REF_NOT_FOUND / INVALID_REF for an unknown or bad ref.
   */
  compareCommits(base: string, head: string): Promise<CommitRelation>;
  /** Pull/merge requests merged between two refs (their merge commits are in `from..to`), at most `limit`. */
  mergedChangesBetween(from: string | undefined, to: string, limit: number): Promise<{ changes: MergedChange[]; truncated: boolean }>;

  // ── tags and releases ───────────────────────────────────────────────────────────────────────
  /** Tags whose names start with `prefix`. */
  listTags(prefix: string): Promise<string[]>;
  /** Commit a tag points at, or undefined when there is no such tag. */
  tagCommit(tag: string): Promise<string | undefined>;
  /**
   * Creates an annotated tag. The same tag at the same commit is success (created: false); at
   * another commit it is TAG_CONFLICT, because tags are never moved.
   */
  createTag(tag: string, commit: string, message: string): Promise<{ created: boolean }>;
  /**
   * Creates the release of an existing tag, or replaces its name, notes and flags when it exists
   * (created: false), so publishing again is safe. REF_NOT_FOUND when the tag does not exist.
   */
  publishRelease(release: ReleaseInput): Promise<{ url: string; created: boolean }>;
  /** The release of a tag, or undefined when none was published. */
  getRelease(tag: string): Promise<Release | undefined>;
  /** The release marked latest (pre-releases never are), or undefined. */
  latestRelease(): Promise<Release | undefined>;

  // ── branches and files ──────────────────────────────────────────────────────────────────────
  /** Creates `branch` at `fromRef`; an existing branch is left as it is (created: false). */
  createBranch(branch: string, fromRef: string): Promise<{ sha: string; created: boolean }>;
  /**
   * Commits `content` as `path` on `branch` (which must exist). When the file already has that
   * content nothing is committed (changed: false) and the branch head is returned.
   */
  commitFile(req: { branch: string; path: string; content: string; message: string }): Promise<{ sha: string; changed: boolean }>;
  /** A file's content at a ref, or undefined when the file does not exist there. */
  readFile(path: string, ref: string): Promise<string | undefined>;
  /**
   * A hotfix branch: `branch` from `fromRef` with `picks` cherry-picked in order; returns its head.
   * Idempotent: an existing branch is returned as it is. A conflict is CHERRY_PICK_CONFLICT.
   */
  createHotfixBranch(branch: string, fromRef: string, picks: string[]): Promise<string>;

  // ── pull / merge requests ───────────────────────────────────────────────────────────────────
  /**
   * Opens a pull/merge request, or finds the open one from `sourceBranch` into `targetBranch` and
   * updates its title, body and labels (created: false): never two open ones for a branch.
   */
  openChangeRequest(input: ChangeRequestInput): Promise<{ change: ChangeRequest; created: boolean }>;
  /** The open request from `sourceBranch` (into `targetBranch` when given), or undefined. */
  findOpenChangeRequest(sourceBranch: string, targetBranch?: string): Promise<ChangeRequest | undefined>;
  getChangeRequest(number: number): Promise<ChangeRequest>;
  /** Adds labels (existing ones are kept). */
  addLabels(number: number, labels: string[]): Promise<void>;
  comment(number: number, body: string): Promise<void>;
  /** Closes without merging; closing a closed one is success. */
  closeChangeRequest(number: number): Promise<void>;
  /**
   * Merges once the head's checks are green: 'merged' (now or before), 'scheduled' (checks still
   * pending: GitLab's own auto-merge is set; GitHub's REST API has none, so the GitHub and local
   * forges merge when the request is next looked at with green checks), or 'blocked' (checks
   * failed). Callers keep calling until 'merged' or 'blocked': that is what makes it durable.
   * FORGE_CONFLICT when it cannot merge cleanly.
   */
  mergeWhenGreen(number: number): Promise<{ state: 'merged' | 'scheduled' | 'blocked'; mergeCommit?: string }>;
  /** Opens a request reverting a merged one (a new branch with the revert commit). Idempotent per number. */
  revertChangeRequest(number: number): Promise<ChangeRequest>;

  // ── pipelines / workflow runs ───────────────────────────────────────────────────────────────
  /**
   * Starts a pipeline (GitLab, with variables) or a `workflow_dispatch` run (GitHub, with inputs)
   * and returns the run it started (GitHub: found by ref, workflow and creation time).
   */
  triggerPipeline(trigger: PipelineTrigger): Promise<PipelineRun>;
  /**
   * The run an earlier, unanswered trigger may have started: the newest run created at or after
   * `since` (ms since the epoch) that matches the trigger. GitLab and local: pipelines started by a
   * trigger (not pushes) on `ref` with exactly these variables. GitHub: `workflow_dispatch` runs of
   * `workflow` on `ref` (GitHub does not show a run's inputs, so the time window is what tells two
   * dispatches of one workflow and ref apart). Undefined when there is none. A driver asks this
   * before triggering again, so an answer lost to a timeout or a dead worker starts no second run.
   */
  findTriggeredPipeline(trigger: PipelineTrigger, since: number): Promise<PipelineRun | undefined>;
  /**
   * The newest run for a ref (GitLab: the ref's latest pipeline, e.g. a tag's pipeline with its
   * manual `promote-production` job; GitHub: the newest workflow run on that branch or tag;
   * local: the newest local pipeline of the ref), or undefined when none ran.
   */
  latestPipeline(ref: string): Promise<PipelineRun | undefined>;
  /** Current state of a run. GitHub polls with ETags: an unchanged run costs no rate limit. */
  getPipeline(id: string): Promise<PipelineRun>;
  /** Re-runs the failed jobs of a finished run; returns the run to watch (same id or a new one). */
  retryPipeline(id: string): Promise<PipelineRun>;
  /** Plays a manual job (GitLab `when: manual`, e.g. `promote-production`); returns the run. */
  playJob(pipelineId: string, job: string): Promise<PipelineRun>;
  /** Cancels a run; cancelling a finished run is success. */
  cancelPipeline(id: string): Promise<void>;
}
