/**
 * The embedded default forge: a git repository on this machine, driven by the real `git` program.
 * What a hosted forge keeps in its database (releases, CI states, pull requests, pipeline runs) is
 * kept as plain JSON in `<gitdir>/trainyard/`, never in a work tree.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clipText, MAX_AUTHOR_LENGTH, MAX_SUBJECT_LENGTH, prNumberOf, type ChangeEntry } from '../../domain/changelog.js';
import { TrainyardError } from '../../domain/errors.js';
import type { CommitRelation } from '../../domain/production-order.js';
import type { ChangeRequest, ChangeRequestInput, CommitState, Forge, MergedChange, PipelineRun, PipelineTrigger, Release, ReleaseInput } from './forge.js';
import { LocalCi, type LocalCiConfig } from './local-ci.js';
import { LocalChangeRequests } from './local-git-changes.js';
import { LocalReleases } from './local-git-releases.js';
import { FORGE_IDENTITY, FULL_SHA, gitComplaint, GitRepo } from './local-git-repo.js';
import { readCommitState } from './local-git-store.js';

export { recordCommitState } from './local-git-store.js';
export type { LocalCiConfig } from './local-ci.js';

/**
 * Fields end in NUL and `-z` ends records in NUL: a commit message cannot hold NUL, while it can hold
 * newlines, tabs, record separators or `%`. The subject comes last so the fields are positional.
 */
const LOG_FORMAT = '--format=%H%x00%an%x00%aI%x00%s';
const LOG_FIELDS = 4;

/** Parses `git log -z` output in LOG_FORMAT. */
function parseLog(stdout: string): ChangeEntry[] {
  const fields = stdout.split('\0');
  const entries: ChangeEntry[] = [];
  for (let i = 0; i + LOG_FIELDS <= fields.length; i += LOG_FIELDS) {
    const [sha = '', author = '', date = '', subject = ''] = fields.slice(i, i + LOG_FIELDS);
    if (!FULL_SHA.test(sha)) throw new TrainyardError('FORGE_UNAVAILABLE', `unexpected git log output near "${sha.slice(0, 40)}"`, 'Retried automatically; check the git version if it persists.');
    // The number comes from the whole subject: clipping may cut a "(#123)" suffix.
    const pr = prNumberOf(subject);
    const entry: ChangeEntry = { sha, subject: clipText(subject, MAX_SUBJECT_LENGTH), author: clipText(author, MAX_AUTHOR_LENGTH), date };
    entries.push(pr === undefined ? entry : { ...entry, pr });
  }
  return entries;
}

/** A path inside the repository, as git stores it: relative, no `.`/`..`/empty parts, not in `.git`. */
function checkPath(path: string): void {
  const parts = path.split('/');
  // eslint-disable-next-line no-control-regex
  const bad = path.length === 0 || path.length > 4096 || /[\u0000-\u001f\u007f\\]/.test(path) || parts.some((p) => p === '' || p === '.' || p === '..' || p.toLowerCase() === '.git');
  if (bad) throw new TrainyardError('FORGE_INVALID', `"${path.slice(0, 120)}" is not a usable file path`, 'Use a relative path like config/VERSION, without "..", "." or ".git" parts.');
}

export class LocalGitForge implements Forge {
  readonly kind = 'local-git' as const;
  private readonly repo: GitRepo;
  private readonly releases: LocalReleases;
  private readonly changes: LocalChangeRequests;
  private readonly ci: LocalCi;

  constructor(path: string, readonly defaultBranch: string, ci?: LocalCiConfig) {
    this.repo = new GitRepo(path);
    this.releases = new LocalReleases(this.repo);
    this.ci = new LocalCi(this.repo, ci);
    this.changes = new LocalChangeRequests(this.repo, {
      commitState: (sha) => this.commitState(sha),
      startChecks: async (branch) => this.ci.configured && (await this.ci.trigger({ ref: branch }), true),
    });
  }

  // ── refs, commits, CI state ─────────────────────────────────────────────────────────────────

  resolveRef(ref: string): Promise<string> {
    return this.repo.resolveRef(ref);
  }

  async commitState(sha: string): Promise<CommitState> {
    return readCommitState(this.repo, await this.resolveRef(sha));
  }

  async latestGreenCommit(branch: string, lookback: number): Promise<string | undefined> {
    const head = await this.resolveRef(branch);
    const count = Math.max(0, Math.floor(lookback));
    if (count === 0) return undefined;
    const shas = (await this.repo.must(['rev-list', '--first-parent', `--max-count=${count}`, '--end-of-options', head, '--'])).split('\n').filter(Boolean);
    for (const sha of shas) if ((await readCommitState(this.repo, sha)) === 'success') return sha;
    return undefined;
  }

