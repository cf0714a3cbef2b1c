/**
 * Cherry-picks and reverts through GitHub's git data API, which has no merge machinery: a commit's
 * change is the difference between two trees (its parent's and its own), and it is applied to another
 * tree only where that tree still has the "before" side. A file changed on both sides is a conflict,
 * even when git's line-level merge could have combined the two edits: we refuse rather than guess.
 */
import { TrainyardError } from '../../domain/errors.js';
import type { GitHubRepo } from './github-repo.js';

interface Entry {
  mode: string;
  type: string;
  sha: string;
}
type Tree = Map<string, Entry>;

export interface TreeChange {
  path: string;
  mode: '100644' | '100755' | '040000' | '160000' | '120000';
  type: 'blob' | 'tree' | 'commit';
  /** null deletes the path. */
  sha: string | null;
}

export interface GitCommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  message: string;
  author: { name: string; email: string; date: string };
}

export interface ReplayStep {
  /** Tree before and after the change to apply (undefined: the empty tree of a root commit). */
  from: string | undefined;
  to: string | undefined;
  message: string;
  author?: GitCommitInfo['author'];
}

const same = (a: Entry | undefined, b: Entry | undefined) => a?.sha === b?.sha && a?.mode === b?.mode;

/** The change from `from` to `to`, expressed on `onto`; paths where `onto` has a third version conflict. */
export function applyDiff(from: Tree, to: Tree, onto: Tree): { changes: TreeChange[]; conflicts: string[] } {
  const changes: TreeChange[] = [];
  const conflicts: string[] = [];
  for (const path of new Set([...from.keys(), ...to.keys()])) {
    const before = from.get(path);
    const after = to.get(path);
    const current = onto.get(path);
    if (same(before, after) || same(current, after)) continue;
    if (!same(current, before)) {
      conflicts.push(path);
      continue;
    }
    const entry = after ?? before;
    if (!entry) continue;
    changes.push({ path, mode: entry.mode as TreeChange['mode'], type: entry.type as TreeChange['type'], sha: after ? after.sha : null });
  }
  return { changes, conflicts };
}

export class TreeReader {
  private readonly trees = new Map<string, Tree>();

  constructor(private readonly gh: GitHubRepo) {}

  async commit(sha: string): Promise<GitCommitInfo> {
    const { data } = await this.gh.call(`reading commit ${sha.slice(0, 12)}`, (api) => api.rest.git.getCommit({ ...this.gh.params, commit_sha: sha }), 'ref');
    return { sha: data.sha, tree: data.tree.sha, parents: data.parents.map((p) => p.sha), message: data.message, author: data.author };
  }

  /** A whole tree, files only (sub-trees are implied by paths). */
  async tree(sha: string | undefined): Promise<Tree> {
    if (sha === undefined) return new Map();
    const known = this.trees.get(sha);
    if (known) return known;
    const { data } = await this.gh.call(`reading tree ${sha.slice(0, 12)}`, (api) => api.rest.git.getTree({ ...this.gh.params, tree_sha: sha, recursive: 'true' }));
    if (data.truncated) {
      throw new TrainyardError('FORGE_CONFLICT', `tree ${sha.slice(0, 12)} of ${this.gh.repository} is too large for GitHub to list in one answer`, 'Cherry-pick or revert this change by hand with git, then use the branch it produced.');
    }
    const tree: Tree = new Map();
    for (const e of data.tree) if (e.type !== 'tree') tree.set(e.path, { mode: e.mode, type: e.type, sha: e.sha });
    this.trees.set(sha, tree);
    return tree;
  }

  /**
   * Applies each step on top of `head` as a new commit; returns the last one. Nothing moves a branch:
   * the caller points a ref at the result, so a failure half-way leaves no half-made branch behind.
   */
  async replay(head: string, steps: ReplayStep[], conflict: (paths: string[], step: ReplayStep) => TrainyardError): Promise<string> {
    const start = await this.commit(head);
    let treeSha = start.tree;
    let onto = new Map(await this.tree(treeSha));
    let sha = start.sha;
    for (const step of steps) {
      const { changes, conflicts } = applyDiff(await this.tree(step.from), await this.tree(step.to), onto);
      if (conflicts.length > 0) throw conflict(conflicts, step);
      if (changes.length > 0) {
        const created = await this.gh.call('writing a tree', (api) => api.rest.git.createTree({ ...this.gh.params, base_tree: treeSha, tree: changes }));
        treeSha = created.data.sha;
        onto = new Map(onto);
        for (const c of changes) {
          if (c.sha === null) onto.delete(c.path);
          else onto.set(c.path, { mode: c.mode, type: c.type, sha: c.sha });
        }
      }
      const made = await this.gh.call('writing a commit', (api) =>
        api.rest.git.createCommit({ ...this.gh.params, message: step.message, tree: treeSha, parents: [sha], ...(step.author ? { author: step.author } : {}) }),
      );
      sha = made.data.sha;
    }
    return sha;
  }
}
