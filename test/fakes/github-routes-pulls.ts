/**
 * The fake GitHub's collaboration routes: pull requests (list, open, update, merge), the issue side of
 * a pull request (labels, comments), releases, and CI state (check runs, combined status).
 */
import type { components } from '@octokit/openapi-types';
import type { FakeRequest, FakeResponse } from './http-fake.js';
import { iso } from './github-git.js';
import { bodyOf, route, type Route } from './github-routes-git.js';
import { checkRun, fail, issueComment, label, notFound, ok, paged, pull, pullSimple, release, repository, type Site } from './github-shapes.js';
import type { FakePull, FakeRelease } from './github-state.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const validation = (message: string) => fail(422, 'Validation Failed', [{ resource: 'PullRequest', code: 'custom', message }]);

function listPulls(req: FakeRequest, site: Site): FakeResponse {
  const state = req.query.get('state') ?? 'open';
  const head = req.query.get('head');
  const base = req.query.get('base');
  const sort = req.query.get('sort') ?? 'created';
  const direction = req.query.get('direction') ?? (sort === 'created' ? 'desc' : 'asc');
  const key = (p: FakePull) => (sort === 'updated' ? p.updatedAt : p.createdAt);
  const pulls = [...site.state.pulls.values()]
    .filter((p) => state === 'all' || p.state === state)
    .filter((p) => !head || `${site.owner}:${p.head}` === head)
    .filter((p) => !base || p.base === base)
    .sort((a, b) => (key(a) === key(b) ? a.number - b.number : key(a) < key(b) ? -1 : 1) * (direction === 'desc' ? -1 : 1));
  const page = paged(req, site, pulls);
  return ok(page.items.map((p) => pullSimple(site, p)), 200, page.headers);
}

