/**
 * The local forge's access to its repository: the real `git` program, never a shell, always with
 * `--end-of-options` before refs, and writes that never touch a work tree someone is editing.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TrainyardError } from '../../domain/errors.js';
import { refNameProblem } from '../../domain/tags.js';

const run = promisify(execFile);

export const SHA = /^[0-9a-f]{7,64}$/;
export const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Who the forge's own commits (file edits, merges, reverts) are by. */
export const FORGE_IDENTITY = {
  GIT_AUTHOR_NAME: 'Trainyard',
  GIT_AUTHOR_EMAIL: 'trainyard@localhost',
  GIT_COMMITTER_NAME: 'Trainyard',
  GIT_COMMITTER_EMAIL: 'trainyard@localhost',
};

export interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  /** git's exit code when it failed. */
  code?: number;
}

export interface GitOptions {
  /** Written to git's standard input. */
  input?: string;
  /** Extra environment (e.g. GIT_INDEX_FILE for a private index). */
  env?: Record<string, string>;
}

/** The first lines of git's complaint, for an error message (bounded: stderr can be huge). */
export function gitComplaint(result: GitResult): string {
  return result.stderr.trim().slice(0, 300) || 'no output';
}

export class GitRepo {
  private commonDir?: string;

  constructor(readonly path: string) {}

