/**
 * The fake GitLab's project state beyond git: merge requests and their notes, releases, pipelines and
 * jobs, and GitLab's auto-merge (a scheduled merge request merges when its head pipeline succeeds).
 */
import type { MergeRequestNoteSchema } from '@gitbeaker/core';
import { FakeRepo, titleOf } from './gitlab-repo.js';
import type { FakeJob, FakeMergeRequest, FakePipeline, FakeRelease, Site } from './gitlab-schema.js';

/** Statuses of a pipeline still under way (GitLab's "active"). */
export const ACTIVE = ['created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'scheduled'];
const DONE = ['success', 'failed', 'canceled', 'skipped'];

/** Every pipeline has these jobs; `promote-production` waits for a person (`when: manual`). */
const JOBS: { name: string; stage: string }[] = [
  { name: 'build', stage: 'build' },
  { name: 'test', stage: 'test' },
  { name: 'promote-production', stage: 'deploy' },
];

export class FakeGitLabState {
  readonly repo: FakeRepo;
  readonly mergeRequests: FakeMergeRequest[] = [];
  readonly notes = new Map<number, MergeRequestNoteSchema[]>();
  readonly releases = new Map<string, FakeRelease>();
  readonly pipelines: FakePipeline[] = [];
  readonly jobs: FakeJob[] = [];
  private lastTime = 0;
  private nextId = 1000;

  constructor(
    readonly site: Site,
    readonly defaultBranch: string,
  ) {
    this.repo = new FakeRepo(defaultBranch, () => this.now());
  }

  /** Real time, made strictly increasing so "newer" is never a tie. */
  now(): string {
    this.lastTime = Math.max(Date.now(), this.lastTime + 1);
    return new Date(this.lastTime).toISOString();
  }

  id(): number {
    return ++this.nextId;
  }

  /** Open merge requests follow their source branch; merged and closed ones keep their last head. */
  headOf(mr: FakeMergeRequest): string {
    return mr.state === 'opened' ? (this.repo.branches.get(mr.sourceBranch) ?? mr.sha) : mr.sha;
  }

  commitOn(branch: string, message: string, files: Record<string, string> = {}, author?: string): string {
    const head = this.repo.branches.get(branch) ?? (this.repo.branches.get(this.defaultBranch) as string);
    const snapshot = new Map(this.repo.get(head).files);
    for (const [path, content] of Object.entries(files)) snapshot.set(path, content);
    const sha = this.repo.addCommit([head], message, snapshot, author);
    this.repo.branches.set(branch, sha);
    return sha;
  }

  latestPipelineFor(sha: string): FakePipeline | undefined {
    return this.pipelines.filter((p) => p.sha === sha).sort((a, b) => b.id - a.id)[0];
  }

  createPipeline(sha: string, ref: string, source: string, variables: { key: string; value: string }[] = []): FakePipeline {
    const at = this.now();
    const iid = this.pipelines.length + 1;
    // GitLab answers a new pipeline as "created" until its first job is picked up.
    const pipeline: FakePipeline = { id: this.id(), iid, sha, ref, status: 'created', source, variables, createdAt: at, updatedAt: at };
    this.pipelines.push(pipeline);
    for (const job of JOBS) {
      const status = job.name === 'promote-production' ? 'manual' : job.name === 'build' ? 'pending' : 'created';
      this.jobs.push({ id: this.id(), pipelineId: pipeline.id, name: job.name, stage: job.stage, status });
    }
    return pipeline;
  }

  jobsOf(pipelineId: number): FakeJob[] {
    return this.jobs.filter((j) => j.pipelineId === pipelineId);
  }

  /** Moves a pipeline (and its jobs, plausibly) to a status; then auto-merge reacts. */
  setPipelineStatus(pipeline: FakePipeline, status: string): void {
    pipeline.status = status;
    pipeline.updatedAt = this.now();
    for (const job of this.jobsOf(pipeline.id)) {
      if (job.status === 'manual') continue;
      if (status === 'success') job.status = 'success';
      else if (status === 'failed') job.status = job.name === 'test' ? 'failed' : 'success';
      else if (status === 'canceled' && !DONE.includes(job.status)) job.status = 'canceled';
      else if (status === 'running' && job.name === 'build' && !DONE.includes(job.status)) job.status = 'running';
    }
    this.autoMerge(pipeline);
  }

  private autoMerge(pipeline: FakePipeline): void {
    for (const mr of this.mergeRequests) {
      if (mr.state !== 'opened' || !mr.autoMerge || this.headOf(mr) !== pipeline.sha) continue;
      if (pipeline.status === 'success') this.merge(mr);
      // GitLab drops the auto-merge when the pipeline fails or is canceled.
      else if (DONE.includes(pipeline.status)) mr.autoMerge = false;
    }
  }

  /** Merges with a merge commit, as GitLab's default merge method does; 'conflict' changes nothing. */
  merge(mr: FakeMergeRequest): string | 'conflict' {
    const source = this.headOf(mr);
    const target = this.repo.branches.get(mr.targetBranch);
    if (!target) return 'conflict';
    const merged = this.repo.merge(source, target);
    if (merged === 'conflict') {
      mr.autoMerge = false;
      return 'conflict';
    }
    const files = merged === 'empty' ? this.repo.get(target).files : merged.files;
    const message = `Merge branch '${mr.sourceBranch}' into '${mr.targetBranch}'\n\n${mr.title}\n\nSee merge request ${this.site.projectPath}!${mr.iid}`;
    const sha = this.repo.addCommit([target, source], message, files, mr.author);
    this.repo.branches.set(mr.targetBranch, sha);
    const at = this.now();
    Object.assign(mr, { state: 'merged', sha: source, mergeCommit: sha, autoMerge: false, mergedAt: at, updatedAt: at });
    return sha;
  }

  openMergeRequest(input: { sourceBranch: string; targetBranch: string; title: string; description: string; labels: string[]; author: string }): FakeMergeRequest {
    const at = this.now();
    const mr: FakeMergeRequest = {
      ...input,
      iid: this.mergeRequests.length + 1,
      id: this.id(),
      state: 'opened',
      sha: this.repo.branches.get(input.sourceBranch) ?? '',
      mergeCommit: null,
      autoMerge: false,
      createdAt: at,
      updatedAt: at,
      mergedAt: null,
      closedAt: null,
    };
    this.mergeRequests.push(mr);
    return mr;
  }

  /** The release's tag commit, for its `commit` field. */
  releaseCommit(release: FakeRelease): string {
    return this.repo.tags.get(release.tag)?.sha ?? (this.repo.branches.get(this.defaultBranch) as string);
  }

  /** Which branch a seeded pipeline runs on: one whose head is the commit, else the default branch. */
  refOf(sha: string): string {
    for (const [name, head] of this.repo.branches) if (head === sha) return name;
    return this.defaultBranch;
  }

  /** A merged merge request the way people make one: branch, commit, merge request, merge. */
  seedMergedChange(title: string, labels: string[], author: string): { number: number; mergeCommit: string } {
    const branch = `change-${this.mergeRequests.length + 1}-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 30)}`;
    this.commitOn(branch, title, { [`changes/${branch}.md`]: `${title}\n` }, author);
    const mr = this.openMergeRequest({ sourceBranch: branch, targetBranch: this.defaultBranch, title, description: '', labels, author });
    const mergeCommit = this.merge(mr);
    if (mergeCommit === 'conflict') throw new Error(`fake GitLab: seeding "${titleOf(title)}" conflicts`);
    return { number: mr.iid, mergeCommit };
  }
}
