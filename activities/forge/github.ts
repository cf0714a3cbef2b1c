/**
 * The GitHub forge: the REST API through Octokit (github-client.ts). History and CI state, pull
 * requests, workflow runs and git-data replays live in their own files; tags, releases, branches and
 * files are here.
 */
import type { ChangeEntry } from '../../domain/changelog.js';
import type { CommitRelation } from '../../domain/production-order.js';
import { TrainyardError } from '../../domain/errors.js';
import { createGitHubApi, isAnswer } from './github-client.js';
import { GitHubHistory } from './github-history.js';
import { GitHubPipelines, type RunLookup } from './github-pipelines.js';
import { GitHubPulls } from './github-pulls.js';
import { GitHubRepo } from './github-repo.js';
import { TreeReader, type ReplayStep } from './github-trees.js';
import type { ChangeRequest, ChangeRequestInput, CommitState, Forge, MergedChange, PipelineRun, PipelineTrigger, Release, ReleaseInput } from './forge.js';

/** Waits and retries; the defaults suit github.com, tests shorten them. */
export interface GitHubTuning {
  /** Retries of 5xx, timeouts, dropped connections and malformed answers (waits 1, 4, 9 × base). */
  retries: number;
  retryBaseDelayMs: number;
  /** Rate-limit waits up to this long happen here; longer ones go back to Temporal (FORGE_RATE_LIMITED). */
  maxRateLimitWaitMs: number;
  rateLimitRetries: number;
  /** GitHub asks for about a second between content-creating requests. */
  writeSpacingMs: number;
  runLookup: RunLookup;
}

export const DEFAULT_TUNING: GitHubTuning = {
  retries: 3,
  retryBaseDelayMs: 1_000,
  maxRateLimitWaitMs: 30_000,
  rateLimitRetries: 2,
  writeSpacingMs: 1_000,
  runLookup: { attempts: 10, intervalMs: 1_000, clockSkewMs: 60_000 },
};

export interface GitHubForgeOptions {
  /** owner/name */
  repository: string;
  /** REST API root: https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server. */
  apiUrl: string;
  token: string;
  defaultBranch: string;
  requestTimeoutMs: number;
  /** Where people look (links); derived from apiUrl when absent. */
  webUrl?: string;
  tuning?: Partial<GitHubTuning>;
}

/** https://api.github.com → https://github.com; https://host/api/v3 → https://host. */
function webUrlOf(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === 'api.github.com') return 'https://github.com';
  return `${url.origin}${url.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/+$/, '')}`;
}

function checkPath(path: string): void {
  const parts = path.split('/');
  // eslint-disable-next-line no-control-regex
  if (!path || path.length > 4096 || /[\u0000-\u001f]/.test(path) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new TrainyardError('FORGE_INVALID', `"${path.slice(0, 80)}" is not a file path in a repository`, 'Use a relative path such as VERSION or charts/app/values.yaml.');
  }
}

export class GitHubForge implements Forge {
  readonly kind = 'github' as const;
  readonly defaultBranch: string;
  private readonly gh: GitHubRepo;
  private readonly history: GitHubHistory;
  private readonly pulls: GitHubPulls;
  private readonly pipelines: GitHubPipelines;

  constructor(options: GitHubForgeOptions) {
    if (!/^[\w.-]+\/[\w.-]+$/.test(options.repository)) throw new TrainyardError('CONFIG_INVALID', `GitHub repository "${options.repository.slice(0, 100)}" is not owner/name`, 'Set forge.repository to owner/name, e.g. acme/api.');
    if (!options.token.trim()) throw new TrainyardError('CONFIG_INVALID', 'the GitHub token is empty', 'Set the environment variable named by forge.tokenEnv (default GITHUB_TOKEN), or forge.tokenFile.');
    const tuning = { ...DEFAULT_TUNING, ...options.tuning };
    const api = createGitHubApi({ apiUrl: options.apiUrl, token: options.token, requestTimeoutMs: options.requestTimeoutMs, ...tuning });
    this.defaultBranch = options.defaultBranch;
    this.gh = new GitHubRepo(api, options.repository, options.token, (options.webUrl ?? webUrlOf(options.apiUrl)).replace(/\/+$/, ''));
    this.history = new GitHubHistory(this.gh, this.defaultBranch);
    this.pulls = new GitHubPulls(this.gh, this.defaultBranch, this.history);
    this.pipelines = new GitHubPipelines(this.gh, tuning.runLookup);
  }

