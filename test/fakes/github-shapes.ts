/**
 * Answers of the fake GitHub, typed with the official REST description (`@octokit/openapi-types`):
 * each builder `satisfies` its schema, so a field GitHub guarantees cannot be forgotten here. Also the
 * answer helpers shared by the routes: GitHub's error bodies and its page/Link header scheme.
 */
import type { components } from '@octokit/openapi-types';
import type { FakeRequest, FakeResponse } from './http-fake.js';
import type { FakeCommit, FakeTagObject, Person } from './github-git.js';
import type { FakeCheckRun, FakeComment, FakeJob, FakePull, FakeRelease, FakeRun, FakeState } from './github-state.js';

type Schema<K extends keyof components['schemas']> = components['schemas'][K];

export interface Site {
  /** API root, e.g. http://127.0.0.1:port */
  api: string;
  /** Where html_url links point. */
  web: string;
  owner: string;
  repo: string;
  state: FakeState;
}

const DOCS = 'https://docs.github.com/rest';

// ── answers ─────────────────────────────────────────────────────────────────────────────────────

export function ok(body: unknown, status = 200, headers?: Record<string, string>): FakeResponse {
  return { status, body, ...(headers ? { headers } : {}) };
}

/** GitHub's error body: `{message, documentation_url, status}` (and `errors` for 422). */
export function fail(status: number, message: string, errors?: Schema<'validation-error'>['errors']): FakeResponse {
  const body = { message, documentation_url: DOCS, status: String(status), ...(errors ? { errors } : {}) };
  return { status, body: errors ? (body satisfies Schema<'validation-error'>) : (body satisfies Schema<'basic-error'>) };
}

export const notFound = () => fail(404, 'Not Found');

/**
 * One page of a list (`per_page` at most 100, default 30; `page` from 1) and GitHub's Link header:
 * `<url>; rel="prev", <url>; rel="next", <url>; rel="last", <url>; rel="first"`, only those that apply.
 */
export function paged<T>(req: FakeRequest, site: Site, items: T[]): { items: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(req.query.get('per_page') ?? 30) || 30));
  const page = Math.max(1, Number(req.query.get('page') ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number) => {
    const query = new URLSearchParams(req.query);
    query.set('page', String(n));
    return `<${site.api}${req.path}?${query.toString()}>`;
  };
  const rels: string[] = [];
  if (page > 1) rels.push(`${link(Math.min(page - 1, last))}; rel="prev"`);
  if (page < last) rels.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
  if (page > 1) rels.push(`${link(1)}; rel="first"`);
  return { items: items.slice((page - 1) * perPage, page * perPage), headers: rels.length > 0 ? { link: rels.join(', ') } : {} };
}

// ── objects ─────────────────────────────────────────────────────────────────────────────────────

export function user(site: Site, login: string) {
  const url = `${site.api}/users/${login}`;
  return {
    login, id: login.length * 1000 + login.charCodeAt(0), node_id: `U_${login}`, avatar_url: `${site.web}/${login}.png`, gravatar_id: '', url, html_url: `${site.web}/${login}`,
    followers_url: `${url}/followers`, following_url: `${url}/following{/other_user}`, gists_url: `${url}/gists{/gist_id}`, starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`, organizations_url: `${url}/orgs`, repos_url: `${url}/repos`, events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`, type: 'User', site_admin: false,
  } satisfies Schema<'simple-user'>;
}

