/**
 * The GitLab forge: the REST API v4 through Gitbeaker (`@gitbeaker/rest`). Merge requests are in
 * gitlab-requests.ts, pipelines in gitlab-pipelines.ts, HTTP and error translation in gitlab-http.ts.
 * A merge request's `iid` (its number in the project, `!42`) is the change request's `number`.
 */
import type { ChangeEntry } from '../../domain/changelog.js';
import { TrainyardError } from '../../domain/errors.js';
import type { CommitRelation } from '../../domain/production-order.js';
import { alreadyExists, GitLabClient, isMissing, type GitLabForgeOptions } from './gitlab-client.js';
import { commitStateOf, isPrerelease, mergeCommitOf, releaseFields, toChangeEntry, toMergedChange, toRelease, type ListedCommit } from './gitlab-map.js';
import { GitLabPipelines } from './gitlab-pipelines.js';
import { GitLabMergeRequests } from './gitlab-requests.js';
import type { ChangeRequest, ChangeRequestInput, CommitState, Forge, MergedChange, PipelineRun, PipelineTrigger, Release, ReleaseInput } from './forge.js';

export type { GitLabForgeOptions } from './gitlab-client.js';

const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** Bounds on a changelog's look-ups: pages of 100 (commits without a base, merged merge requests). */
const MAX_HISTORY_COMMITS = 1000;
const MAX_MR_PAGES = 10;
/** Merge requests are listed from a day before the oldest commit of the range: committer clocks drift. */
const CLOCK_SLACK_MS = 24 * 3600_000;

export class GitLabForge implements Forge {
  readonly kind = 'gitlab' as const;
  readonly defaultBranch: string;
  private readonly gl: GitLabClient;
  private readonly requests: GitLabMergeRequests;
  private readonly pipelines: GitLabPipelines;

  constructor(options: GitLabForgeOptions) {
    this.defaultBranch = options.defaultBranch;
    this.gl = new GitLabClient(options);
    this.requests = new GitLabMergeRequests(this.gl, (branch, from) => this.createBranch(branch, from));
    this.pipelines = new GitLabPipelines(this.gl);
  }

  // ── refs, commits, CI state ─────────────────────────────────────────────────────────────────

  async resolveRef(ref: string): Promise<string> {
    this.gl.checkRef(ref);
    const { api, project } = this.gl;
    return (await this.gl.call(`resolving ${ref}`, () => api.commits.show(project, ref), 'ref')).id;
  }

  async commitState(sha: string): Promise<CommitState> {
    this.gl.checkRef(sha);
    const { api, project } = this.gl;
    const latest = await this.gl.call(`reading the pipelines of ${sha.slice(0, 12)}`, () => api.pipelines.all(project, { sha, orderBy: 'id', sort: 'desc', perPage: 1, maxPages: 1 }));
    return commitStateOf(latest[0]);
  }

  async latestGreenCommit(branch: string, lookback: number): Promise<string | undefined> {
    const commits = await this.history(branch, Math.max(0, Math.floor(lookback)), true);
    // Newest first, one pipeline look-up each, stopping at the first green one: usually two requests.
    for (const commit of commits) {
      if ((await this.commitState(commit.id)) === 'success') return commit.id;
    }
    return undefined;
  }

  /** Up to `count` commits of `ref`'s history, newest first, paged 100 at a time. */
  private async history(ref: string, count: number, firstParent = false): Promise<ListedCommit[]> {
    this.gl.checkRef(ref);
    if (count === 0) return [];
    const { api, project } = this.gl;
    const perPage = Math.min(100, count);
    const commits = await this.gl.call(`listing the commits of ${ref}`, () => api.commits.all(project, { refName: ref, firstParent, perPage, maxPages: Math.ceil(count / perPage) }), 'ref');
    return commits.slice(0, count);
  }