  // ── refs, commits, CI state (github-history.ts) ────────────────────────────────────────────────
  resolveRef = (ref: string): Promise<string> => this.history.resolveRef(ref);
  commitState = (sha: string): Promise<CommitState> => this.history.commitState(sha);
  latestGreenCommit = (branch: string, lookback: number): Promise<string | undefined> => this.history.latestGreenCommit(branch, lookback);
  commitsBetween = (from: string | undefined, to: string, limit: number): Promise<{ entries: ChangeEntry[]; truncated: boolean }> => this.history.commitsBetween(from, to, limit);
  compareCommits = (base: string, head: string): Promise<CommitRelation> => this.history.compareCommits(base, head);
  mergedChangesBetween = (from: string | undefined, to: string, limit: number): Promise<{ changes: MergedChange[]; truncated: boolean }> => this.history.mergedChangesBetween(from, to, limit);

  // ── tags ────────────────────────────────────────────────────────────────────────────────────
  async listTags(prefix: string): Promise<string[]> {
    // matching-refs takes a prefix; `tags` alone lists them all.
    const refs = await this.gh.call(`listing tags ${prefix}*`, (api) => api.paginate(api.rest.git.listMatchingRefs, { ...this.gh.params, ref: prefix ? `tags/${prefix}` : 'tags', per_page: 100 }));
    return refs.filter((r) => r.ref.startsWith('refs/tags/')).map((r) => r.ref.slice('refs/tags/'.length)).filter((t) => t.startsWith(prefix));
  }

  async tagCommit(tag: string): Promise<string | undefined> {
    this.gh.checkRef(tag);
    let target = await this.gh.ref(`tags/${tag}`);
    // Annotated tags point at a tag object; peel (a tag of a tag is allowed, rarely seen).
    for (let depth = 0; target?.type === 'tag' && depth < 5; depth++) {
      const sha = target.sha;
      target = (await this.gh.call(`reading tag ${tag}`, (api) => api.rest.git.getTag({ ...this.gh.params, tag_sha: sha }))).data.object;
    }
    return target?.type === 'commit' ? target.sha : undefined;
  }

  async createTag(tag: string, commit: string, message: string): Promise<{ created: boolean }> {
    this.gh.checkRef(tag);
    const sha = await this.resolveRef(commit);
    if ((await this.tagCommit(tag)) === undefined) {
      const object = await this.gh.call(`writing tag object ${tag}`, (api) => api.rest.git.createTag({ ...this.gh.params, tag, message, object: sha, type: 'commit' }));
      if (await this.gh.createRef(`tags/${tag}`, object.data.sha)) return { created: true };
    }
    // It existed, or another writer created it between our look and our write.
    const now = await this.tagCommit(tag);
    if (now === sha) return { created: false };
    throw new TrainyardError(
      'TAG_CONFLICT',
      `tag ${tag} already exists at ${now?.slice(0, 12) ?? 'another object'}, not at ${sha.slice(0, 12)}`,
      'Tags are never moved: create the next tag instead (trainyard tag <service> --from <sha>).',
    );
  }

  // ── releases ────────────────────────────────────────────────────────────────────────────────
  private toRelease(data: { tag_name: string; name: string | null; body?: string | null; prerelease: boolean; html_url: string }): Release {
    return { tag: data.tag_name, name: data.name ?? data.tag_name, notes: data.body ?? '', prerelease: data.prerelease, url: data.html_url };
  }

  private findRelease(tag: string) {
    return this.gh.find(`reading the release of ${tag}`, (api) => api.rest.repos.getReleaseByTag({ ...this.gh.params, tag }));
  }