export function repository(site: Site) {
  const url = `${site.api}/repos/${site.owner}/${site.repo}`;
  const html = `${site.web}/${site.owner}/${site.repo}`;
  const now = '2020-01-01T00:00:00Z';
  return {
    id: 4242, node_id: 'R_fake', name: site.repo, full_name: `${site.owner}/${site.repo}`, license: null, forks: 0, owner: user(site, site.owner), private: true, html_url: html,
    description: null, fork: false, url, archive_url: `${url}/{archive_format}{/ref}`, assignees_url: `${url}/assignees{/user}`, blobs_url: `${url}/git/blobs{/sha}`,
    branches_url: `${url}/branches{/branch}`, collaborators_url: `${url}/collaborators{/collaborator}`, comments_url: `${url}/comments{/number}`, commits_url: `${url}/commits{/sha}`,
    compare_url: `${url}/compare/{base}...{head}`, contents_url: `${url}/contents/{+path}`, contributors_url: `${url}/contributors`, deployments_url: `${url}/deployments`,
    downloads_url: `${url}/downloads`, events_url: `${url}/events`, forks_url: `${url}/forks`, git_commits_url: `${url}/git/commits{/sha}`, git_refs_url: `${url}/git/refs{/sha}`,
    git_tags_url: `${url}/git/tags{/sha}`, git_url: `git:${html}.git`, issue_comment_url: `${url}/issues/comments{/number}`, issue_events_url: `${url}/issues/events{/number}`,
    issues_url: `${url}/issues{/number}`, keys_url: `${url}/keys{/key_id}`, labels_url: `${url}/labels{/name}`, languages_url: `${url}/languages`, merges_url: `${url}/merges`,
    milestones_url: `${url}/milestones{/number}`, notifications_url: `${url}/notifications{?since,all,participating}`, pulls_url: `${url}/pulls{/number}`,
    releases_url: `${url}/releases{/id}`, ssh_url: `git@fake:${site.owner}/${site.repo}.git`, stargazers_url: `${url}/stargazers`, statuses_url: `${url}/statuses/{sha}`,
    subscribers_url: `${url}/subscribers`, subscription_url: `${url}/subscription`, tags_url: `${url}/tags`, teams_url: `${url}/teams`, trees_url: `${url}/git/trees{/sha}`,
    clone_url: `${html}.git`, mirror_url: null, hooks_url: `${url}/hooks`, svn_url: html, homepage: null, language: 'TypeScript', forks_count: 0, stargazers_count: 0,
    watchers_count: 0, size: 1, default_branch: site.state.defaultBranch, open_issues_count: 0, has_issues: true, has_projects: false, has_wiki: false, has_pages: false,
    has_downloads: true, archived: false, disabled: false, visibility: 'private', pushed_at: now, created_at: now, updated_at: now, open_issues: 0, watchers: 0,
  } satisfies Schema<'repository'>;
}

const gitUser = (p: Person) => ({ name: p.name, email: p.email, date: p.date });
const verification = { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null };

export function commit(site: Site, c: FakeCommit) {
  const url = `${site.api}/repos/${site.owner}/${site.repo}/commits/${c.sha}`;
  const account = c.login ? user(site, c.login) : null;
  return {
    url, sha: c.sha, node_id: `C_${c.sha.slice(0, 12)}`, html_url: `${site.web}/${site.owner}/${site.repo}/commit/${c.sha}`, comments_url: `${url}/comments`,
    commit: { url: `${site.api}/repos/${site.owner}/${site.repo}/git/commits/${c.sha}`, author: gitUser(c.author), committer: gitUser(c.committer), message: c.message, comment_count: 0, tree: { sha: c.tree, url: `${site.api}/repos/${site.owner}/${site.repo}/git/trees/${c.tree}` }, verification },
    author: account, committer: account,
    parents: c.parents.map((p) => ({ sha: p, url: `${site.api}/repos/${site.owner}/${site.repo}/commits/${p}`, html_url: `${site.web}/${site.owner}/${site.repo}/commit/${p}` })),
  } satisfies Schema<'commit'>;
}

export function gitCommit(site: Site, c: FakeCommit) {
  const base = `${site.api}/repos/${site.owner}/${site.repo}/git`;
  return {
    sha: c.sha, node_id: `C_${c.sha.slice(0, 12)}`, url: `${base}/commits/${c.sha}`, author: gitUser(c.author), committer: gitUser(c.committer), message: c.message,
    tree: { sha: c.tree, url: `${base}/trees/${c.tree}` }, parents: c.parents.map((p) => ({ sha: p, url: `${base}/commits/${p}`, html_url: `${site.web}/${site.owner}/${site.repo}/commit/${p}` })),
    verification, html_url: `${site.web}/${site.owner}/${site.repo}/commit/${c.sha}`,
  } satisfies Schema<'git-commit'>;
}

export function gitRef(site: Site, ref: string, sha: string) {
  const type = site.state.git.tagObjects.has(sha) ? 'tag' : 'commit';
  const base = `${site.api}/repos/${site.owner}/${site.repo}/git`;
  return { ref, node_id: `REF_${ref}`, url: `${base}/${ref}`, object: { type, sha, url: `${base}/${type}s/${sha}` } } satisfies Schema<'git-ref'>;
}

