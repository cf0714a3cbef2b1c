/**
 * GitLab's answers (Gitbeaker's schema types) as the forge's plain types. Pure functions: no I/O.
 */
import type { CommitSchema, ExpandedMergeRequestSchema, MergeRequestSchema, PipelineSchema, ReleaseSchema } from '@gitbeaker/rest';
import { clipText, MAX_AUTHOR_LENGTH, MAX_SUBJECT_LENGTH, prNumberOf, type ChangeEntry } from '../../domain/changelog.js';
import type { ChangeRequest, CommitState, MergedChange, PipelineRun, PipelineStatus, Release } from './forge.js';

/**
 * GitLab has no pre-release flag (`upcoming_release` only means a future `released_at`). A pre-release
 * is stored as this marker on the first line of the description (an HTML comment: invisible on the
 * release page) plus a visible " (pre-release)" suffix on the name; both are removed when read back.
 * Only the marker decides: a name that merely ends in the suffix is not a pre-release.
 */
export const PRERELEASE_MARKER = '<!-- trainyard:pre-release -->';
export const PRERELEASE_SUFFIX = ' (pre-release)';

export function releaseFields(name: string, notes: string, prerelease: boolean): { name: string; description: string } {
  return prerelease ? { name: `${name}${PRERELEASE_SUFFIX}`, description: `${PRERELEASE_MARKER}\n${notes}` } : { name, description: notes };
}

export function isPrerelease(release: Pick<ReleaseSchema, 'description'>): boolean {
  return (release.description ?? '').startsWith(PRERELEASE_MARKER);
}

export function toRelease(release: ReleaseSchema, fallbackUrl: string): Release {
  const prerelease = isPrerelease(release);
  let name = release.name ?? release.tag_name;
  let notes = release.description ?? '';
  if (prerelease) {
    notes = notes.slice(PRERELEASE_MARKER.length).replace(/^\r?\n/, '');
    if (name.endsWith(PRERELEASE_SUFFIX)) name = name.slice(0, -PRERELEASE_SUFFIX.length);
  }
  const url = (release._links as { self?: string } | undefined)?.self ?? fallbackUrl;
  return { tag: release.tag_name, name, notes, prerelease, url };
}

/** A merge commit's body names its merge request: "See merge request group/project!42". */
function mergeRequestNumberOf(title: string, message: string | undefined): number | undefined {
  const fromTitle = prNumberOf(title);
  if (fromTitle !== undefined) return fromTitle;
  const line = (message ?? '').split('\n').find((l) => l.startsWith('See merge request '));
  return line === undefined ? undefined : prNumberOf(line.trim());
}

/** Compare answers omit nothing we need, but Gitbeaker types their commits without `message`. */
export type ListedCommit = Pick<CommitSchema, 'id' | 'title' | 'author_name' | 'created_at'> & { message?: string; authored_date?: string; committed_date?: string };

export function toChangeEntry(commit: ListedCommit): ChangeEntry {
  const title = commit.title ?? (commit.message ?? '').split('\n')[0] ?? '';
  const entry: ChangeEntry = {
    sha: commit.id,
    subject: clipText(title, MAX_SUBJECT_LENGTH),
    author: clipText(commit.author_name ?? '', MAX_AUTHOR_LENGTH),
    date: commit.authored_date ?? commit.created_at,
  };
  const pr = mergeRequestNumberOf(title, commit.message);
  return pr === undefined ? entry : { ...entry, pr };
}

/** The commit that brought a merge request in: merge commit, squash commit, or (fast-forward) its head. */
export function mergeCommitOf(mr: Pick<MergeRequestSchema, 'state' | 'merge_commit_sha' | 'squash_commit_sha' | 'sha'>): string | undefined {
  if (mr.state !== 'merged') return undefined;
  return mr.merge_commit_sha ?? mr.squash_commit_sha ?? mr.sha;
}

function labelsOf(mr: Pick<MergeRequestSchema, 'labels'>): string[] {
  return (mr.labels as (string | { name: string })[]).map((l) => (typeof l === 'string' ? l : l.name));
}

export function toChangeRequest(mr: MergeRequestSchema | ExpandedMergeRequestSchema): ChangeRequest {
  // "locked" is GitLab's state while a merge is under way: still open to us.
  const state = mr.state === 'merged' ? 'merged' : mr.state === 'closed' ? 'closed' : 'open';
  const change: ChangeRequest = {
    number: mr.iid,
    url: mr.web_url,
    title: mr.title,
    body: mr.description ?? '',
    state,
    sourceBranch: mr.source_branch,
    targetBranch: mr.target_branch,
    headSha: mr.sha,
    labels: labelsOf(mr),
    createdAt: mr.created_at,
  };
  const mergeCommit = mergeCommitOf(mr);
  return mergeCommit ? { ...change, mergeCommit } : change;
}

export function toMergedChange(mr: MergeRequestSchema, mergeCommit: string): MergedChange {
  return {
    number: mr.iid,
    title: mr.title,
    author: mr.author?.username ?? '',
    url: mr.web_url,
    labels: labelsOf(mr),
    mergedAt: mr.merged_at ?? mr.updated_at,
    mergeCommit,
  };
}

/** GitLab pipeline statuses folded into the forge's: skipped counts as canceled (nothing ran to success). */
export function pipelineStatus(status: string): PipelineStatus {
  switch (status) {
    case 'success':
      return 'success';
    case 'failed':
      return 'failed';
    case 'canceled':
    case 'canceling':
    case 'skipped':
      return 'canceled';
    case 'running':
      return 'running';
    case 'manual':
      return 'manual';
    default:
      // created, waiting_for_resource, preparing, pending, scheduled
      return 'pending';
  }
}

/** A commit's CI state from its latest pipeline: a pipeline waiting on a manual job is not a verdict yet. */
export function commitStateOf(pipeline: Pick<PipelineSchema, 'status'> | null | undefined): CommitState {
  if (!pipeline) return 'none';
  const status = pipelineStatus(pipeline.status);
  if (status === 'success') return 'success';
  if (status === 'failed' || status === 'canceled') return 'failure';
  return 'pending';
}

export function toPipelineRun(pipeline: PipelineSchema, failedJobs?: { name: string; url: string }[]): PipelineRun {
  const run: PipelineRun = { id: String(pipeline.id), url: pipeline.web_url, ref: pipeline.ref, sha: pipeline.sha, status: pipelineStatus(pipeline.status) };
  return failedJobs ? { ...run, failedJobs } : run;
}