  async publishRelease(release: ReleaseInput): Promise<{ url: string; created: boolean }> {
    // GitHub would create a missing tag from the default branch: the tag must exist first.
    if ((await this.tagCommit(release.tag)) === undefined) {
      throw new TrainyardError('REF_NOT_FOUND', `tag ${release.tag} was not found in ${this.gh.repository}`, 'Create the tag before publishing its release.');
    }
    // Pre-releases can never be latest; `false` keeps GitHub from guessing.
    const makeLatest = !release.prerelease && (release.latest ?? true) ? ('true' as const) : ('false' as const);
    const fields = { name: release.name, body: release.notes, prerelease: release.prerelease, make_latest: makeLatest };
    let existing = await this.findRelease(release.tag);
    if (!existing) {
      const made = await this.gh.call(`publishing the release of ${release.tag}`, async (api) => {
        try {
          return await api.rest.repos.createRelease({ ...this.gh.params, tag_name: release.tag, ...fields });
        } catch (err) {
          if (isAnswer(err, 422, /already.exists/i)) return undefined;
          throw err;
        }
      });
      if (made) return { url: made.data.html_url, created: true };
      existing = await this.findRelease(release.tag);
      if (!existing) throw new TrainyardError('FORGE_CONFLICT', `GitHub says the release of ${release.tag} exists but does not show it (a draft?)`, 'Publish or delete the draft release on GitHub and retry.');
    }
    const id = existing.data.id;
    const updated = await this.gh.call(`updating the release of ${release.tag}`, (api) => api.rest.repos.updateRelease({ ...this.gh.params, release_id: id, ...fields }));
    return { url: updated.data.html_url, created: false };
  }

  async getRelease(tag: string): Promise<Release | undefined> {
    this.gh.checkRef(tag);
    const found = await this.findRelease(tag);
    return found ? this.toRelease(found.data) : undefined;
  }

  async latestRelease(): Promise<Release | undefined> {
    const found = await this.gh.find('reading the latest release', (api) => api.rest.repos.getLatestRelease(this.gh.params));
    return found ? this.toRelease(found.data) : undefined;
  }

  // ── branches and files ──────────────────────────────────────────────────────────────────────
  async createBranch(branch: string, fromRef: string): Promise<{ sha: string; created: boolean }> {
    this.gh.checkRef(branch);
    const sha = await this.resolveRef(fromRef);
    if (await this.gh.createRef(`heads/${branch}`, sha)) return { sha, created: true };
    const existing = await this.gh.ref(`heads/${branch}`);
    if (!existing) throw new TrainyardError('FORGE_CONFLICT', `branch ${branch} could not be created and does not exist`, 'Look at the repository\'s branches on GitHub and retry.');
    return { sha: existing.sha, created: false };
  }

  /** A file's blob sha and text at a ref; undefined when absent; REF_NOT_FOUND when the ref is. */
  private async fileAt(path: string, ref: string): Promise<{ sha: string; content: string } | undefined> {
    checkPath(path);
    this.gh.checkRef(ref);
    const found = await this.gh.find(`reading ${path} at ${ref}`, (api) =>
      api.rest.repos.getContent({ ...this.gh.params, path, ref }).catch((err: unknown) => {
        if (isAnswer(err, 404, /No commit found/i)) throw new TrainyardError('REF_NOT_FOUND', `ref "${ref}" was not found in ${this.gh.repository}`, 'Check the branch, tag or sha on GitHub.');
        throw err;
      }),
    );
    if (!found) return undefined;
    const data = found.data;
    if (Array.isArray(data) || data.type !== 'file') throw new TrainyardError('FORGE_INVALID', `${path} at ${ref} is not a file`, 'Point the config at a file, not a directory, link or submodule.');
    let base64 = data.content;
    // Files over 1 MB come without content; the blob API has it.
    if (data.encoding !== 'base64') base64 = (await this.gh.call(`reading ${path} at ${ref}`, (api) => api.rest.git.getBlob({ ...this.gh.params, file_sha: data.sha }))).data.content;
    return { sha: data.sha, content: Buffer.from(base64, 'base64').toString('utf8') };
  }

  async readFile(path: string, ref: string): Promise<string | undefined> {
    return (await this.fileAt(path, ref))?.content;
  }

  async commitFile(req: { branch: string; path: string; content: string; message: string }): Promise<{ sha: string; changed: boolean }> {
    const current = await this.fileAt(req.path, req.branch);
    if (current?.content === req.content) {
      const head = await this.gh.ref(`heads/${req.branch}`);
      if (head) return { sha: head.sha, changed: false };
    }
    const written = await this.gh.call(`committing ${req.path} to ${req.branch}`, async (api) => {
      try {
        const content = Buffer.from(req.content, 'utf8').toString('base64');
        return (await api.rest.repos.createOrUpdateFileContents({ ...this.gh.params, path: req.path, branch: req.branch, message: req.message, content, ...(current ? { sha: current.sha } : {}) })).data.commit.sha;
      } catch (err) {
        // The file changed since we read it (409), or appeared (422 "sha" wasn't supplied): maybe by
        // our own write, retried after its answer was lost.
        if (isAnswer(err, 409) || isAnswer(err, 422, /\bsha\b/)) return undefined;
        throw err;
      }
    });
    if (written) return { sha: written, changed: true };
    if ((await this.fileAt(req.path, req.branch))?.content !== req.content) {
      throw new TrainyardError('FORGE_CONFLICT', `${req.path} on ${req.branch} changed while it was being written`, 'Someone else is editing the branch; look at it on GitHub and retry.');
    }
    const head = await this.gh.ref(`heads/${req.branch}`);
    if (!head) throw new TrainyardError('REF_NOT_FOUND', `branch ${req.branch} was not found in ${this.gh.repository}`, 'Create the branch first (createBranch).');
    return { sha: head.sha, changed: true };
  }