  /** `from..to`, newest first. GitLab's compare answers every commit at once (no pagination), oldest first. */
  private async compare(from: string, to: string): Promise<ListedCommit[]> {
    this.gl.checkRef(from);
    this.gl.checkRef(to);
    const { api, project } = this.gl;
    const answer = await this.gl.call(`comparing ${from}..${to}`, () => api.repositories.compare(project, from, to, { straight: false }), 'ref');
    return [...((answer.commits ?? []) as ListedCommit[])].reverse();
  }

  /**
   * From the merge-base API: the merge base of base and head is base (head contains it: `ahead`) or
   * head (`behind`), else they `diverged`. GitLab answers 404 "Merge Base Not Found" for unrelated
   * histories (`diverged` too) and 400 "Could not find ref…" for unknown refs.
   */
  async compareCommits(base: string, head: string): Promise<CommitRelation> {
    this.gl.checkRef(base);
    this.gl.checkRef(head);
    const [baseSha, headSha] = await Promise.all([FULL_SHA.test(base) ? base : this.resolveRef(base), FULL_SHA.test(head) ? head : this.resolveRef(head)]);
    if (baseSha === headSha) return 'identical';
    const { api, project } = this.gl;
    const found = await this.gl.attempt(() => api.repositories.mergeBase(project, [baseSha, headSha]));
    if (!found.ok) {
      if (isMissing(found.failure, /merge base not found/i)) return 'diverged';
      if (found.failure.status === 400 && /could not find ref/i.test(found.failure.message)) {
        throw new TrainyardError('REF_NOT_FOUND', `GitLab does not know ${baseSha.slice(0, 12)} or ${headSha.slice(0, 12)} in ${this.gl.where}: ${found.failure.message}`, 'Check the commits (were they pushed, or garbage-collected after a force-push?).');
      }
      throw this.gl.fail(found.failure, `finding the merge base of ${baseSha.slice(0, 12)} and ${headSha.slice(0, 12)}`, 'ref');
    }
    const mergeBase = found.value.id;
    if (mergeBase === baseSha) return 'ahead';
    if (mergeBase === headSha) return 'behind';
    return 'diverged';
  }

  async commitsBetween(from: string | undefined, to: string, limit: number): Promise<{ entries: ChangeEntry[]; truncated: boolean }> {
    const max = Math.max(0, Math.floor(limit));
    // Without a base, the head is resolved first: listing an unknown ref is not reliably a 404.
    const commits = from === undefined ? await this.history(await this.resolveRef(to), max + 1) : await this.compare(from, to);
    return { entries: commits.slice(0, max).map(toChangeEntry), truncated: commits.length > max };
  }

  /**
   * Merged merge requests whose merge (or squash) commit is in `from..to`: one compare, then the merge
   * requests merged into the default branch and updated since the range's oldest commit, 100 a page.
   */
  async mergedChangesBetween(from: string | undefined, to: string, limit: number): Promise<{ changes: MergedChange[]; truncated: boolean }> {
    const max = Math.max(0, Math.floor(limit));
    const commits = from === undefined ? await this.history(await this.resolveRef(to), MAX_HISTORY_COMMITS) : await this.compare(from, to);
    if (commits.length === 0) return { changes: [], truncated: false };
    const position = new Map(commits.map((c, i) => [c.id, i]));
    const oldest = commits.reduce((min, c) => Math.min(min, Date.parse(c.committed_date ?? c.created_at) || Infinity), Infinity);
    const { api, project } = this.gl;
    const options = { projectId: project, state: 'merged' as const, targetBranch: this.defaultBranch, orderBy: 'updated_at' as const, sort: 'desc' as const, perPage: 100, maxPages: MAX_MR_PAGES };
    const since = from !== undefined && Number.isFinite(oldest) ? { updatedAfter: new Date(oldest - CLOCK_SLACK_MS).toISOString() } : {};
    const mrs = await this.gl.call('listing merged merge requests', () => api.mergeRequests.all({ ...options, ...since }));
    const changes: { change: MergedChange; at: number }[] = [];
    for (const mr of mrs) {
      // The head counts only for a fast-forward merge: otherwise it is in the range next to its merge commit.
      const commit = mergeCommitOf(mr);
      if (commit && position.has(commit)) changes.push({ change: toMergedChange(mr, commit), at: position.get(commit) ?? 0 });
    }
    changes.sort((a, b) => a.at - b.at);
    const scannedAll = mrs.length < MAX_MR_PAGES * 100 && (from !== undefined || commits.length < MAX_HISTORY_COMMITS);
    return { changes: changes.slice(0, max).map((c) => c.change), truncated: changes.length > max || !scannedAll };
  }