  async commitsBetween(from: string | undefined, to: string, limit: number): Promise<{ entries: ChangeEntry[]; truncated: boolean }> {
    const max = Math.max(0, Math.floor(limit));
    // Resolved first, so an unknown ref is REF_NOT_FOUND rather than a git log failure.
    const toSha = await this.resolveRef(to);
    const fromSha = from === undefined ? undefined : await this.resolveRef(from);
    const range = fromSha ? [`${fromSha}..${toSha}`] : [toSha];
    // One commit more than asked for tells whether there were more.
    const out = await this.repo.git(['log', '-z', LOG_FORMAT, '--no-color', `--max-count=${max + 1}`, '--end-of-options', ...range, '--']);
    if (!out.ok) throw new TrainyardError('FORGE_UNAVAILABLE', `git log ${range.join(' ')} failed: ${gitComplaint(out)}`, 'Retried automatically; check the repository (git fsck) if it persists.');
    const entries = parseLog(out.stdout);
    return { entries: entries.slice(0, max), truncated: entries.length > max };
  }

  async compareCommits(base: string, head: string): Promise<CommitRelation> {
    const [baseSha, headSha] = [await this.resolveRef(base), await this.resolveRef(head)];
    if (baseSha === headSha) return 'identical';
    if (await this.repo.containsCommit(baseSha, headSha)) return 'ahead';
    if (await this.repo.containsCommit(headSha, baseSha)) return 'behind';
    return 'diverged';
  }

  mergedChangesBetween(from: string | undefined, to: string, limit: number): Promise<{ changes: MergedChange[]; truncated: boolean }> {
    return this.changes.mergedBetween(from, to, limit);
  }

  // ── tags and releases ───────────────────────────────────────────────────────────────────────

  async listTags(prefix: string): Promise<string[]> {
    const out = await this.repo.git(['for-each-ref', '--format=%(refname:strip=2)', 'refs/tags']);
    return out.stdout.split('\n').filter((t) => t && t.startsWith(prefix));
  }