export function gitTag(site: Site, t: FakeTagObject) {
  const base = `${site.api}/repos/${site.owner}/${site.repo}/git`;
  return { node_id: `TAG_${t.sha.slice(0, 12)}`, tag: t.tag, sha: t.sha, url: `${base}/tags/${t.sha}`, message: t.message, tagger: gitUser(t.tagger), object: { sha: t.object, type: t.type, url: `${base}/${t.type}s/${t.object}` }, verification } satisfies Schema<'git-tag'>;
}

export function release(site: Site, r: FakeRelease) {
  const url = `${site.api}/repos/${site.owner}/${site.repo}/releases/${r.id}`;
  const html = `${site.web}/${site.owner}/${site.repo}/releases/tag/${encodeURIComponent(r.tag)}`;
  return {
    url, html_url: html, assets_url: `${url}/assets`, upload_url: `${url}/assets{?name,label}`, tarball_url: `${site.api}/repos/${site.owner}/${site.repo}/tarball/${r.tag}`,
    zipball_url: `${site.api}/repos/${site.owner}/${site.repo}/zipball/${r.tag}`, id: r.id, node_id: `RE_${r.id}`, tag_name: r.tag, target_commitish: r.targetCommitish, name: r.name,
    body: r.body, draft: r.draft, prerelease: r.prerelease, created_at: r.createdAt, published_at: r.draft ? null : r.createdAt, author: user(site, 'trainyard-bot'), assets: [],
  } satisfies Schema<'release'>;
}

export function label(site: Site, name: string) {
  const id = site.state.repoLabels.get(name) ?? 0;
  return { id, node_id: `LA_${id}`, url: `${site.api}/repos/${site.owner}/${site.repo}/labels/${encodeURIComponent(name)}`, name, description: '', color: 'ededed', default: false } satisfies Schema<'label'>;
}

export function issueComment(site: Site, number: number, c: FakeComment) {
  const base = `${site.api}/repos/${site.owner}/${site.repo}/issues`;
  return { id: c.id, node_id: `IC_${c.id}`, url: `${base}/comments/${c.id}`, body: c.body, html_url: `${site.web}/${site.owner}/${site.repo}/pull/${number}#issuecomment-${c.id}`, user: user(site, c.user), created_at: c.createdAt, updated_at: c.createdAt, issue_url: `${base}/${number}`, author_association: 'MEMBER' } satisfies Schema<'issue-comment'>;
}