  // ── tags and releases ───────────────────────────────────────────────────────────────────────

  async listTags(prefix: string): Promise<string[]> {
    const { api, project } = this.gl;
    // GitLab's tag search takes "^term" for names that begin with term.
    const search = prefix ? { search: `^${prefix}` } : {};
    const tags = await this.gl.call(`listing tags ${prefix}*`, () => api.tags.all(project, { ...search, perPage: 100 }));
    return tags.map((t) => t.name).filter((name) => name.startsWith(prefix));
  }

  async tagCommit(tag: string): Promise<string | undefined> {
    this.gl.checkRef(tag);
    const { api, project } = this.gl;
    return (await this.gl.find(`reading tag ${tag}`, () => api.tags.show(project, tag)))?.commit.id;
  }

  async createTag(tag: string, commit: string, message: string): Promise<{ created: boolean }> {
    this.gl.checkRef(tag);
    this.gl.checkRef(commit);
    const { api, project } = this.gl;
    const made = await this.gl.attempt(() => api.tags.create(project, tag, commit, { message }));
    if (made.ok) return { created: true };
    if (made.failure.status === 400 && /target .* is invalid|invalid reference/i.test(made.failure.message)) {
      throw new TrainyardError('REF_NOT_FOUND', `cannot tag ${tag}: ${commit} was not found in ${this.gl.where}`, 'Check the commit sha.');
    }
    if (!alreadyExists(made.failure)) throw this.gl.fail(made.failure, `creating tag ${tag}`);
    // It exists: an earlier attempt made it (same commit), or it is another release's tag.
    const [existing, wanted] = await Promise.all([this.tagCommit(tag), FULL_SHA.test(commit) ? commit : this.resolveRef(commit)]);
    if (existing === wanted) return { created: false };
    throw new TrainyardError(
      'TAG_CONFLICT',
      `tag ${tag} already exists at ${existing?.slice(0, 12) ?? 'another commit'}, not at ${wanted.slice(0, 12)}`,
      'Tags are never moved: create the next tag instead (trainyard tag <service> --from <sha>).',
    );
  }

  /**
   * `latest` is GitLab's `released_at`: now for the latest release; otherwise (pre-releases, or
   * `latest: false`) the tagged commit's date, so it sorts into history rather than on top.
   */
  async publishRelease(release: ReleaseInput): Promise<{ url: string; created: boolean }> {
    this.gl.checkRef(release.tag);
    const { api, project } = this.gl;
    const tag = await this.gl.find(`reading tag ${release.tag}`, () => api.tags.show(project, release.tag));
    if (!tag) throw new TrainyardError('REF_NOT_FOUND', `tag ${release.tag} was not found in ${this.gl.where}`, 'Create the tag before publishing its release.');
    const latest = !release.prerelease && (release.latest ?? true);
    const fields = releaseFields(release.name, release.notes, release.prerelease);
    const now = new Date().toISOString();
    const releasedAt = latest ? now : (tag.commit.committed_date ?? tag.commit.created_at ?? now);
    const made = await this.gl.attempt(() => api.releases.create(project, { tagName: release.tag, ...fields, releasedAt }));
    if (made.ok) return { url: toRelease(made.value, this.releaseUrl(release.tag)).url, created: true };
    if (!alreadyExists(made.failure)) throw this.gl.fail(made.failure, `publishing the release of ${release.tag}`);
    const edited = await this.gl.call(`updating the release of ${release.tag}`, () => api.releases.edit(project, release.tag, { ...fields, ...(latest ? { releasedAt: now } : {}) }));
    return { url: toRelease(edited, this.releaseUrl(release.tag)).url, created: false };
  }