  async tagCommit(tag: string): Promise<string | undefined> {
    this.repo.checkRef(tag);
    const out = await this.repo.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/tags/${tag}^{commit}`]);
    return out.ok ? out.stdout.trim() : undefined;
  }

  async createTag(tag: string, commit: string, message: string): Promise<{ created: boolean }> {
    this.repo.checkRef(tag);
    const sha = await this.resolveRef(commit);
    const existing = await this.tagCommit(tag);
    if (existing === undefined) {
      const out = await this.repo.git(['tag', '--annotate', '--message', message, '--end-of-options', tag, sha]);
      if (out.ok) return { created: true };
    }
    // Either it existed, or another writer created it between our check and our write.
    const now = await this.tagCommit(tag);
    if (now === sha) return { created: false };
    throw new TrainyardError(
      'TAG_CONFLICT',
      `tag ${tag} already exists at ${now?.slice(0, 12) ?? 'another commit'}, not at ${sha.slice(0, 12)}`,
      'Tags are never moved: create the next tag instead (trainyard tag <service> --from <sha>).',
    );
  }

  async publishRelease(release: ReleaseInput): Promise<{ url: string; created: boolean }> {
    this.repo.checkRef(release.tag);
    return this.releases.publish(release, (await this.tagCommit(release.tag)) !== undefined);
  }

  getRelease(tag: string): Promise<Release | undefined> {
    return this.releases.get(tag);
  }

  latestRelease(): Promise<Release | undefined> {
    return this.releases.latest();
  }

  // ── branches and files ──────────────────────────────────────────────────────────────────────

  async createBranch(branch: string, fromRef: string): Promise<{ sha: string; created: boolean }> {
    const existing = await this.repo.branchHead(branch);
    if (existing !== undefined) return { sha: existing, created: false };
    const sha = await this.resolveRef(fromRef);
    if (await this.repo.createBranchAt(branch, sha)) return { sha, created: true };
    // Another writer created it between our check and our write.
    const now = await this.repo.branchHead(branch);
    if (now === undefined) throw new TrainyardError('FORGE_UNAVAILABLE', `could not create branch ${branch} in ${this.repo.path}`, 'Retried automatically.');
    return { sha: now, created: false };
  }

  /**
   * Commits with plumbing on a private index (never a work tree): the blob, a tree from the head's
   * tree with the file replaced, a commit, and a compare-and-swap of the branch.
   */
  async commitFile(req: { branch: string; path: string; content: string; message: string }): Promise<{ sha: string; changed: boolean }> {
    checkPath(req.path);
    this.repo.checkRef(req.branch);
    const blob = (await this.repo.must(['hash-object', '-w', '--stdin'], { input: req.content })).trim();
    const { head, sha } = await this.repo.commitOnBranch(req.branch, async (base) => {
      const current = await this.repo.git(['ls-tree', '-z', '--end-of-options', base, '--', req.path]);
      const [info = ''] = current.stdout.split('\t');
      const [mode = '', type = '', id = ''] = info.split(' ');
      if (type === 'blob' && id === blob) return base;
      if (type === 'tree') throw new TrainyardError('FORGE_INVALID', `${req.path} is a directory on ${req.branch}`, 'Give the path of a file.');
      const dir = await mkdtemp(join(tmpdir(), 'trainyard-index-'));
      try {
        const env = { ...FORGE_IDENTITY, GIT_INDEX_FILE: join(dir, 'index') };
        await this.repo.must(['read-tree', '--end-of-options', base], { env });
        // An executable file stays executable.
        const added = await this.repo.git(['update-index', '--add', '--cacheinfo', `${mode === '100755' ? '100755' : '100644'},${blob},${req.path}`], { env });
        if (!added.ok) throw new TrainyardError('FORGE_INVALID', `cannot write ${req.path} on ${req.branch}: ${gitComplaint(added)}`, 'A part of the path is a file there: choose another path.');
        const tree = (await this.repo.must(['write-tree'], { env })).trim();
        return (await this.repo.must(['commit-tree', tree, '-p', base, '-F', '-'], { env, input: req.message })).trim();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
    return { sha, changed: sha !== head };
  }

  async readFile(path: string, ref: string): Promise<string | undefined> {
    checkPath(path);
    const sha = await this.resolveRef(ref);
    const type = await this.repo.git(['cat-file', '-t', `${sha}:${path}`]);
    if (!type.ok) return undefined;
    if (type.stdout.trim() !== 'blob') throw new TrainyardError('FORGE_INVALID', `${path} is not a file at ${ref}`, 'Give the path of a file.');
    return this.repo.must(['cat-file', 'blob', `${sha}:${path}`]);
  }

  async createHotfixBranch(branch: string, fromRef: string, picks: string[]): Promise<string> {
    const existing = await this.repo.branchHead(branch);
    if (existing !== undefined) return existing;
    const base = await this.resolveRef(fromRef);
    const shas: string[] = [];
    for (const pick of picks) shas.push(await this.resolveRef(pick));
    // Cherry-pick in a throw-away worktree, so the repository's own checkout is never touched.
    const head = await this.repo.inWorktree(base, `hotfix ${branch}`, async (dir) => {
      for (const sha of shas) {
        const picked = await this.repo.gitIn(dir, ['cherry-pick', '-x', '--allow-empty', sha]);
        if (!picked.ok) {
          await this.repo.gitIn(dir, ['cherry-pick', '--abort']);
          throw new TrainyardError('CHERRY_PICK_CONFLICT', `cherry-picking ${sha.slice(0, 12)} onto ${fromRef} conflicts`, 'Resolve it by hand on a branch and tag that commit (trainyard tag <service> --from <sha>).');
        }
      }
      return (await this.repo.gitIn(dir, ['rev-parse', 'HEAD'])).stdout.trim();
    });
    await this.repo.createBranchAt(branch, head);
    return (await this.repo.branchHead(branch)) ?? head;
  }

  // ── pull requests ───────────────────────────────────────────────────────────────────────────

  openChangeRequest(input: ChangeRequestInput): Promise<{ change: ChangeRequest; created: boolean }> {
    return this.changes.open(input);
  }

  findOpenChangeRequest(sourceBranch: string, targetBranch?: string): Promise<ChangeRequest | undefined> {
    return this.changes.findOpen(sourceBranch, targetBranch);
  }

  getChangeRequest(number: number): Promise<ChangeRequest> {
    return this.changes.get(number);
  }

  addLabels(number: number, labels: string[]): Promise<void> {
    return this.changes.addLabels(number, labels);
  }

  comment(number: number, body: string): Promise<void> {
    return this.changes.comment(number, body);
  }

  closeChangeRequest(number: number): Promise<void> {
    return this.changes.close(number);
  }

  mergeWhenGreen(number: number): Promise<{ state: 'merged' | 'scheduled' | 'blocked'; mergeCommit?: string }> {
    return this.changes.mergeWhenGreen(number);
  }

  revertChangeRequest(number: number): Promise<ChangeRequest> {
    return this.changes.revert(number);
  }

  // ── pipelines ───────────────────────────────────────────────────────────────────────────────

  triggerPipeline(trigger: PipelineTrigger): Promise<PipelineRun> {
    return this.ci.trigger(trigger);
  }

  findTriggeredPipeline(trigger: PipelineTrigger, since: number): Promise<PipelineRun | undefined> {
    return this.ci.findTriggered(trigger, since);
  }

  latestPipeline(ref: string): Promise<PipelineRun | undefined> {
    return this.ci.latest(ref);
  }

  getPipeline(id: string): Promise<PipelineRun> {
    return this.ci.get(id);
  }

  retryPipeline(id: string): Promise<PipelineRun> {
    return this.ci.retry(id);
  }

  playJob(pipelineId: string, job: string): Promise<PipelineRun> {
    return this.ci.playJob(pipelineId, job);
  }

  cancelPipeline(id: string): Promise<void> {
    return this.ci.cancel(id);
  }
}