  async git(args: string[], options: GitOptions = {}): Promise<GitResult> {
    if (!existsSync(this.path)) {
      throw new TrainyardError('CONFIG_INVALID', `git repository ${this.path} does not exist`, 'Fix forge.path in the config, or create the repository.');
    }
    try {
      const pending = run('git', ['-C', this.path, ...args], {
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_COMMITTER_NAME: 'Trainyard', GIT_COMMITTER_EMAIL: 'trainyard@localhost', ...options.env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 60_000,
      });
      // git may exit without reading its input (an error): that is its answer, not a crash.
      pending.child.stdin?.on('error', () => undefined);
      pending.child.stdin?.end(options.input);
      const { stdout, stderr } = await pending;
      return { ok: true, stdout, stderr };
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string; code?: unknown };
      if (e.code === 'ENOENT') throw new TrainyardError('COMMAND_NOT_FOUND', 'git is not installed', 'Install git (apt-get install git) and retry.');
      if (typeof e.code !== 'number') throw new TrainyardError('FORGE_UNAVAILABLE', `git ${args[0]} failed: ${e.message.slice(0, 300)}`, 'Retried automatically.');
      return { ok: false, stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code };
    }
  }

  /** git in another work tree of this repository (a throw-away one, or the one a branch is checked out in). */
  gitIn(dir: string, args: string[], options: GitOptions = {}): Promise<GitResult> {
    // No hooks: the forge's merges and reverts must not run whatever a checkout or commit hook does.
    return this.git(['-c', `safe.directory=${dir}`, '-c', 'core.hooksPath=/dev/null', '-C', dir, ...args], options);
  }

  /** Like `git`, but a failure is FORGE_UNAVAILABLE (for commands that only fail when something is broken). */
  async must(args: string[], options: GitOptions = {}): Promise<string> {
    const out = await this.git(args, options);
    if (!out.ok) throw new TrainyardError('FORGE_UNAVAILABLE', `git ${args[0]} failed in ${this.path}: ${gitComplaint(out)}`, 'Retried automatically; check the repository (git fsck) if it persists.');
    return out.stdout;
  }

  checkRef(ref: string): void {
    const problem = refNameProblem(ref);
    if (problem) throw new TrainyardError('INVALID_REF', `"${ref.slice(0, 80)}" is not a valid ref: it ${problem}`, 'Use a branch, tag or commit sha.');
  }

  async resolveRef(ref: string): Promise<string> {
    this.checkRef(ref);
    const candidates = SHA.test(ref) ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`, ref];
    for (const candidate of candidates) {
      const out = await this.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${candidate}^{commit}`]);
      if (out.ok) return out.stdout.trim();
    }
    throw new TrainyardError('REF_NOT_FOUND', `ref "${ref}" was not found in ${this.path}`, 'Check the branch, tag or sha (git log --oneline shows commits).');
  }

  /** Head of a branch, or undefined when there is no such branch. */
  async branchHead(branch: string): Promise<string | undefined> {
    this.checkRef(branch);
    const out = await this.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${branch}^{commit}`]);
    return out.ok ? out.stdout.trim() : undefined;
  }

  async isAncestor(ancestor: string, of: string): Promise<boolean> {
    return (await this.git(['merge-base', '--is-ancestor', '--end-of-options', ancestor, of])).ok;
  }

  /** Like `isAncestor`, but only git's "no" (exit 1) is false: any other failure is FORGE_UNAVAILABLE. */
  async containsCommit(ancestor: string, of: string): Promise<boolean> {
    const out = await this.git(['merge-base', '--is-ancestor', '--end-of-options', ancestor, of]);
    if (out.ok || out.code === 1) return out.ok;
    throw new TrainyardError('FORGE_UNAVAILABLE', `git merge-base --is-ancestor ${ancestor.slice(0, 12)} ${of.slice(0, 12)} failed in ${this.path}: ${gitComplaint(out)}`, 'Retried automatically; check the repository (git fsck) if it persists.');
  }

  /**
   * The repository's (common) git directory: the forge's records live there, next to the objects,
   * so they never show up in a work tree and every linked work tree sees the same ones.
   */
  async gitDir(): Promise<string> {
    if (this.commonDir) return this.commonDir;
    const out = await this.git(['rev-parse', '--path-format=absolute', '--git-common-dir']);
    if (!out.ok) throw new TrainyardError('CONFIG_INVALID', `${this.path} is not a git repository`, 'Fix forge.path in the config, or run git init there.');
    this.commonDir = out.stdout.trim();
    return this.commonDir;
  }

  /** `<gitdir>/trainyard/<kind>`. */
  async recordDir(kind: 'releases' | 'status' | 'changes' | 'pipelines'): Promise<string> {
    return join(await this.gitDir(), 'trainyard', kind);
  }

  /** Runs `fn` in a throw-away detached work tree at `commit`, removed afterwards whatever happens. */
  async inWorktree<T>(commit: string, what: string, fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'trainyard-work-'));
    try {
      const add = await this.addWorktree(dir, commit);
      if (!add.ok) throw new TrainyardError('FORGE_UNAVAILABLE', `cannot prepare ${what}: ${gitComplaint(add)}`, 'Retried automatically.');
      return await fn(dir);
    } finally {
      await this.git(['worktree', 'remove', '--force', dir]);
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * `git worktree add` reads every other work tree's admin files, and fails when one is being
   * created at the same moment (concurrent merges, reverts, CI runs): such a failure is retried.
   */
  private async addWorktree(dir: string, commit: string): Promise<GitResult> {
    for (let attempt = 1; ; attempt++) {
      const add = await this.git(['-c', 'core.hooksPath=/dev/null', 'worktree', 'add', '--detach', '--end-of-options', dir, commit]);
      if (add.ok || attempt === 5 || !add.stderr.includes('worktrees/')) return add;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * attempt));
    }
  }

  /** Creates `branch` at `sha` unless it exists; true when this call created it. */
  async createBranchAt(branch: string, sha: string): Promise<boolean> {
    this.checkRef(branch);
    // The empty old value makes update-ref refuse when the branch exists (another writer won).
    return (await this.git(['update-ref', `refs/heads/${branch}`, sha, ''])).ok;
  }

  /**
   * Moves `branch` from `from` to `to`; false when another writer moved it meanwhile (the caller
   * starts over from the new head). When the branch is checked out in a work tree, that work tree
   * is brought along (like `receive.denyCurrentBranch=updateInstead`), provided it has no local
   * changes (FORGE_CONFLICT otherwise): a branch moved under a stale index would make the next
   * `git commit` there undo the forge's commit.
   */
  async advanceBranch(branch: string, from: string, to: string): Promise<boolean> {
    const checkouts = await this.checkoutsOf(branch);
    for (const dir of checkouts) await this.assertCanFollow(dir, branch, from, to);
    const moved = await this.git(['update-ref', '-m', 'trainyard', `refs/heads/${branch}`, to, from]);
    if (!moved.ok) return false;
    for (const dir of checkouts) {
      const followed = await this.gitIn(dir, ['read-tree', '-u', '-m', from, to]);
      if (!followed.ok) {
        throw new TrainyardError('FORGE_CONFLICT', `branch ${branch} now points at ${to.slice(0, 12)}, but the work tree ${dir} could not follow: ${gitComplaint(followed)}`, `Bring it up to date by hand: git -C ${dir} read-tree -u -m ${from.slice(0, 12)} ${to.slice(0, 12)}`);
      }
    }
    return true;
  }

  /**
   * Builds a commit on top of `branch` (`build` gets its head and returns the new commit, or the
   * head when there is nothing to do) and moves the branch there, starting over when another
   * writer moved it first. REF_NOT_FOUND when the branch does not exist.
   */
  async commitOnBranch(branch: string, build: (head: string) => Promise<string>): Promise<{ head: string; sha: string }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const head = await this.branchHead(branch);
      if (head === undefined) throw new TrainyardError('REF_NOT_FOUND', `branch ${branch} was not found in ${this.path}`, 'Create the branch first (or check its name).');
      const sha = await build(head);
      if (sha === head || (await this.advanceBranch(branch, head, sha))) return { head, sha };
    }
    throw new TrainyardError('FORGE_UNAVAILABLE', `branch ${branch} kept moving while the forge was writing to it`, 'Retried automatically.');
  }

  /** Work trees that have `branch` checked out. */
  private async checkoutsOf(branch: string): Promise<string[]> {
    const out = await this.must(['worktree', 'list', '--porcelain', '-z']);
    const dirs: string[] = [];
    let current: string | undefined;
    for (const line of out.split('\0')) {
      if (line.startsWith('worktree ')) current = line.slice('worktree '.length);
      else if (line === `branch refs/heads/${branch}` && current !== undefined) dirs.push(current);
    }
    return dirs;
  }

  private async assertCanFollow(dir: string, branch: string, from: string, to: string): Promise<void> {
    await this.gitIn(dir, ['update-index', '-q', '--refresh']);
    const clean = (await this.gitIn(dir, ['diff-index', '--quiet', from, '--'])).ok;
    const fits = clean && (await this.gitIn(dir, ['read-tree', '-n', '-u', '-m', from, to])).ok;
    if (!fits) {
      throw new TrainyardError('FORGE_CONFLICT', `branch ${branch} is checked out in ${dir} with local changes, so the forge will not move it`, `Commit or stash the changes in ${dir} (or check out another branch there) and try again.`);
    }
  }
}