  async createHotfixBranch(branch: string, fromRef: string, picks: string[]): Promise<string> {
    this.gh.checkRef(branch);
    const existing = await this.gh.ref(`heads/${branch}`);
    if (existing) return existing.sha;
    const base = await this.resolveRef(fromRef);
    const trees = new TreeReader(this.gh);
    const steps: ReplayStep[] = [];
    for (const pick of picks) {
      const info = await trees.commit(await this.resolveRef(pick));
      if (info.parents.length > 1) throw new TrainyardError('CHERRY_PICK_CONFLICT', `${info.sha.slice(0, 12)} is a merge commit`, 'Pick the commits it merged instead (or cherry-pick it by hand with -m 1).');
      const parent = info.parents[0];
      const from = parent === undefined ? undefined : (await trees.commit(parent)).tree;
      steps.push({ from, to: info.tree, message: `${info.message.trimEnd()}\n\n(cherry picked from commit ${info.sha})`, author: info.author });
    }
    const head = await trees.replay(base, steps, (paths, step) =>
      new TrainyardError('CHERRY_PICK_CONFLICT', `cherry-picking "${step.message.split('\n', 1)[0]?.slice(0, 80)}" onto ${fromRef} conflicts in ${paths.slice(0, 5).join(', ')}`, 'Resolve it by hand on a branch and tag that commit (trainyard tag <service> --from <sha>).'),
    );
    if (await this.gh.createRef(`heads/${branch}`, head)) return head;
    // Another attempt made the branch meanwhile: it is returned as it is.
    return (await this.gh.ref(`heads/${branch}`))?.sha ?? head;
  }

  // ── pull requests (github-pulls.ts) ─────────────────────────────────────────────────────────
  openChangeRequest = (input: ChangeRequestInput): Promise<{ change: ChangeRequest; created: boolean }> => this.pulls.open(input);
  findOpenChangeRequest = (sourceBranch: string, targetBranch?: string): Promise<ChangeRequest | undefined> => this.pulls.findOpen(sourceBranch, targetBranch);
  getChangeRequest = (number: number): Promise<ChangeRequest> => this.pulls.get(number);
  addLabels = async (number: number, labels: string[]): Promise<void> => void (await this.pulls.addLabels(number, labels));
  comment = (number: number, body: string): Promise<void> => this.pulls.comment(number, body);
  closeChangeRequest = (number: number): Promise<void> => this.pulls.close(number);
  mergeWhenGreen = (number: number): Promise<{ state: 'merged' | 'scheduled' | 'blocked'; mergeCommit?: string }> => this.pulls.mergeWhenGreen(number);
  revertChangeRequest = (number: number): Promise<ChangeRequest> => this.pulls.revert(number);

  // ── workflow runs (github-pipelines.ts) ─────────────────────────────────────────────────────
  triggerPipeline = (trigger: PipelineTrigger): Promise<PipelineRun> => this.pipelines.trigger(trigger);
  findTriggeredPipeline = (trigger: PipelineTrigger, since: number): Promise<PipelineRun | undefined> => this.pipelines.findTriggered(trigger, since);
  latestPipeline = (ref: string): Promise<PipelineRun | undefined> => this.pipelines.latest(ref);
  getPipeline = (id: string): Promise<PipelineRun> => this.pipelines.get(id);
  retryPipeline = (id: string): Promise<PipelineRun> => this.pipelines.retry(id);
  playJob = (pipelineId: string, job: string): Promise<PipelineRun> => this.pipelines.playJob(pipelineId, job);
  cancelPipeline = (id: string): Promise<void> => this.pipelines.cancel(id);
}
