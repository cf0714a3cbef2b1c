/**
 * The fake GitHub's repository routes for git content: commits, compare, refs, tag objects, trees,
 * git commits, blobs and the contents API. Paths are relative to /repos/{owner}/{repo}; captured
 * parameters arrive decoded (Octokit sends `/` in refs and paths as %2F, GitHub accepts both).
 */
import type { FakeRequest, FakeResponse } from './http-fake.js';
import { iso, person, type FakeCommit, type Files, type TreeEntry } from './github-git.js';
import { commit, fail, gitCommit, gitRef, gitTag, notFound, ok, paged, repository, type Site } from './github-shapes.js';

export interface Route {
  method: string;
  pattern: RegExp;
  handle: (req: FakeRequest, params: string[], site: Site) => FakeResponse;
}

export const route = (method: string, pattern: RegExp, handle: Route['handle']): Route => ({ method, pattern, handle });

type Body = Record<string, unknown>;
export const bodyOf = (req: FakeRequest): Body => (req.body && typeof req.body === 'object' ? (req.body as Body) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const noCommit = (ref: string) => fail(422, `No commit found for SHA: ${ref}`);

function commitWithFiles(site: Site, req: FakeRequest, sha: string): FakeResponse {
  const c = site.state.git.commits.get(sha);
  if (!c) return noCommit(sha);
  const before = c.parents[0] ? site.state.git.filesOf(c.parents[0]) : new Map<string, TreeEntry>();
  const after = site.state.git.filesOf(sha);
  const files = [...new Set([...before.keys(), ...after.keys()])]
    .filter((p) => before.get(p)?.sha !== after.get(p)?.sha)
    .map((p) => ({ sha: after.get(p)?.sha ?? null, filename: p, status: !before.has(p) ? ('added' as const) : !after.has(p) ? ('removed' as const) : ('modified' as const), additions: 1, deletions: 1, changes: 2, blob_url: '', raw_url: '', contents_url: '' }));
  const page = paged(req, site, files);
  return ok({ ...commit(site, c), files: page.items, stats: { additions: files.length, deletions: files.length, total: 2 * files.length } }, 200, page.headers);
}

function contentAt(site: Site, req: FakeRequest, path: string): FakeResponse {
  const ref = req.query.get('ref') ?? site.state.defaultBranch;
  const sha = site.state.git.resolve(ref);
  if (!sha) return fail(404, `No commit found for the ref ${ref}`);
  const files = site.state.git.filesOf(sha);
  const entry = files.get(path);
  const base = `${site.api}/repos/${site.owner}/${site.repo}`;
  const describe = (p: string, e: { sha: string; type: string }, size: number) => ({
    name: p.split('/').at(-1) ?? p, path: p, sha: e.sha, size, url: `${base}/contents/${p}?ref=${encodeURIComponent(ref)}`, git_url: `${base}/git/${e.type === 'dir' ? 'trees' : 'blobs'}/${e.sha}`,
    html_url: `${site.web}/${site.owner}/${site.repo}/blob/${ref}/${p}`, download_url: e.type === 'file' ? `${site.web}/raw/${p}` : null,
    _links: { self: `${base}/contents/${p}?ref=${encodeURIComponent(ref)}`, git: `${base}/git/blobs/${e.sha}`, html: `${site.web}/${site.owner}/${site.repo}/blob/${ref}/${p}` },
  });
  if (entry) {
    const data = site.state.git.blobs.get(entry.sha) ?? Buffer.alloc(0);
    // GitHub wraps base64 at 60 characters, and leaves files over 1 MB to the blob API.
    const large = data.length > 1024 * 1024;
    const content = large ? '' : (data.toString('base64').match(/.{1,60}/g) ?? []).join('\n');
    return ok({ type: 'file' as const, encoding: large ? 'none' : 'base64', content, ...describe(path, { sha: entry.sha, type: 'file' }, data.length) });
  }
  const prefix = path ? `${path}/` : '';
  const children = new Map<string, { sha: string; type: string }>();
  for (const [p, e] of files) {
    if (!p.startsWith(prefix)) continue;
    const [name = '', ...rest] = p.slice(prefix.length).split('/');
    children.set(name, rest.length > 0 ? { sha: 'dir', type: 'dir' } : { sha: e.sha, type: 'file' });
  }
  if (children.size === 0) return notFound();
  return ok([...children].map(([name, e]) => ({ type: e.type as 'dir' | 'file', ...describe(`${prefix}${name}`, e, 0) })));
}

function putContent(site: Site, req: FakeRequest, path: string): FakeResponse {
  const b = bodyOf(req);
  const branch = str(b.branch) ?? site.state.defaultBranch;
  const head = site.state.git.refs.get(`refs/heads/${branch}`);
  if (!head) return fail(404, `Branch ${branch} not found`);
  const message = str(b.message);
  const content = str(b.content);
  if (!message || content === undefined) return fail(422, 'Invalid request.\n\n"message" and "content" are required.');
  const existing = site.state.git.filesOf(head).get(path);
  if (existing && str(b.sha) === undefined) return fail(422, 'Invalid request.\n\n"sha" wasn\'t supplied.');
  if (existing && str(b.sha) !== existing.sha) return fail(409, `${path} does not match ${str(b.sha) ?? ''}`);
  const files = new Map(site.state.git.filesOf(head));
  files.set(path, { mode: '100644', type: 'blob', sha: site.state.git.blob(Buffer.from(content, 'base64')) });
  const who = person(site.owner);
  const sha = site.state.git.commit({ tree: site.state.git.tree(files), parents: [head], message, author: who, committer: who, login: site.owner });
  site.state.git.refs.set(`refs/heads/${branch}`, sha);
  const c = gitCommit(site, site.state.git.commits.get(sha) as FakeCommit);
  const blob = files.get(path) as TreeEntry;
  return ok({ content: { name: path.split('/').at(-1) ?? path, path, sha: blob.sha, type: 'file' }, commit: c }, existing ? 200 : 201);
}

function createTree(site: Site, req: FakeRequest): FakeResponse {
  const b = bodyOf(req);
  const baseTree = str(b.base_tree);
  if (baseTree && !site.state.git.trees.has(baseTree)) return fail(422, 'base_tree is not a valid tree oid');
  const files: Files = new Map(baseTree ? site.state.git.trees.get(baseTree) : undefined);
  for (const raw of Array.isArray(b.tree) ? (b.tree as Body[]) : []) {
    const path = str(raw.path) ?? '';
    if (raw.sha === null) {
      files.delete(path);
      for (const p of [...files.keys()]) if (p.startsWith(`${path}/`)) files.delete(p);
    } else if (str(raw.content) !== undefined) {
      files.set(path, { mode: str(raw.mode) ?? '100644', type: 'blob', sha: site.state.git.blob(str(raw.content) ?? '') });
    } else {
      const sha = str(raw.sha) ?? '';
      if (raw.type === 'blob' && !site.state.git.blobs.has(sha)) return fail(422, `tree.sha ${sha} is not a valid blob`);
      files.set(path, { mode: str(raw.mode) ?? '100644', type: raw.type === 'commit' ? 'commit' : 'blob', sha });
    }
  }
  const sha = site.state.git.tree(files);
  return ok({ sha, url: `${site.api}/repos/${site.owner}/${site.repo}/git/trees/${sha}`, truncated: false, tree: site.state.git.listTree(sha, false) }, 201);
}

function createCommit(site: Site, req: FakeRequest): FakeResponse {
  const b = bodyOf(req);
  const tree = str(b.tree) ?? '';
  if (!site.state.git.trees.has(tree)) return fail(422, 'Tree SHA does not exist');
  const parents = Array.isArray(b.parents) ? (b.parents as unknown[]).map(String) : [];
  if (parents.some((p) => !site.state.git.commits.has(p))) return fail(422, 'Parent SHA does not exist or is not a commit object');
  const given = (b.author ?? undefined) as { name?: string; email?: string; date?: string } | undefined;
  const author = given?.name && given.email ? { name: given.name, email: given.email, date: given.date ?? iso() } : person(site.owner);
  const sha = site.state.git.commit({ tree, parents, message: str(b.message) ?? '', author, committer: person(site.owner) });
  return ok(gitCommit(site, site.state.git.commits.get(sha) as FakeCommit), 201);
}

export const gitRoutes: Route[] = [
  route('GET', /^$/, (_req, _p, site) => ok(repository(site))),
  route('GET', /^\/commits$/, (req, _p, site) => {
    const ref = req.query.get('sha') ?? site.state.defaultBranch;
    const sha = site.state.git.resolve(ref);
    if (!sha) return notFound();
    const page = paged(req, site, site.state.git.log(sha));
    return ok(page.items.map((c) => commit(site, c)), 200, page.headers);
  }),
  route('GET', /^\/commits\/([^/]+)$/, (req, [ref = ''], site) => {
    const sha = site.state.git.resolve(ref);
    return sha ? commitWithFiles(site, req, sha) : noCommit(ref);
  }),
  route('GET', /^\/compare\/(.+)\.\.\.(.+)$/, (req, [base = '', head = ''], site) => {
    const [b, h] = [site.state.git.resolve(base), site.state.git.resolve(head)];
    if (!b || !h) return notFound();
    const mergeBase = site.state.git.mergeBase(b, h);
    // GitHub cannot compare unrelated histories.
    if (!mergeBase) return fail(404, `No common ancestor between ${base} and ${head}.`);
    const ahead = site.state.git.range(b, h);
    const behind = site.state.git.range(h, b);
    const status = ahead.length === 0 && behind.length === 0 ? 'identical' : behind.length === 0 ? 'ahead' : ahead.length === 0 ? 'behind' : 'diverged';
    // Without paging parameters GitHub lists at most 250 commits: the newest ones.
    const paging = req.query.has('per_page') || req.query.has('page');
    const page = paging ? paged(req, site, ahead) : { items: ahead.slice(-250), headers: {} };
    const git = site.state.git;
    const url = `${site.api}/repos/${site.owner}/${site.repo}/compare/${base}...${head}`;
    return ok({
      url, html_url: `${site.web}/${site.owner}/${site.repo}/compare/${base}...${head}`, permalink_url: url, diff_url: `${url}.diff`, patch_url: `${url}.patch`,
      base_commit: commit(site, git.commits.get(b) as FakeCommit), merge_base_commit: commit(site, git.commits.get(mergeBase) as FakeCommit),
      status, ahead_by: ahead.length, behind_by: behind.length, total_commits: ahead.length, commits: page.items.map((c) => commit(site, c)), files: [],
    }, 200, page.headers);
  }),
  route('GET', /^\/git\/ref\/(.+)$/, (_req, [ref = ''], site) => {
    const sha = site.state.git.refs.get(`refs/${ref}`);
    return sha ? ok(gitRef(site, `refs/${ref}`, sha)) : notFound();
  }),
  route('GET', /^\/git\/matching-refs\/(.*)$/, (req, [prefix = ''], site) => {
    const refs = [...site.state.git.refs].filter(([name]) => name.startsWith(`refs/${prefix}`)).sort(([a], [b]) => (a < b ? -1 : 1));
    const page = paged(req, site, refs);
    return ok(page.items.map(([name, sha]) => gitRef(site, name, sha)), 200, page.headers);
  }),
  route('POST', /^\/git\/refs$/, (req, _p, site) => {
    const b = bodyOf(req);
    const ref = str(b.ref) ?? '';
    const sha = str(b.sha) ?? '';
    if (!/^refs\/[^/]+\/.+/.test(ref)) return fail(422, 'Reference name is invalid');
    if (!site.state.git.commits.has(sha) && !site.state.git.tagObjects.has(sha)) return fail(422, 'Object does not exist');
    if (site.state.git.refs.has(ref)) return fail(422, 'Reference already exists');
    site.state.git.refs.set(ref, sha);
    return ok(gitRef(site, ref, sha), 201);
  }),
  route('POST', /^\/git\/tags$/, (req, _p, site) => {
    const b = bodyOf(req);
    const object = str(b.object) ?? '';
    const type = b.type === 'tag' ? 'tag' : 'commit';
    if (!(type === 'tag' ? site.state.git.tagObjects.has(object) : site.state.git.commits.has(object))) return fail(422, 'Object does not exist');
    const t = site.state.git.tag({ tag: str(b.tag) ?? '', message: str(b.message) ?? '', object, type, tagger: person(site.owner) });
    return ok(gitTag(site, t), 201);
  }),
  route('GET', /^\/git\/tags\/([0-9a-f]{40})$/, (_req, [sha = ''], site) => {
    const t = site.state.git.tagObjects.get(sha);
    return t ? ok(gitTag(site, t)) : notFound();
  }),
  route('GET', /^\/git\/commits\/([0-9a-f]{40})$/, (_req, [sha = ''], site) => {
    const c = site.state.git.commits.get(sha);
    return c ? ok(gitCommit(site, c)) : notFound();
  }),
  route('POST', /^\/git\/commits$/, (req, _p, site) => createCommit(site, req)),
  route('GET', /^\/git\/trees\/(.+)$/, (req, [ref = ''], site) => {
    // A tree sha, or anything naming a commit (GitHub takes refs here too).
    const tree = site.state.git.trees.has(ref) ? ref : site.state.git.commits.get(site.state.git.resolve(ref) ?? '')?.tree;
    if (!tree) return notFound();
    const recursive = ['1', 'true'].includes(req.query.get('recursive') ?? '');
    return ok({ sha: tree, url: `${site.api}/repos/${site.owner}/${site.repo}/git/trees/${tree}`, truncated: false, tree: site.state.git.listTree(tree, recursive) });
  }),
  route('POST', /^\/git\/trees$/, (req, _p, site) => createTree(site, req)),
  route('GET', /^\/git\/blobs\/([0-9a-f]{40})$/, (_req, [sha = ''], site) => {
    const data = site.state.git.blobs.get(sha);
    return data ? ok({ sha, node_id: `B_${sha.slice(0, 12)}`, size: data.length, url: `${site.api}/repos/${site.owner}/${site.repo}/git/blobs/${sha}`, content: data.toString('base64'), encoding: 'base64' }) : notFound();
  }),
  route('GET', /^\/contents\/?(.*)$/, (req, [path = ''], site) => contentAt(site, req, path)),
  route('PUT', /^\/contents\/(.+)$/, (req, [path = ''], site) => putContent(site, req, path)),
];