  async getRelease(tag: string): Promise<Release | undefined> {
    this.gl.checkRef(tag);
    const { api, project } = this.gl;
    const release = await this.gl.find(`reading the release of ${tag}`, () => api.releases.show(project, tag));
    return release ? toRelease(release, this.releaseUrl(tag)) : undefined;
  }

  /** The newest by `released_at` that is neither a pre-release nor upcoming (one request). */
  async latestRelease(): Promise<Release | undefined> {
    const { api, project } = this.gl;
    const releases = await this.gl.call('listing releases', () => api.releases.all(project, { orderBy: 'released_at', sort: 'desc', perPage: 20, maxPages: 1 }));
    const latest = releases.find((r) => !isPrerelease(r) && !r.upcoming_release);
    return latest ? toRelease(latest, this.releaseUrl(latest.tag_name)) : undefined;
  }

  private releaseUrl(tag: string): string {
    return `${this.gl.webRoot}/-/releases/${encodeURIComponent(tag)}`;
  }

  // ── branches and files ──────────────────────────────────────────────────────────────────────

  async createBranch(branch: string, fromRef: string): Promise<{ sha: string; created: boolean }> {
    this.gl.checkRef(branch);
    this.gl.checkRef(fromRef);
    const { api, project } = this.gl;
    const made = await this.gl.attempt(() => api.branches.create(project, branch, fromRef));
    if (made.ok) return { sha: made.value.commit.id, created: true };
    if (made.failure.status === 400 && /invalid reference name/i.test(made.failure.message)) {
      throw new TrainyardError('REF_NOT_FOUND', `cannot create ${branch}: ${fromRef} was not found in ${this.gl.where}`, 'Check the branch, tag or sha to start from.');
    }
    if (!alreadyExists(made.failure)) throw this.gl.fail(made.failure, `creating branch ${branch}`);
    const existing = await this.gl.call(`reading branch ${branch}`, () => api.branches.show(project, branch), 'ref');
    return { sha: existing.commit.id, created: false };
  }

  async commitFile(req: { branch: string; path: string; content: string; message: string }): Promise<{ sha: string; changed: boolean }> {
    this.gl.checkRef(req.branch);
    const { api, project } = this.gl;
    const current = await this.gl.attempt(() => api.files.show(project, req.path, req.branch));
    let action: 'create' | 'update' = 'update';
    if (current.ok) {
      // `commit_id` is the head of the ref the file was read at: no second request for it.
      if (Buffer.from(current.value.content, 'base64').toString('utf8') === req.content) return { sha: current.value.commit_id, changed: false };
    } else if (isMissing(current.failure, /file not found/i)) {
      action = 'create';
    } else {
      throw this.gl.fail(current.failure, `reading ${req.path} on ${req.branch}`, 'ref');
    }
    // The commits API (not the files API) answers with the new commit, so its sha costs nothing more.
    const commit = await this.gl.call(`committing ${req.path} to ${req.branch}`, () => api.commits.create(project, req.branch, req.message, [{ action, filePath: req.path, content: req.content }]), 'ref');
    return { sha: commit.id, changed: true };
  }

  async readFile(path: string, ref: string): Promise<string | undefined> {
    this.gl.checkRef(ref);
    const { api, project } = this.gl;
    const raw = await this.gl.attempt(() => api.files.showRaw(project, path, ref));
    if (raw.ok) return typeof raw.value === 'string' ? raw.value : await raw.value.text();
    if (isMissing(raw.failure, /file not found/i)) return undefined;
    throw this.gl.fail(raw.failure, `reading ${path} at ${ref}`, 'ref');
  }

