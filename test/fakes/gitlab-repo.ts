/**
 * The fake GitLab's repository: commits (each a full snapshot of its files), branches and annotated
 * tags, with just enough git to be honest: ancestry, `from..to`, merge bases, and three-way application
 * of a commit's change for merges, cherry-picks and reverts (a path changed on both sides conflicts).
 */
import { createHash } from 'node:crypto';
import { ancestorsOf, uniqueByPrefix } from './commit-graph.js';

export interface FakeCommit {
  sha: string;
  parents: string[];
  message: string;
  authorName: string;
  authorEmail: string;
  /** ISO 8601, author and committer date alike. */
  date: string;
  files: Map<string, string>;
  /** Creation order: the fake's notion of "newer". */
  seq: number;
}

export interface FakeTag {
  name: string;
  sha: string;
  message: string;
  createdAt: string;
}

export type Applied = { files: Map<string, string> } | 'conflict' | 'empty';

export function titleOf(message: string): string {
  return message.split('\n')[0] ?? '';
}

export class FakeRepo {
  readonly commits = new Map<string, FakeCommit>();
  readonly branches = new Map<string, string>();
  readonly tags = new Map<string, FakeTag>();
  private seq = 0;

  constructor(
    defaultBranch: string,
    private readonly now: () => string,
  ) {
    const root = this.addCommit([], 'Initial commit', new Map([['README.md', '# app\n']]), 'Founder');
    this.branches.set(defaultBranch, root);
  }

  addCommit(parents: string[], message: string, files: Map<string, string>, authorName = 'Trainyard Bot'): string {
    const seq = ++this.seq;
    const sha = createHash('sha1').update(`${seq}\0${parents.join(',')}\0${message}`).digest('hex');
    const email = `${authorName.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@example.com`;
    this.commits.set(sha, { sha, parents, message, authorName, authorEmail: email, date: this.now(), files, seq });
    return sha;
  }

  /** A branch, a tag, a full sha or an unambiguous prefix of at least 7 hex digits. */
  resolve(ref: string): string | undefined {
    const named = this.branches.get(ref) ?? this.tags.get(ref)?.sha;
    if (named) return named;
    if (this.commits.has(ref)) return ref;
    return uniqueByPrefix(ref, this.commits.keys());
  }

  get(sha: string): FakeCommit {
    const commit = this.commits.get(sha);
    if (!commit) throw new Error(`fake repo: no commit ${sha}`);
    return commit;
  }

  ancestors(sha: string): Set<string> {
    return ancestorsOf(sha, (s) => this.get(s).parents);
  }

  /** Newest first. */
  history(sha: string, firstParent: boolean): FakeCommit[] {
    if (firstParent) {
      const chain: FakeCommit[] = [];
      for (let c: FakeCommit | undefined = this.get(sha); c; c = c.parents[0] ? this.get(c.parents[0]) : undefined) chain.push(c);
      return chain;
    }
    return [...this.ancestors(sha)].map((s) => this.get(s)).sort((a, b) => b.seq - a.seq);
  }

  /** `from..to`, oldest first (the order GitLab's compare answers in). */
  between(from: string, to: string): FakeCommit[] {
    const exclude = this.ancestors(from);
    return [...this.ancestors(to)].filter((s) => !exclude.has(s)).map((s) => this.get(s)).sort((a, b) => a.seq - b.seq);
  }

  mergeBase(a: string, b: string): string | undefined {
    const ofA = this.ancestors(a);
    return this.history(b, false).find((c) => ofA.has(c.sha))?.sha;
  }

  /**
   * Applies the change `before -> after` onto `onto`: a path already at its new content is left alone,
   * a path still at its old content takes the new one, anything else conflicts. Nothing to do is 'empty'.
   */
  apply(before: Map<string, string>, after: Map<string, string>, onto: Map<string, string>): Applied {
    const files = new Map(onto);
    let changed = false;
    for (const path of new Set([...before.keys(), ...after.keys()])) {
      const old = before.get(path);
      const wanted = after.get(path);
      if (old === wanted) continue;
      const current = onto.get(path);
      if (current === wanted) continue;
      if (current !== old) return 'conflict';
      if (wanted === undefined) files.delete(path);
      else files.set(path, wanted);
      changed = true;
    }
    return changed ? { files } : 'empty';
  }

  /** The change a commit made against its first parent, applied onto another commit. */
  cherryPick(sha: string, onto: string, reverse = false): Applied {
    const commit = this.get(sha);
    const parent = commit.parents[0] ? this.get(commit.parents[0]).files : new Map<string, string>();
    return reverse ? this.apply(commit.files, parent, this.get(onto).files) : this.apply(parent, commit.files, this.get(onto).files);
  }

  /** The files of merging `source` into `target` (three-way from their merge base). */
  merge(source: string, target: string): Applied {
    const base = this.mergeBase(source, target);
    const baseFiles = base ? this.get(base).files : new Map<string, string>();
    return this.apply(baseFiles, this.get(source).files, this.get(target).files);
  }
}
