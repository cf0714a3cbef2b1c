/**
 * The fake GitHub's git object store: blobs (hashed as git hashes them), trees (flat path maps),
 * commits, refs and annotated tag objects, with just enough git to be honest: ancestry in commit
 * order, `base...head` ranges, merge bases, and a file-level three-way merge (a path changed on both
 * sides conflicts).
 */
import { createHash } from 'node:crypto';
import { ancestorsOf, uniqueByPrefix } from './commit-graph.js';

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'commit';
  sha: string;
}
/** A whole tree: path → entry (directories are implied). */
export type Files = Map<string, TreeEntry>;

export interface Person {
  name: string;
  email: string;
  date: string;
}

export interface FakeCommit {
  sha: string;
  tree: string;
  parents: string[];
  message: string;
  author: Person;
  committer: Person;
  /** GitHub account of the author, when it maps to one. */
  login?: string;
  /** Creation order: the fake's notion of "newer" (dates have one-second resolution). */
  seq: number;
}

export interface FakeTagObject {
  sha: string;
  tag: string;
  message: string;
  object: string;
  type: 'commit' | 'tag';
  tagger: Person;
}

const sha1 = (text: string | Buffer) => createHash('sha1').update(text).digest('hex');

export const iso = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function person(login: string, date = iso()): Person {
  return { name: login, email: `${login}@users.noreply.github.com`, date };
}

export class GitStore {
  readonly blobs = new Map<string, Buffer>();
  readonly trees = new Map<string, Files>();
  readonly commits = new Map<string, FakeCommit>();
  /** Full ref names: refs/heads/main, refs/tags/v1 → object sha. */
  readonly refs = new Map<string, string>();
  readonly tagObjects = new Map<string, FakeTagObject>();
  private seq = 0;

  blob(content: Buffer | string): string {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    const sha = sha1(Buffer.concat([Buffer.from(`blob ${data.length}\0`), data]));
    this.blobs.set(sha, data);
    return sha;
  }

