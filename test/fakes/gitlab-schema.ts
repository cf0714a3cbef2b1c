/**
 * The fake GitLab's answers, typed with Gitbeaker's schema types (`@gitbeaker/core`), so TypeScript
 * checks that every field GitLab documents is there with the right type.
 */
import type {
  BranchSchema,
  CommitSchema,
  ExpandedCommitSchema,
  ExpandedMergeRequestSchema,
  ExpandedPipelineSchema,
  ExpandedUserSchema,
  JobSchema,
  MergeRequestNoteSchema,
  MergeRequestSchemaWithBasicLabels,
  PipelineSchema,
  ReleaseSchema,
  RepositoryFileExpandedSchema,
  TagSchema,
} from '@gitbeaker/core';
import type { FakeCommit, FakeTag } from './gitlab-repo.js';
import { titleOf } from './gitlab-repo.js';

export interface Site {
  /** Host root, e.g. http://127.0.0.1:1234 */
  root: string;
  projectPath: string;
  projectId: number;
}

export type FakeUser = ExpandedMergeRequestSchema['author'];

export function user(site: Site, username: string): FakeUser {
  const id = [...username].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 100_000, 7);
  return { id, name: username, username, state: 'active', avatar_url: `${site.root}/uploads/${username}.png`, web_url: `${site.root}/${username}` };
}

const web = (site: Site, path: string) => `${site.root}/${site.projectPath}/-/${path}`;

export function commitSchema(site: Site, c: FakeCommit): CommitSchema {
  return {
    id: c.sha,
    short_id: c.sha.slice(0, 8),
    title: titleOf(c.message),
    message: c.message,
    author_name: c.authorName,
    author_email: c.authorEmail,
    authored_date: c.date,
    committer_name: c.authorName,
    committer_email: c.authorEmail,
    committed_date: c.date,
    created_at: c.date,
    parent_ids: c.parents,
    web_url: web(site, `commit/${c.sha}`),
  };
}

export function expandedCommitSchema(site: Site, c: FakeCommit, lastPipeline: PipelineSchema | undefined): ExpandedCommitSchema {
  const last = lastPipeline ? { id: lastPipeline.id, ref: lastPipeline.ref, sha: lastPipeline.sha, status: lastPipeline.status } : (null as unknown as ExpandedCommitSchema['last_pipeline']);
  return { ...commitSchema(site, c), last_pipeline: last, stats: { additions: 0, deletions: 0, total: 0 }, status: lastPipeline?.status ?? (null as unknown as string) };
}

export function tagSchema(site: Site, tag: FakeTag, commit: FakeCommit, release: ReleaseSchema | undefined): TagSchema {
  return {
    name: tag.name,
    message: tag.message,
    target: createHashLike(tag.name),
    commit: commitSchema(site, commit),
    release: (release ? { tag_name: release.tag_name, description: release.description } : null) as TagSchema['release'],
    protected: false,
    created_at: tag.createdAt,
  };
}

/** An annotated tag's object id: stable and distinct from the commit's. */
function createHashLike(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 131 + c.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, '0').repeat(5);
}

export function branchSchema(site: Site, name: string, commit: FakeCommit, isDefault: boolean): BranchSchema {
  const { web_url: _w, created_at: _c, ...rest } = commitSchema(site, commit);
  return { name, merged: false, protected: isDefault, default: isDefault, developers_can_push: false, developers_can_merge: false, can_push: true, web_url: web(site, `tree/${encodeURIComponent(name)}`), commit: rest };
}

export function fileSchema(path: string, content: string, ref: string, commit: FakeCommit, lastCommit: string): RepositoryFileExpandedSchema {
  const bytes = Buffer.from(content, 'utf8');
  return {
    file_name: path.split('/').pop() ?? path,
    file_path: path,
    size: bytes.length,
    encoding: 'base64',
    content: bytes.toString('base64'),
    content_sha256: '',
    ref,
    blob_id: createHashLike(content),
    commit_id: commit.sha,
    last_commit_id: lastCommit,
  };
}

