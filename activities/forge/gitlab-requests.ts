/**
 * Merge requests on GitLab: open (or update the open one), label, comment, close, merge when green
 * (GitLab's auto-merge), revert.
 */
import type { ExpandedMergeRequestSchema, MergeRequestSchema } from '@gitbeaker/rest';
import { TrainyardError } from '../../domain/errors.js';
import { alreadyExists, type GitLabClient } from './gitlab-client.js';
import { commitStateOf, mergeCommitOf, toChangeRequest } from './gitlab-map.js';
import type { ChangeRequest, ChangeRequestInput } from './forge.js';

type CreateBranch = (branch: string, fromRef: string) => Promise<{ sha: string; created: boolean }>;

export class GitLabMergeRequests {
  constructor(
    private readonly gl: GitLabClient,
    private readonly createBranch: CreateBranch,
  ) {}

  private async findOpenRaw(sourceBranch: string, targetBranch?: string): Promise<MergeRequestSchema | undefined> {
    this.gl.checkRef(sourceBranch);
    if (targetBranch !== undefined) this.gl.checkRef(targetBranch);
    const { api, project } = this.gl;
    const target = targetBranch === undefined ? {} : { targetBranch };
    const open = await this.gl.call(`finding the open merge request from ${sourceBranch}`, () =>
      api.mergeRequests.all({ projectId: project, state: 'opened', sourceBranch, ...target, perPage: 20, maxPages: 1 }),
    );
    return open[0];
  }

  private getRaw(number: number): Promise<ExpandedMergeRequestSchema> {
    const { api, project } = this.gl;
    return this.gl.call(`reading merge request !${number}`, () => api.mergeRequests.show(project, number));
  }

  async findOpen(sourceBranch: string, targetBranch?: string): Promise<ChangeRequest | undefined> {
    const mr = await this.findOpenRaw(sourceBranch, targetBranch);
    return mr ? toChangeRequest(mr) : undefined;
  }

  async get(number: number): Promise<ChangeRequest> {
    return toChangeRequest(await this.getRaw(number));
  }

  /** Finds the open one first, so a retried activity never opens a second; a race ends in GitLab's 409. */
  async open(input: ChangeRequestInput): Promise<{ change: ChangeRequest; created: boolean }> {
    const existing = await this.findOpenRaw(input.sourceBranch, input.targetBranch);
    if (existing) return { change: await this.update(existing.iid, input), created: false };
    const { api, project } = this.gl;
    const labels = input.labels?.length ? { labels: input.labels.join(',') } : {};
    const made = await this.gl.attempt(() => api.mergeRequests.create(project, input.sourceBranch, input.targetBranch, input.title, { description: input.body, ...labels }));
    if (made.ok) return { change: toChangeRequest(made.value), created: true };
    if (alreadyExists(made.failure)) {
      const raced = await this.findOpenRaw(input.sourceBranch, input.targetBranch);
      if (raced) return { change: await this.update(raced.iid, input), created: false };
    }
    throw this.gl.fail(made.failure, `opening a merge request from ${input.sourceBranch} into ${input.targetBranch}`, 'ref');
  }

  /** New title and body; labels are added to the ones it has (`add_labels`). */
  private async update(number: number, input: ChangeRequestInput): Promise<ChangeRequest> {
    const { api, project } = this.gl;
    const labels = input.labels?.length ? { addLabels: input.labels.join(',') } : {};
    const mr = await this.gl.call(`updating merge request !${number}`, () => api.mergeRequests.edit(project, number, { title: input.title, description: input.body, ...labels }));
    return toChangeRequest(mr);
  }

  async addLabels(number: number, labels: string[]): Promise<void> {
    if (labels.length === 0) return;
    const { api, project } = this.gl;
    await this.gl.call(`labelling merge request !${number}`, () => api.mergeRequests.edit(project, number, { addLabels: labels.join(',') }));
  }

  async comment(number: number, body: string): Promise<void> {
    const { api, project } = this.gl;
    await this.gl.call(`commenting on merge request !${number}`, () => api.notes.create(project, number, body));
  }