  /**
   * Picks are applied on a work branch and `branch` is created only at the end, so an existing
   * `branch` is always complete: a retry after a crash half-way starts the work branch again.
   */
  async createHotfixBranch(branch: string, fromRef: string, picks: string[]): Promise<string> {
    this.gl.checkRef(branch);
    picks.forEach((p) => this.gl.checkRef(p));
    const { api, project } = this.gl;
    const existing = await this.gl.find(`reading branch ${branch}`, () => api.branches.show(project, branch));
    if (existing) return existing.commit.id;
    const work = `${branch}-trainyard-wip`;
    let start = await this.createBranch(work, fromRef);
    if (!start.created) {
      await this.gl.call(`removing the stale ${work}`, () => api.branches.remove(project, work));
      start = await this.createBranch(work, fromRef);
    }
    try {
      let head = start.sha;
      for (const pick of picks) {
        const picked = await this.gl.attempt(() => api.commits.cherryPick(project, pick, work));
        if (picked.ok) head = picked.value.id;
        else if (picked.failure.errorCode === 'empty') continue; // already in fromRef
        else if (picked.failure.errorCode === 'conflict' || (picked.failure.status === 400 && /cherry-pick/i.test(picked.failure.message))) {
          throw new TrainyardError('CHERRY_PICK_CONFLICT', `cherry-picking ${pick.slice(0, 12)} onto ${fromRef} conflicts`, 'Resolve it by hand on a branch and tag that commit (trainyard tag <service> --from <sha>).');
        } else throw this.gl.fail(picked.failure, `cherry-picking ${pick.slice(0, 12)} onto ${fromRef}`, 'ref');
      }
      return (await this.createBranch(branch, head)).sha;
    } finally {
      // Best effort: a leftover work branch is removed by the next attempt.
      await this.gl.attempt(() => api.branches.remove(project, work));
    }
  }

  // ── merge requests and pipelines ────────────────────────────────────────────────────────────

  openChangeRequest(input: ChangeRequestInput): Promise<{ change: ChangeRequest; created: boolean }> {
    return this.requests.open(input);
  }
  findOpenChangeRequest(sourceBranch: string, targetBranch?: string): Promise<ChangeRequest | undefined> {
    return this.requests.findOpen(sourceBranch, targetBranch);
  }
  getChangeRequest(number: number): Promise<ChangeRequest> {
    return this.requests.get(number);
  }
  addLabels(number: number, labels: string[]): Promise<void> {
    return this.requests.addLabels(number, labels);
  }
  comment(number: number, body: string): Promise<void> {
    return this.requests.comment(number, body);
  }
  closeChangeRequest(number: number): Promise<void> {
    return this.requests.close(number);
  }
  mergeWhenGreen(number: number): Promise<{ state: 'merged' | 'scheduled' | 'blocked'; mergeCommit?: string }> {
    return this.requests.mergeWhenGreen(number);
  }
  revertChangeRequest(number: number): Promise<ChangeRequest> {
    return this.requests.revert(number);
  }
  triggerPipeline(trigger: PipelineTrigger): Promise<PipelineRun> {
    return this.pipelines.trigger(trigger);
  }
  findTriggeredPipeline(trigger: PipelineTrigger, since: number): Promise<PipelineRun | undefined> {
    return this.pipelines.findTriggered(trigger, since);
  }
  latestPipeline(ref: string): Promise<PipelineRun | undefined> {
    return this.pipelines.latest(ref);
  }
  getPipeline(id: string): Promise<PipelineRun> {
    return this.pipelines.get(id);
  }
  retryPipeline(id: string): Promise<PipelineRun> {
    return this.pipelines.retry(id);
  }
  playJob(pipelineId: string, job: string): Promise<PipelineRun> {
    return this.pipelines.playJob(pipelineId, job);
  }
  cancelPipeline(id: string): Promise<void> {
    return this.pipelines.cancel(id);
  }
}