export interface FakeRelease {
  tag: string;
  name: string;
  description: string;
  releasedAt: string;
  createdAt: string;
}

export function releaseSchema(site: Site, r: FakeRelease, commit: FakeCommit, now: string): ReleaseSchema {
  const self = web(site, `releases/${encodeURIComponent(r.tag)}`);
  return {
    name: r.name,
    tag_name: r.tag,
    description: r.description,
    created_at: r.createdAt,
    released_at: r.releasedAt,
    upcoming_release: r.releasedAt > now,
    author: user(site, 'trainyard-bot'),
    commit: commitSchema(site, commit),
    milestones: null,
    commit_path: `/${site.projectPath}/-/commit/${commit.sha}`,
    tag_path: `/${site.projectPath}/-/tags/${encodeURIComponent(r.tag)}`,
    assets: { count: 0, sources: [], links: [], evidence_file_path: '' },
    evidences: [],
    _links: {
      closed_issues_url: '',
      closed_merge_requests_url: '',
      edit_url: `${self}/edit`,
      merged_merge_requests_url: '',
      opened_issues_url: '',
      opened_merge_requests_url: '',
      self,
    },
  };
}

export interface FakePipeline {
  id: number;
  iid: number;
  sha: string;
  ref: string;
  status: string;
  source: string;
  variables: { key: string; value: string }[];
  createdAt: string;
  updatedAt: string;
}

export function pipelineSchema(site: Site, p: FakePipeline): PipelineSchema {
  return { id: p.id, iid: p.iid, project_id: site.projectId, sha: p.sha, ref: p.ref, status: p.status, source: p.source, created_at: p.createdAt, updated_at: p.updatedAt, web_url: web(site, `pipelines/${p.id}`) };
}

export function expandedPipelineSchema(site: Site, p: FakePipeline, tag: boolean): ExpandedPipelineSchema {
  const done = ['success', 'failed', 'canceled', 'skipped'].includes(p.status);
  const { created_at: _c, ...bot } = { ...user(site, 'trainyard-bot'), created_at: '' };
  return {
    ...pipelineSchema(site, p),
    before_sha: '0'.repeat(40),
    tag,
    user: bot,
    started_at: p.createdAt,
    finished_at: done ? p.updatedAt : (null as unknown as string),
    duration: 0,
    detailed_status: { icon: `status_${p.status}`, text: p.status, label: p.status, group: p.status, tooltip: p.status, has_details: true, details_path: `/${site.projectPath}/-/pipelines/${p.id}`, favicon: '' },
  };
}

export interface FakeJob {
  id: number;
  pipelineId: number;
  name: string;
  stage: string;
  status: string;
}

function jobUser(site: Site): ExpandedUserSchema {
  return {
    ...user(site, 'trainyard-bot'),
    created_at: '2024-01-01T00:00:00.000Z',
    locked: false, bio: null, bot: true, location: null, public_email: null, skype: null, linkedin: null, twitter: null, discord: null,
    website_url: null, pronouns: null, organization: null, job_title: null, work_information: null, followers: null, following: null,
    local_time: null, is_followed: null, is_admin: null, last_sign_in_at: '', confirmed_at: '', last_activity_on: '', email: 'bot@example.com',
    theme_id: 1, color_scheme_id: 1, projects_limit: 0, current_sign_in_at: null, note: null, identities: null, can_create_group: false,
    can_create_project: false, two_factor_enabled: false, external: false, private_profile: null, namespace_id: null, created_by: null,
  };
}

