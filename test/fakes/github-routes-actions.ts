/**
 * The fake GitHub Actions: `workflow_dispatch`, run listing with GitHub's filters (event, branch,
 * status, `created=>=…`), runs and their jobs, re-runs of failed jobs, cancellation, and pending
 * deployments (an environment waiting for approval).
 */
import type { components } from '@octokit/openapi-types';
import type { FakeRequest, FakeResponse } from './http-fake.js';
import { iso } from './github-git.js';
import { bodyOf, route, type Route } from './github-routes-git.js';
import { fail, job, notFound, ok, paged, user, workflowRun, type Site } from './github-shapes.js';
import type { FakeRun } from './github-state.js';

/** GitHub's date filter: `>=2024-01-01T00:00:00Z`, `<=…`, `a..b`, or a bare date (that day). */
function createdFilter(value: string | null): (at: string) => boolean {
  if (!value) return () => true;
  const t = (s: string) => Date.parse(s);
  const m = /^(>=|<=|>|<)(.+)$/.exec(value);
  if (m) {
    const bound = t(m[2] ?? '');
    return (at) => ({ '>=': t(at) >= bound, '<=': t(at) <= bound, '>': t(at) > bound, '<': t(at) < bound })[m[1] as '>=' | '<=' | '>' | '<'];
  }
  const [from = '', to = ''] = value.split('..');
  return to ? (at) => t(at) >= t(from) && t(at) <= t(to) : (at) => at.startsWith(from);
}

function listRuns(req: FakeRequest, site: Site, workflowId?: number): FakeResponse {
  const created = createdFilter(req.query.get('created'));
  const [event, branch, status] = ['event', 'branch', 'status'].map((k) => req.query.get(k));
  const runs = [...site.state.runs.values()]
    .filter((r) => workflowId === undefined || r.workflowId === workflowId)
    .filter((r) => (!event || r.event === event) && (!branch || r.headBranch === branch) && (!status || r.status === status || r.conclusion === status) && created(r.createdAt))
    .sort((a, b) => b.id - a.id);
  const page = paged(req, site, runs);
  return ok({ total_count: runs.length, workflow_runs: page.items.map((r) => workflowRun(site, r)) }, 200, page.headers);
}

function dispatch(req: FakeRequest, site: Site, file: string): FakeResponse {
  const workflow = site.state.workflow(file);
  if (!workflow) return notFound();
  const b = bodyOf(req);
  const ref = typeof b.ref === 'string' ? b.ref : '';
  const sha = site.state.git.refs.get(`refs/heads/${ref}`) ?? site.state.git.refs.get(`refs/tags/${ref}`);
  if (!sha) return fail(422, `No ref found for: ${ref}`);
  const inputs = (b.inputs && typeof b.inputs === 'object' ? b.inputs : {}) as Record<string, unknown>;
  if (Object.keys(inputs).length > 25) return fail(422, 'you may only define up to 25 `inputs` for a `workflow_dispatch` event');
  const run = site.state.startRun(workflow, ref, site.state.git.peel(sha), Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, String(v)])), site.owner);
  if (b.return_run_details !== true || !site.state.dispatchReturnsRun) return { status: 204 };
  const body = { workflow_run_id: run.id, run_url: `${site.api}/repos/${site.owner}/${site.repo}/actions/runs/${run.id}`, html_url: `${site.web}/${site.owner}/${site.repo}/actions/runs/${run.id}` };
  return ok(body satisfies components['schemas']['workflow-dispatch-response']);
}

function withRun(handle: (req: FakeRequest, site: Site, run: FakeRun) => FakeResponse): Route['handle'] {
  return (req, [id = ''], site) => {
    const run = site.state.runs.get(Number(id));
    return run ? handle(req, site, run) : notFound();
  };
}

function pendingDeployments(site: Site, run: FakeRun) {
  return run.pending.map((env) => ({
    environment: { id: env.id, node_id: `EN_${env.id}`, name: env.name, url: `${site.api}/repos/${site.owner}/${site.repo}/environments/${env.name}`, html_url: `${site.web}/${site.owner}/${site.repo}/deployments/activity_log?environments_filter=${env.name}` },
    wait_timer: 0, wait_timer_started_at: null, current_user_can_approve: true, reviewers: [{ type: 'User' as const, reviewer: user(site, site.owner) }],
  }) satisfies components['schemas']['pending-deployment']);
}

export const actionRoutes: Route[] = [
  route('POST', /^\/actions\/workflows\/([^/]+)\/dispatches$/, (req, [file = ''], site) => dispatch(req, site, file)),
  route('GET', /^\/actions\/workflows\/([^/]+)\/runs$/, (req, [file = ''], site) => {
    const workflow = site.state.workflow(file);
    return workflow ? listRuns(req, site, workflow.id) : notFound();
  }),
  route('GET', /^\/actions\/runs$/, (req, _p, site) => listRuns(req, site)),
  route('GET', /^\/actions\/runs\/(\d+)$/, withRun((_req, site, run) => ok(workflowRun(site, run)))),
  route('GET', /^\/actions\/runs\/(\d+)\/jobs$/, withRun((req, site, run) => {
    // A re-run replaces the failed jobs and carries the passed ones over: what filter=latest shows.
    const jobs = run.jobs;
    const page = paged(req, site, jobs);
    return ok({ total_count: jobs.length, jobs: page.items.map((j) => job(site, run, j)) }, 200, page.headers);
  })),
  route('POST', /^\/actions\/runs\/(\d+)\/rerun-failed-jobs$/, withRun((_req, site, run) => {
    if (run.status !== 'completed') return fail(403, 'This workflow is already running');
    if (run.conclusion === 'success') return fail(403, 'This workflow run cannot be retried');
    site.state.rerunFailed(run);
    return ok({}, 201);
  })),
  route('POST', /^\/actions\/runs\/(\d+)\/cancel$/, withRun((_req, site, run) => {
    if (run.status === 'completed') return fail(409, 'Cannot cancel a workflow run that is completed.');
    site.state.finishRun(run, 'cancelled');
    return ok({}, 202);
  })),
  route('GET', /^\/actions\/runs\/(\d+)\/pending_deployments$/, withRun((_req, site, run) => ok(pendingDeployments(site, run)))),
  route('POST', /^\/actions\/runs\/(\d+)\/pending_deployments$/, withRun((req, site, run) => {
    const b = bodyOf(req);
    const ids = Array.isArray(b.environment_ids) ? b.environment_ids.map(Number) : [];
    if (ids.length === 0 || !ids.every((id) => run.pending.some((p) => p.id === id))) return fail(422, 'Validation Failed', [{ resource: 'Deployment', code: 'invalid', field: 'environment_ids' }]);
    run.pending = run.pending.filter((p) => !ids.includes(p.id));
    if (b.state === 'rejected') site.state.finishRun(run, 'failure');
    else if (run.pending.length === 0) Object.assign(run, { status: 'in_progress', updatedAt: iso() });
    return ok(ids.map((id) => ({ id, environment: run.name, state: b.state })));
  })),
];
