/**
 * The fake GitLab's repository endpoints (relative to /api/v4/projects/:id): commits, compare, tags,
 * branches, files and releases, with GitLab's status codes and messages for the failures that matter.
 */
import type { ReleaseSchema, RepositoryCompareSchema } from '@gitbeaker/core';
import { titleOf } from './gitlab-repo.js';
import type { FakeResponse } from './http-fake.js';
import { fail, ok, paginate, route, sortBy, text, type Ctx, type Route } from './gitlab-router.js';
import { branchSchema, commitSchema, expandedCommitSchema, fileSchema, pipelineSchema, releaseSchema, tagSchema, type FakeRelease } from './gitlab-schema.js';
import type { FakeGitLabState } from './gitlab-state.js';

const CHERRY_PICK_FAILED = 'Sorry, we cannot cherry-pick this commit automatically. This commit may already have been cherry-picked, or a more recent commit may have updated some of its content.';
const REVERT_FAILED = 'Sorry, we cannot revert this commit automatically. This commit may already have been reverted, or a more recent commit may have updated some of its content.';

function showCommit(ctx: Ctx) {
  const { state } = ctx;
  const sha = state.repo.resolve(ctx.params.sha as string);
  if (!sha) return fail(404, '404 Commit Not Found');
  const last = state.latestPipelineFor(sha);
  return ok(expandedCommitSchema(state.site, state.repo.get(sha), last && pipelineSchema(state.site, last)));
}

function listCommits(ctx: Ctx) {
  const { state } = ctx;
  const ref = ctx.query.get('ref_name') ?? state.defaultBranch;
  const sha = state.repo.resolve(ref);
  if (!sha) return fail(404, '404 Reference Not Found');
  return paginate(ctx, state.repo.history(sha, ctx.query.get('first_parent') === 'true').map((c) => commitSchema(state.site, c)));
}

/** POST /repository/commits with `actions` (create / update / delete). */
function createCommit(ctx: Ctx) {
  const { state } = ctx;
  const branch = text(ctx, 'branch') ?? '';
  const head = state.repo.branches.get(branch);
  if (!head) return fail(400, 'You can only create or edit files when you are on a branch');
  const files = new Map(state.repo.get(head).files);
  for (const action of (ctx.input.actions ?? []) as { action: string; file_path: string; content?: string }[]) {
    const exists = files.has(action.file_path);
    if (action.action === 'create' && exists) return fail(400, 'A file with this name already exists');
    if ((action.action === 'update' || action.action === 'delete') && !exists) return fail(400, "A file with this name doesn't exist");
    if (action.action === 'delete') files.delete(action.file_path);
    else files.set(action.file_path, action.content ?? '');
  }
  const sha = state.repo.addCommit([head], text(ctx, 'commit_message') ?? '', files, text(ctx, 'author_name') ?? 'trainyard-bot');
  state.repo.branches.set(branch, sha);
  return ok(expandedCommitSchema(state.site, state.repo.get(sha), undefined), 201);
}

/** Cherry-pick and revert: one commit's change applied onto a branch, or `error_code` conflict / empty. */
function pickOnto(ctx: Ctx, reverse: boolean) {
  const { state } = ctx;
  const sha = state.repo.resolve(ctx.params.sha as string);
  if (!sha) return fail(404, '404 Commit Not Found');
  const branch = text(ctx, 'branch') ?? '';
  const head = state.repo.branches.get(branch);
  if (!head) return fail(404, '404 Branch Not Found');
  const applied = state.repo.cherryPick(sha, head, reverse);
  if (applied === 'conflict' || applied === 'empty') {
    return { status: 400, body: { message: reverse ? REVERT_FAILED : CHERRY_PICK_FAILED, error_code: applied } };
  }
  const original = state.repo.get(sha);
  const message = reverse ? `Revert "${titleOf(original.message)}"\n\nThis reverts commit ${sha}` : `${original.message}\n\n(cherry picked from commit ${sha})`;
  const picked = state.repo.addCommit([head], message, applied.files, original.authorName);
  state.repo.branches.set(branch, picked);
  return ok(commitSchema(state.site, state.repo.get(picked)), 201);
}