  tree(files: Files): string {
    const lines = [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, e]) => `${e.mode} ${e.type} ${e.sha}\t${p}`);
    const sha = sha1(`tree\n${lines.join('\n')}`);
    if (!this.trees.has(sha)) this.trees.set(sha, new Map(files));
    return sha;
  }

  commit(c: Omit<FakeCommit, 'sha' | 'seq'>): string {
    const text = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${c.author.name} <${c.author.email}> ${c.author.date}`, `committer ${c.committer.name} <${c.committer.email}> ${c.committer.date}`, '', c.message].join('\n');
    const sha = sha1(`commit\n${text}`);
    if (!this.commits.has(sha)) this.commits.set(sha, { ...c, sha, seq: ++this.seq });
    return sha;
  }

  tag(t: Omit<FakeTagObject, 'sha'>): FakeTagObject {
    const sha = sha1(`tag\nobject ${t.object}\ntype ${t.type}\ntag ${t.tag}\ntagger ${t.tagger.name} <${t.tagger.email}> ${t.tagger.date}\n\n${t.message}`);
    const object = { ...t, sha };
    this.tagObjects.set(sha, object);
    return object;
  }

  filesOf(commitSha: string): Files {
    const commit = this.commits.get(commitSha);
    return new Map(commit ? this.trees.get(commit.tree) : undefined);
  }

  text(entry: TreeEntry | undefined): string | undefined {
    return entry ? this.blobs.get(entry.sha)?.toString('utf8') : undefined;
  }

  /** Follows annotated tags to what they point at. */
  peel(sha: string): string {
    let current = sha;
    for (let i = 0; i < 10; i++) {
      const tag = this.tagObjects.get(current);
      if (!tag) return current;
      current = tag.object;
    }
    return current;
  }

  /** A commit sha for a branch, tag, `heads/x`, full or abbreviated (≥ 7) sha; undefined when unknown. */
  resolve(ref: string): string | undefined {
    for (const name of [`refs/heads/${ref}`, `refs/tags/${ref}`, `refs/${ref}`, ref]) {
      const target = this.refs.get(name);
      if (target) return this.peel(target);
    }
    if (/^[0-9a-f]{40}$/.test(ref)) return this.commits.has(ref) ? ref : undefined;
    return uniqueByPrefix(ref, this.commits.keys());
  }

  ancestors(sha: string): Set<string> {
    return ancestorsOf(sha, (s) => this.commits.get(s)?.parents ?? []);
  }

  /** `git log`: the commit and its ancestors, newest first. */
  log(sha: string): FakeCommit[] {
    return [...this.ancestors(sha)].map((s) => this.commits.get(s) as FakeCommit).sort((a, b) => b.seq - a.seq);
  }

  /** Commits reachable from `head` but not from `base`, oldest first (the compare API's order). */
  range(base: string, head: string): FakeCommit[] {
    const excluded = this.ancestors(base);
    return this.log(head).filter((c) => !excluded.has(c.sha)).reverse();
  }

  mergeBase(a: string, b: string): string | undefined {
    const ofA = this.ancestors(a);
    return this.log(b).find((c) => ofA.has(c.sha))?.sha;
  }

  /** File-level three-way merge; 'conflict' when a path changed differently on both sides. */
  merge(base: Files, ours: Files, theirs: Files): Files | 'conflict' {
    const merged = new Map(ours);
    const same = (x?: TreeEntry, y?: TreeEntry) => x?.sha === y?.sha && x?.mode === y?.mode;
    for (const path of new Set([...base.keys(), ...ours.keys(), ...theirs.keys()])) {
      const [b, o, t] = [base.get(path), ours.get(path), theirs.get(path)];
      if (same(o, t) || same(b, t)) continue;
      if (!same(b, o)) return 'conflict';
      if (t) merged.set(path, t);
      else merged.delete(path);
    }
    return merged;
  }

  /** Files with text changes applied (null deletes). */
  withChanges(files: Files, changes: Record<string, string | null>): Files {
    const next = new Map(files);
    for (const [path, content] of Object.entries(changes)) {
      if (content === null) next.delete(path);
      else next.set(path, { mode: '100644', type: 'blob', sha: this.blob(content) });
    }
    return next;
  }

  /** Commits on top of a branch (created from `from` when missing) and moves it. */
  commitOn(branch: string, message: string, changes: Record<string, string | null>, author: Person, login?: string, from?: string): string {
    const head = this.refs.get(`refs/heads/${branch}`) ?? (from === undefined ? undefined : this.resolve(from));
    const files = this.withChanges(head ? this.filesOf(head) : new Map(), changes);
    const sha = this.commit({ tree: this.tree(files), parents: head ? [head] : [], message, author, committer: author, ...(login ? { login } : {}) });
    this.refs.set(`refs/heads/${branch}`, sha);
    return sha;
  }

  /**
   * One level of a tree for the trees API: files, and directories as sub-trees (stored, so their sha
   * can be asked for); all levels when `recursive`.
   */
  listTree(treeSha: string, recursive: boolean): { path: string; mode: string; type: string; sha: string; size?: number }[] {
    const files = this.trees.get(treeSha) ?? new Map<string, TreeEntry>();
    const out: { path: string; mode: string; type: string; sha: string; size?: number }[] = [];
    const dirs = new Set<string>();
    for (const [path, entry] of files) {
      const parts = path.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
      if (recursive || parts.length === 1) out.push({ path, mode: entry.mode, type: entry.type, sha: entry.sha, ...(entry.type === 'blob' ? { size: this.blobs.get(entry.sha)?.length ?? 0 } : {}) });
    }
    for (const dir of dirs) {
      if (!recursive && dir.includes('/')) continue;
      const sub: Files = new Map([...files].filter(([p]) => p.startsWith(`${dir}/`)).map(([p, e]) => [p.slice(dir.length + 1), e]));
      out.push({ path: dir, mode: '040000', type: 'tree', sha: this.tree(sub) });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : 1));
  }
}