  /** GitLab leaves a closed (or merged) one as it is when asked to close it. */
  async close(number: number): Promise<void> {
    const { api, project } = this.gl;
    await this.gl.call(`closing merge request !${number}`, () => api.mergeRequests.edit(project, number, { stateEvent: 'close' }));
  }

  /**
   * Red head pipeline: blocked. Otherwise one merge call with auto-merge requested (`auto_merge`, and
   * `merge_when_pipeline_succeeds` for GitLab before 17.11): GitLab merges now when no pipeline is
   * running, or schedules the merge for when it succeeds. `sha` guards against a head pushed meanwhile.
   */
  async mergeWhenGreen(number: number): Promise<{ state: 'merged' | 'scheduled' | 'blocked'; mergeCommit?: string }> {
    const mr = await this.getRaw(number);
    const merged = mergeCommitOf(mr);
    if (merged) return { state: 'merged', mergeCommit: merged };
    if (mr.state === 'closed') throw new TrainyardError('FORGE_CONFLICT', `merge request !${number} is closed`, 'Reopen it in GitLab or open a new one.');
    if (mr.merge_when_pipeline_succeeds) return { state: 'scheduled' };
    if (commitStateOf(mr.head_pipeline) === 'failure') return { state: 'blocked' };
    const { api, project } = this.gl;
    const result = await this.gl.attempt(() => api.mergeRequests.merge(project, number, { sha: mr.sha, autoMerge: true, mergeWhenPipelineSucceeds: true }));
    if (result.ok) {
      const mergeCommit = mergeCommitOf(result.value);
      return mergeCommit ? { state: 'merged', mergeCommit } : { state: 'scheduled' };
    }
    // Merged by someone (or an earlier attempt) meanwhile is success; anything else cannot merge.
    const now = await this.getRaw(number);
    const mergeCommit = mergeCommitOf(now);
    if (mergeCommit) return { state: 'merged', mergeCommit };
    if ([405, 406, 409, 422].includes(result.failure.status ?? 0)) {
      throw new TrainyardError('FORGE_CONFLICT', `GitLab cannot merge !${number} (${result.failure.status}: ${result.failure.message})`, 'Resolve conflicts, drafts or required approvals on the merge request, then retry.');
    }
    throw this.gl.fail(result.failure, `merging !${number}`);
  }

  /**
   * A branch `revert-<iid>` off the target with GitLab's revert of the merge commit, and a merge request
   * from it. Each step is idempotent: the open request is reused, an existing branch kept, and a revert
   * GitLab calls "empty" is already on the branch.
   */
  async revert(number: number): Promise<ChangeRequest> {
    const mr = await this.getRaw(number);
    const mergeCommit = mergeCommitOf(mr);
    if (!mergeCommit) throw new TrainyardError('FORGE_CONFLICT', `merge request !${number} is not merged, so there is nothing to revert`, 'Close it instead, or wait for it to merge.');
    const branch = `revert-${number}`;
    const open = await this.findOpenRaw(branch, mr.target_branch);
    if (open) return toChangeRequest(open);
    await this.createBranch(branch, mr.target_branch);
    const { api, project } = this.gl;
    const reverted = await this.gl.attempt(() => api.commits.revert(project, mergeCommit, branch));
    if (!reverted.ok && reverted.failure.errorCode !== 'empty') {
      if (reverted.failure.errorCode === 'conflict' || reverted.failure.status === 400) {
        throw new TrainyardError('FORGE_CONFLICT', `GitLab cannot revert !${number} automatically: ${reverted.failure.message}`, 'Revert it by hand on a branch and open the merge request yourself.');
      }
      throw this.gl.fail(reverted.failure, `reverting ${mergeCommit.slice(0, 12)}`, 'ref');
    }
    const body = `Reverts !${number} (merge commit ${mergeCommit}).`;
    const { change } = await this.open({ sourceBranch: branch, targetBranch: mr.target_branch, title: `Revert "${mr.title}"`, body });
    return change;
  }
}