/** GET /repository/compare: every commit of from..to at once, oldest first; no pagination. */
function compare(ctx: Ctx) {
  const { state } = ctx;
  const from = state.repo.resolve(ctx.query.get('from') ?? '');
  const to = state.repo.resolve(ctx.query.get('to') ?? '');
  if (!from || !to) return fail(404, '404 Ref Not Found');
  const commits = state.repo.between(from, to).map((c) => commitSchema(state.site, c));
  const body: RepositoryCompareSchema = { commit: commits[commits.length - 1] ?? commitSchema(state.site, state.repo.get(to)), commits, diffs: [], compare_timeout: false, compare_same_ref: from === to };
  return ok(body);
}

/**
 * GET /repository/merge_base?refs[]=a&refs[]=b: the commit both reach, as GitLab answers it: 400
 * "Provide at least 2 refs", 400 "Could not find ref(s): …" for unknown refs, 404 "Merge Base Not
 * Found" when they share no history.
 */
function mergeBase(ctx: Ctx) {
  const { state } = ctx;
  const refs = [...ctx.query.getAll('refs[]'), ...ctx.query.getAll('refs')].flatMap((r) => r.split(','));
  if (refs.length < 2) return fail(400, 'Provide at least 2 refs');
  const unknown = refs.filter((r) => !state.repo.resolve(r));
  if (unknown.length > 0) return fail(400, `Could not find ${unknown.length === 1 ? 'ref' : 'refs'}: ${unknown.join(', ')}`);
  const [first, ...rest] = refs.map((r) => state.repo.resolve(r) as string);
  let base: string | undefined = first;
  for (const sha of rest) base = base && state.repo.mergeBase(base, sha);
  return base ? ok(commitSchema(state.site, state.repo.get(base))) : fail(404, '404 Merge Base Not Found');
}

function tagAnswer(state: FakeGitLabState, name: string) {
  const tag = state.repo.tags.get(name);
  if (!tag) return undefined;
  const release = state.releases.get(name);
  return tagSchema(state.site, tag, state.repo.get(tag.sha), release && releaseOf(state, release));
}

/** `search`: "^term" begins with, "term$" ends with, else contains. */
function searchMatches(name: string, search: string | null): boolean {
  if (!search) return true;
  if (search.startsWith('^')) return name.startsWith(search.slice(1));
  if (search.endsWith('$')) return name.endsWith(search.slice(0, -1));
  return name.includes(search);
}