export function jobSchema(site: Site, job: FakeJob, pipeline: FakePipeline, commit: FakeCommit): JobSchema {
  const { id, short_id, title, message, author_email, author_name, created_at } = commitSchema(site, commit);
  return {
    id: job.id,
    name: job.name,
    stage: job.stage,
    status: job.status,
    ref: pipeline.ref,
    tag: false,
    allow_failure: false,
    created_at: pipeline.createdAt,
    user: jobUser(site),
    commit: { id, short_id, title, message, author_email, author_name, created_at },
    pipeline: pipelineSchema(site, pipeline),
    web_url: web(site, `jobs/${job.id}`),
    artifacts: [],
    queued_duration: 0,
    artifacts_file: { filename: '', size: 0 },
    runner: { id: 1, paused: false, description: 'fake runner', ip_address: '127.0.0.1', is_shared: true, runner_type: 'instance_type', name: 'fake', online: true, status: 'online' },
  };
}

export interface FakeMergeRequest {
  iid: number;
  id: number;
  title: string;
  description: string;
  sourceBranch: string;
  targetBranch: string;
  state: 'opened' | 'closed' | 'merged';
  labels: string[];
  author: string;
  /** Head of the source branch when it was merged or closed (open ones follow their branch). */
  sha: string;
  mergeCommit: string | null;
  autoMerge: boolean;
  createdAt: string;
  updatedAt: string;
  mergedAt: string | null;
  closedAt: string | null;
}

export function mergeRequestSchema(site: Site, mr: FakeMergeRequest): MergeRequestSchemaWithBasicLabels {
  const closed = mr.state === 'closed';
  const merged = mr.state === 'merged';
  return {
    id: mr.id, iid: mr.iid, project_id: site.projectId, title: mr.title, description: mr.description, state: mr.state,
    created_at: mr.createdAt, updated_at: mr.updatedAt, web_url: web(site, `merge_requests/${mr.iid}`),
    merged_by: merged ? user(site, 'trainyard-bot') : null, merged_at: mr.mergedAt,
    closed_by: closed ? user(site, 'trainyard-bot') : null, closed_at: mr.closedAt,
    target_branch: mr.targetBranch, source_branch: mr.sourceBranch, user_notes_count: 0, upvotes: 0, downvotes: 0,
    author: user(site, mr.author), assignees: [], assignee: null, reviewers: [], source_project_id: site.projectId, target_project_id: site.projectId,
    labels: mr.labels, draft: false, work_in_progress: false, milestone: null, merge_when_pipeline_succeeds: mr.autoMerge,
    merge_status: 'can_be_merged', detailed_merge_status: mr.state === 'opened' ? 'mergeable' : 'not_open',
    sha: mr.sha, merge_commit_sha: mr.mergeCommit, squash_commit_sha: null, discussion_locked: null, should_remove_source_branch: null,
    force_remove_source_branch: false, reference: `!${mr.iid}`,
    references: { short: `!${mr.iid}`, relative: `!${mr.iid}`, full: `${site.projectPath}!${mr.iid}` },
    time_stats: { time_estimate: 0, total_time_spent: 0, human_time_estimate: null, human_total_time_spent: null },
    squash: false, task_completion_status: { count: 0, completed_count: 0 }, prepared_at: mr.createdAt, has_conflicts: false,
    blocking_discussions_resolved: true, approvals_before_merge: null,
  };
}

export function expandedMergeRequestSchema(site: Site, mr: FakeMergeRequest, head: ExpandedPipelineSchema | null, base: string): ExpandedMergeRequestSchema {
  return {
    ...mergeRequestSchema(site, mr),
    subscribed: false, changes_count: '1', latest_build_started_at: null, latest_build_finished_at: null, first_deployed_to_production_at: null,
    pipeline: head, head_pipeline: head, diff_refs: { base_sha: base, head_sha: mr.sha, start_sha: base }, merge_error: null,
    first_contribution: false, user: { can_merge: true },
  };
}

export function noteSchema(site: Site, id: number, mr: FakeMergeRequest, body: string, at: string): MergeRequestNoteSchema {
  return {
    id, body, attachment: null, author: user(site, 'trainyard-bot'), created_at: at, updated_at: at, system: false,
    noteable_id: mr.id, noteable_type: 'MergeRequest', noteable_iid: mr.iid, project_id: site.projectId, resolvable: false,
  };
}