function openPull(req: FakeRequest, site: Site): FakeResponse {
  const b = bodyOf(req);
  const [title, head, base] = [str(b.title), str(b.head), str(b.base)];
  if (!title || !head || !base) return fail(422, 'Validation Failed', [{ resource: 'PullRequest', code: 'missing_field', field: !title ? 'title' : !head ? 'head' : 'base' }]);
  const branch = head.replace(new RegExp(`^${site.owner}:`), '');
  const headSha = site.state.git.refs.get(`refs/heads/${branch}`);
  const baseSha = site.state.git.refs.get(`refs/heads/${base}`);
  if (!headSha) return fail(422, 'Validation Failed', [{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
  if (!baseSha) return fail(422, 'Validation Failed', [{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
  if ([...site.state.pulls.values()].some((p) => p.state === 'open' && p.head === branch && p.base === base)) return validation(`A pull request already exists for ${site.owner}:${branch}.`);
  if (site.state.git.range(baseSha, headSha).length === 0) return validation(`No commits between ${base} and ${branch}`);
  const now = iso();
  const pr: FakePull = { number: site.state.nextIssueNumber(), id: site.state.nextId(), title, body: str(b.body) ?? null, state: 'open', head: branch, base, headSha, baseSha, user: site.owner, createdAt: now, updatedAt: now, closedAt: null, mergedAt: null, mergeCommit: null };
  site.state.pulls.set(pr.number, pr);
  return ok(pull(site, pr, true), 201);
}

function updatePull(req: FakeRequest, site: Site, pr: FakePull): FakeResponse {
  const b = bodyOf(req);
  if (str(b.title) !== undefined) pr.title = str(b.title) as string;
  if (b.body !== undefined) pr.body = str(b.body) ?? null;
  if (b.state === 'closed' && pr.state === 'open') Object.assign(pr, { state: 'closed', closedAt: iso(), headSha: site.state.headOf(pr) });
  if (b.state === 'open' && pr.state === 'closed' && !pr.mergedAt) Object.assign(pr, { state: 'open', closedAt: null });
  pr.updatedAt = iso();
  return ok(pull(site, pr, pr.state === 'open' ? site.state.mergeResult(pr) !== 'conflict' : null));
}

function mergePull(req: FakeRequest, site: Site, pr: FakePull): FakeResponse {
  const b = bodyOf(req);
  if (pr.state !== 'open') return fail(405, 'Pull Request is not mergeable');
  const sha = str(b.sha);
  if (sha && sha !== site.state.headOf(pr)) return fail(409, 'Head branch was modified. Review and try the merge again.');
  const merged = site.state.merge(pr, b.merge_method === 'squash' ? 'squash' : 'merge', site.owner);
  if (merged === 'conflict') return fail(405, 'Pull Request is not mergeable');
  return ok({ sha: merged, merged: true, message: 'Pull Request successfully merged' } satisfies components['schemas']['pull-request-merge-result']);
}

function withPull(handle: (req: FakeRequest, site: Site, pr: FakePull) => FakeResponse): Route['handle'] {
  return (req, [n = ''], site) => {
    const pr = site.state.pulls.get(Number(n));
    return pr ? handle(req, site, pr) : notFound();
  };
}

/** The explicit latest release if it still qualifies, else the newest published non-pre-release. */
function latest(site: Site): FakeRelease | undefined {
  const eligible = (r: FakeRelease) => !r.draft && !r.prerelease;
  const explicit = site.state.releases.find((r) => r.id === site.state.latestRelease);
  if (explicit && eligible(explicit)) return explicit;
  return site.state.releases.filter((r) => eligible(r) && !r.notLatest).sort((a, b) => (a.createdAt === b.createdAt ? b.id - a.id : a.createdAt < b.createdAt ? 1 : -1))[0];
}

function applyRelease(site: Site, r: FakeRelease, b: Record<string, unknown>): void {
  if (b.name !== undefined) r.name = str(b.name) ?? null;
  if (b.body !== undefined) r.body = str(b.body) ?? null;
  if (typeof b.prerelease === 'boolean') r.prerelease = b.prerelease;
  if (typeof b.draft === 'boolean') r.draft = b.draft;
  const makeLatest = str(b.make_latest);
  if (makeLatest === 'true' && !r.draft && !r.prerelease) {
    site.state.latestRelease = r.id;
    r.notLatest = false;
  }
  if (makeLatest === 'false') {
    r.notLatest = true;
    if (site.state.latestRelease === r.id) site.state.latestRelease = undefined;
  }
}

function createRelease(req: FakeRequest, site: Site): FakeResponse {
  const b = bodyOf(req);
  const tag = str(b.tag_name);
  if (!tag) return fail(422, 'Validation Failed', [{ resource: 'Release', code: 'missing_field', field: 'tag_name' }]);
  if (site.state.releases.some((r) => r.tag === tag)) return fail(422, 'Validation Failed', [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }]);
  const target = str(b.target_commitish) ?? site.state.defaultBranch;
  // GitHub creates a missing tag (lightweight) at the target: callers must check the tag first.
  if (!site.state.git.refs.has(`refs/tags/${tag}`)) {
    const sha = site.state.git.resolve(target);
    if (!sha) return fail(422, 'Validation Failed', [{ resource: 'Release', code: 'invalid', field: 'target_commitish' }]);
    site.state.git.refs.set(`refs/tags/${tag}`, sha);
  }
  const r: FakeRelease = { id: site.state.nextId(), tag, name: null, body: null, prerelease: false, draft: false, createdAt: iso(), notLatest: false, targetCommitish: target };
  site.state.releases.push(r);
  applyRelease(site, r, { make_latest: 'true', ...b });
  return ok(release(site, r), 201);
}

function combinedStatus(site: Site, sha: string): FakeResponse {
  const latestByContext = new Map<string, (typeof site.state.statuses)[number]>();
  for (const s of site.state.statuses.filter((x) => x.sha === sha)) latestByContext.set(s.context, s);
  const statuses = [...latestByContext.values()];
  const states = statuses.map((s) => s.state);
  // GitHub says 'pending' when there are no statuses at all.
  const state = states.some((s) => s === 'failure' || s === 'error') ? 'failure' : states.every((s) => s === 'success') && states.length > 0 ? 'success' : 'pending';
  const url = `${site.api}/repos/${site.owner}/${site.repo}/commits/${sha}/status`;
  return ok({
    state, sha, total_count: statuses.length, repository: repository(site), commit_url: `${site.api}/repos/${site.owner}/${site.repo}/commits/${sha}`, url,
    statuses: statuses.map((s) => ({ description: null, id: s.id, node_id: `ST_${s.id}`, state: s.state, context: s.context, target_url: null, avatar_url: null, url, created_at: s.createdAt, updated_at: s.createdAt })),
  } satisfies components['schemas']['combined-commit-status']);
}

export const pullRoutes: Route[] = [
  route('GET', /^\/pulls$/, (req, _p, site) => listPulls(req, site)),
  route('POST', /^\/pulls$/, (req, _p, site) => openPull(req, site)),
  route('GET', /^\/pulls\/(\d+)$/, withPull((_req, site, pr) => ok(pull(site, pr, pr.state === 'open' ? site.state.mergeResult(pr) !== 'conflict' : null)))),
  route('PATCH', /^\/pulls\/(\d+)$/, withPull(updatePull)),
  route('PUT', /^\/pulls\/(\d+)\/merge$/, withPull(mergePull)),
  route('POST', /^\/issues\/(\d+)\/labels$/, (req, [n = ''], site) => {
    if (!site.state.pulls.has(Number(n))) return notFound();
    const labels = (bodyOf(req).labels ?? []) as unknown[];
    return ok(site.state.addLabels(Number(n), labels.map(String)).map((name) => label(site, name)));
  }),
  route('GET', /^\/issues\/(\d+)\/comments$/, (req, [n = ''], site) => {
    if (!site.state.pulls.has(Number(n))) return notFound();
    const page = paged(req, site, site.state.comments.get(Number(n)) ?? []);
    return ok(page.items.map((c) => issueComment(site, Number(n), c)), 200, page.headers);
  }),
  route('POST', /^\/issues\/(\d+)\/comments$/, (req, [n = ''], site) => {
    const body = str(bodyOf(req).body);
    if (!site.state.pulls.has(Number(n))) return notFound();
    if (!body) return fail(422, 'Validation Failed', [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }]);
    const c = { id: site.state.nextId(), body, user: site.owner, createdAt: iso() };
    site.state.comments.set(Number(n), [...(site.state.comments.get(Number(n)) ?? []), c]);
    return ok(issueComment(site, Number(n), c), 201);
  }),
  route('POST', /^\/releases$/, (req, _p, site) => createRelease(req, site)),
  route('GET', /^\/releases\/latest$/, (_req, _p, site) => {
    const r = latest(site);
    return r ? ok(release(site, r)) : notFound();
  }),
  route('GET', /^\/releases\/tags\/(.+)$/, (_req, [tag = ''], site) => {
    const r = site.state.releases.find((x) => x.tag === tag && !x.draft);
    return r ? ok(release(site, r)) : notFound();
  }),
  route('PATCH', /^\/releases\/(\d+)$/, (req, [id = ''], site) => {
    const r = site.state.releases.find((x) => x.id === Number(id));
    if (!r) return notFound();
    applyRelease(site, r, bodyOf(req));
    return ok(release(site, r));
  }),
  route('GET', /^\/commits\/([^/]+)\/check-runs$/, (req, [ref = ''], site) => {
    const sha = site.state.git.resolve(ref);
    if (!sha) return fail(422, `No commit found for SHA: ${ref}`);
    // filter=latest (the default): the newest run of each name.
    const byName = new Map<string, (typeof site.state.checkRuns)[number]>();
    for (const r of site.state.checkRuns.filter((x) => x.sha === sha)) byName.set(r.name, r);
    const runs = req.query.get('filter') === 'all' ? site.state.checkRuns.filter((x) => x.sha === sha) : [...byName.values()];
    const page = paged(req, site, runs);
    return ok({ total_count: runs.length, check_runs: page.items.map((r) => checkRun(site, r)) }, 200, page.headers);
  }),
  route('GET', /^\/commits\/([^/]+)\/status$/, (_req, [ref = ''], site) => {
    const sha = site.state.git.resolve(ref);
    return sha ? combinedStatus(site, sha) : fail(422, `No commit found for SHA: ${ref}`);
  }),
];