function createTag(ctx: Ctx) {
  const { state } = ctx;
  const name = text(ctx, 'tag_name') ?? '';
  const ref = text(ctx, 'ref') ?? '';
  if (!name || /[\s~^:?*[\\]|\.\./.test(name)) return fail(400, 'Tag name invalid');
  if (state.repo.tags.has(name)) return fail(400, `Tag ${name} already exists`);
  const sha = state.repo.resolve(ref);
  if (!sha) return fail(400, `Target ${ref} is invalid`);
  state.repo.tags.set(name, { name, sha, message: text(ctx, 'message') ?? '', createdAt: state.now() });
  return ok(tagAnswer(state, name), 201);
}

function createBranch(ctx: Ctx) {
  const { state } = ctx;
  const name = text(ctx, 'branch') ?? '';
  const ref = text(ctx, 'ref') ?? '';
  if (state.repo.branches.has(name)) return fail(400, 'Branch already exists');
  const sha = state.repo.resolve(ref);
  if (!sha) return fail(400, `Invalid reference name: ${ref}`);
  state.repo.branches.set(name, sha);
  return ok(branchSchema(state.site, name, state.repo.get(sha), false), 201);
}

type FileAt = { missing: FakeResponse } | { missing?: undefined; sha: string; ref: string; path: string; content: string; last: string };

function readFile(ctx: Ctx): FileAt {
  const { state } = ctx;
  const ref = ctx.query.get('ref') ?? '';
  const sha = state.repo.resolve(ref);
  if (!sha) return { missing: fail(404, '404 Commit Not Found') };
  const path = ctx.params.path as string;
  const content = state.repo.get(sha).files.get(path);
  if (content === undefined) return { missing: fail(404, '404 File Not Found') };
  // last_commit_id: the newest commit that gave the file this content.
  const last = state.repo.history(sha, false).find((c) => c.files.get(path) === content && (c.parents[0] === undefined || state.repo.get(c.parents[0]).files.get(path) !== content));
  return { sha, ref, path, content, last: last?.sha ?? sha };
}

function releaseOf(state: FakeGitLabState, release: FakeRelease): ReleaseSchema {
  return releaseSchema(state.site, release, state.repo.get(state.releaseCommit(release)), state.now());
}

function saveRelease(ctx: Ctx, existing: FakeRelease | undefined) {
  const { state } = ctx;
  const tag = existing?.tag ?? text(ctx, 'tag_name') ?? '';
  const at = state.now();
  const release: FakeRelease = {
    tag,
    name: text(ctx, 'name') ?? existing?.name ?? tag,
    description: text(ctx, 'description') ?? existing?.description ?? '',
    releasedAt: text(ctx, 'released_at') ?? existing?.releasedAt ?? at,
    createdAt: existing?.createdAt ?? at,
  };
  state.releases.set(tag, release);
  return ok(releaseOf(state, release), existing ? 200 : 201);
}

function releasesByDate(state: FakeGitLabState, orderBy: string | null, sort: string | null): FakeRelease[] {
  return sortBy([...state.releases.values()], (r) => (orderBy === 'created_at' ? r.createdAt : r.releasedAt), sort);
}

export const repositoryRoutes: Route[] = [
  route('GET', 'repository/commits', listCommits),
  route('POST', 'repository/commits', createCommit),
  route('GET', 'repository/commits/:sha', showCommit),
  route('POST', 'repository/commits/:sha/cherry_pick', (ctx) => pickOnto(ctx, false)),
  route('POST', 'repository/commits/:sha/revert', (ctx) => pickOnto(ctx, true)),
  route('GET', 'repository/compare', compare),
  route('GET', 'repository/merge_base', mergeBase),
  route('GET', 'repository/tags', (ctx) => {
    const names = [...ctx.state.repo.tags.values()].filter((t) => searchMatches(t.name, ctx.query.get('search')));
    return paginate(ctx, sortBy(names, (t) => t.createdAt, ctx.query.get('sort')).map((t) => tagAnswer(ctx.state, t.name)));
  }),
  route('POST', 'repository/tags', createTag),
  route('GET', 'repository/tags/:name', (ctx) => {
    const tag = tagAnswer(ctx.state, ctx.params.name as string);
    return tag ? ok(tag) : fail(404, '404 Tag Not Found');
  }),
  route('POST', 'repository/branches', createBranch),
  route('GET', 'repository/branches/:name', (ctx) => {
    const { state } = ctx;
    const name = ctx.params.name as string;
    const sha = state.repo.branches.get(name);
    return sha ? ok(branchSchema(state.site, name, state.repo.get(sha), name === state.defaultBranch)) : fail(404, '404 Branch Not Found');
  }),
  route('DELETE', 'repository/branches/:name', (ctx) => (ctx.state.repo.branches.delete(ctx.params.name as string) ? { status: 204 } : fail(404, '404 Branch Not Found'))),
  route('GET', 'repository/files/:path', (ctx) => {
    const file = readFile(ctx);
    if (file.missing) return file.missing;
    return ok(fileSchema(file.path, file.content, file.ref, ctx.state.repo.get(file.sha), file.last));
  }),
  route('GET', 'repository/files/:path/raw', (ctx) => {
    const file = readFile(ctx);
    if (file.missing) return file.missing;
    return { status: 200, body: file.content, headers: { 'content-type': 'text/plain; charset=utf-8' } };
  }),
  route('GET', 'releases', (ctx) => paginate(ctx, releasesByDate(ctx.state, ctx.query.get('order_by'), ctx.query.get('sort')).map((r) => releaseOf(ctx.state, r)))),
  route('GET', 'releases/permalink/latest', (ctx) => {
    const now = ctx.state.now();
    const latest = releasesByDate(ctx.state, 'released_at', 'desc').find((r) => r.releasedAt <= now);
    return latest ? ok(releaseOf(ctx.state, latest)) : fail(404, '404 Not Found');
  }),
  route('GET', 'releases/:tag', (ctx) => {
    const release = ctx.state.releases.get(ctx.params.tag as string);
    return release ? ok(releaseOf(ctx.state, release)) : fail(404, '404 Not Found');
  }),
  route('POST', 'releases', (ctx) => {
    const tag = text(ctx, 'tag_name') ?? '';
    if (ctx.state.releases.has(tag)) return fail(409, 'Release already exists');
    if (!ctx.state.repo.tags.has(tag)) return fail(400, 'Ref is not specified');
    return saveRelease(ctx, undefined);
  }),
  route('PUT', 'releases/:tag', (ctx) => {
    const existing = ctx.state.releases.get(ctx.params.tag as string);
    return existing ? saveRelease(ctx, existing) : fail(404, '404 Not Found');
  }),
];