function pullBase(site: Site, pr: FakePull) {
  const url = `${site.api}/repos/${site.owner}/${site.repo}/pulls/${pr.number}`;
  const issue = `${site.api}/repos/${site.owner}/${site.repo}/issues/${pr.number}`;
  const html = `${site.web}/${site.owner}/${site.repo}/pull/${pr.number}`;
  const headSha = site.state.headOf(pr);
  const statuses = `${site.api}/repos/${site.owner}/${site.repo}/statuses/${headSha}`;
  const repo = repository(site);
  const owner = user(site, site.owner);
  const side = (ref: string, sha: string) => ({ label: `${site.owner}:${ref}`, ref, repo, sha, user: owner });
  return {
    url, id: pr.id, node_id: `PR_${pr.id}`, html_url: html, diff_url: `${html}.diff`, patch_url: `${html}.patch`, issue_url: issue, commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`, review_comment_url: `${site.api}/repos/${site.owner}/${site.repo}/pulls/comments{/number}`, comments_url: `${issue}/comments`, statuses_url: statuses,
    number: pr.number, state: pr.state, locked: false, title: pr.title, user: user(site, pr.user), body: pr.body,
    labels: (site.state.labels.get(pr.number) ?? []).map((name) => label(site, name)), milestone: null, created_at: pr.createdAt, updated_at: pr.updatedAt,
    closed_at: pr.closedAt, merged_at: pr.mergedAt, merge_commit_sha: pr.mergeCommit, assignee: null, assignees: [], requested_reviewers: [],
    head: side(pr.head, headSha), base: side(pr.base, site.state.git.refs.get(`refs/heads/${pr.base}`) ?? pr.baseSha),
    _links: { comments: { href: `${issue}/comments` }, commits: { href: `${url}/commits` }, statuses: { href: statuses }, html: { href: html }, issue: { href: issue }, review_comments: { href: `${url}/comments` }, review_comment: { href: `${url}/comments{/number}` }, self: { href: url } },
    author_association: 'MEMBER' as const, auto_merge: null, draft: false,
  };
}

export function pullSimple(site: Site, pr: FakePull) {
  return pullBase(site, pr) satisfies Schema<'pull-request-simple'>;
}

export function pull(site: Site, pr: FakePull, mergeable: boolean | null) {
  return {
    ...pullBase(site, pr), merged: pr.mergedAt !== null, mergeable, rebaseable: mergeable, mergeable_state: mergeable === false ? 'dirty' : 'clean',
    merged_by: pr.mergedAt ? user(site, site.owner) : null, comments: site.state.comments.get(pr.number)?.length ?? 0, review_comments: 0, maintainer_can_modify: false,
    commits: 1, additions: 1, deletions: 0, changed_files: 1,
  } satisfies Schema<'pull-request'>;
}

export function checkRun(site: Site, run: FakeCheckRun) {
  const url = `${site.api}/repos/${site.owner}/${site.repo}/check-runs/${run.id}`;
  return {
    id: run.id, head_sha: run.sha, node_id: `CR_${run.id}`, external_id: null, url, html_url: `${site.web}/${site.owner}/${site.repo}/runs/${run.id}`, details_url: null,
    status: run.status, conclusion: run.conclusion, started_at: run.startedAt, completed_at: run.completedAt,
    output: { title: null, summary: null, text: null, annotations_count: 0, annotations_url: `${url}/annotations` }, name: run.name, check_suite: { id: 1 }, app: null, pull_requests: [],
  } satisfies Schema<'check-run'>;
}

export function workflowRun(site: Site, run: FakeRun) {
  const repoUrl = `${site.api}/repos/${site.owner}/${site.repo}`;
  const url = `${repoUrl}/actions/runs/${run.id}`;
  const head = site.state.git.commits.get(run.headSha);
  const repo = repository(site);
  return {
    id: run.id, name: run.name, node_id: `WFR_${run.id}`, head_branch: run.headBranch, head_sha: run.headSha, path: run.path, run_number: run.runNumber, run_attempt: run.attempt,
    event: run.event, status: run.status, conclusion: run.conclusion, workflow_id: run.workflowId, url, html_url: `${site.web}/${site.owner}/${site.repo}/actions/runs/${run.id}`,
    pull_requests: [], created_at: run.createdAt, updated_at: run.updatedAt, actor: user(site, run.actor), triggering_actor: user(site, run.actor), run_started_at: run.createdAt,
    jobs_url: `${url}/jobs`, logs_url: `${url}/logs`, check_suite_url: `${repoUrl}/check-suites/1`, artifacts_url: `${url}/artifacts`, cancel_url: `${url}/cancel`, rerun_url: `${url}/rerun`,
    previous_attempt_url: run.attempt > 1 ? `${url}/attempts/${run.attempt - 1}` : null, workflow_url: `${repoUrl}/actions/workflows/${run.workflowId}`,
    head_commit: head ? { id: head.sha, tree_id: head.tree, message: head.message, timestamp: head.committer.date, author: { name: head.author.name, email: head.author.email }, committer: { name: head.committer.name, email: head.committer.email } } : null,
    repository: repo, head_repository: repo, display_title: run.name,
  } satisfies Schema<'workflow-run'>;
}

export function job(site: Site, run: FakeRun, j: FakeJob) {
  const url = `${site.api}/repos/${site.owner}/${site.repo}/actions/jobs/${j.id}`;
  return {
    id: j.id, run_id: run.id, run_url: `${site.api}/repos/${site.owner}/${site.repo}/actions/runs/${run.id}`, run_attempt: j.attempt, node_id: `J_${j.id}`, head_sha: run.headSha, url,
    html_url: `${site.web}/${site.owner}/${site.repo}/actions/runs/${run.id}/job/${j.id}`, status: j.status, conclusion: j.conclusion, created_at: j.startedAt, started_at: j.startedAt,
    completed_at: j.completedAt, name: j.name, check_run_url: `${site.api}/repos/${site.owner}/${site.repo}/check-runs/${j.id}`, labels: ['ubuntu-latest'], runner_id: null,
    runner_name: null, runner_group_id: null, runner_group_name: null, workflow_name: run.name, head_branch: run.headBranch,
  } satisfies Schema<'job'>;
}
