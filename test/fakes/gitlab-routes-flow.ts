/**
 * The fake GitLab's merge request, note, pipeline and job endpoints (relative to /api/v4/projects/:id).
 */
import type { PipelineVariableSchema } from '@gitbeaker/core';
import { fail, flag, ok, paginate, route, sortBy, text, type Ctx, type Route } from './gitlab-router.js';
import { expandedMergeRequestSchema, expandedPipelineSchema, jobSchema, mergeRequestSchema, noteSchema, pipelineSchema, type FakeMergeRequest, type FakePipeline } from './gitlab-schema.js';
import { ACTIVE, type FakeGitLabState } from './gitlab-state.js';

function labelsIn(value: unknown): string[] {
  const list = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(',') : [];
  return list.map((l) => l.trim()).filter(Boolean);
}

function expanded(state: FakeGitLabState, mr: FakeMergeRequest) {
  const head = state.headOf(mr);
  const pipeline = state.latestPipelineFor(head);
  const target = state.repo.branches.get(mr.targetBranch);
  const base = (target && head && state.repo.commits.has(head) && state.repo.mergeBase(head, target)) || head;
  return expandedMergeRequestSchema(state.site, { ...mr, sha: head }, pipeline ? expandedPipelineSchema(state.site, pipeline, state.repo.tags.has(pipeline.ref)) : null, base);
}

function findMergeRequest(ctx: Ctx): FakeMergeRequest | undefined {
  return ctx.state.mergeRequests.find((m) => m.iid === Number(ctx.params.iid));
}

function withMergeRequest(handle: (ctx: Ctx, mr: FakeMergeRequest) => ReturnType<Route['handle']>) {
  return (ctx: Ctx) => {
    const mr = findMergeRequest(ctx);
    return mr ? handle(ctx, mr) : fail(404, '404 Not found');
  };
}

function listMergeRequests(ctx: Ctx) {
  const { state, query } = ctx;
  const wanted = query.get('state') ?? 'all';
  const after = query.get('updated_after');
  const matches = state.mergeRequests.filter(
    (mr) =>
      (wanted === 'all' || mr.state === wanted) &&
      (!query.get('source_branch') || mr.sourceBranch === query.get('source_branch')) &&
      (!query.get('target_branch') || mr.targetBranch === query.get('target_branch')) &&
      (!after || mr.updatedAt >= after),
  );
  const key = query.get('order_by') === 'updated_at' ? (mr: FakeMergeRequest) => mr.updatedAt : (mr: FakeMergeRequest) => mr.createdAt;
  return paginate(ctx, sortBy(matches, key, query.get('sort')).map((mr) => mergeRequestSchema(state.site, { ...mr, sha: state.headOf(mr) })));
}

function createMergeRequest(ctx: Ctx) {
  const { state } = ctx;
  const sourceBranch = text(ctx, 'source_branch') ?? '';
  const targetBranch = text(ctx, 'target_branch') ?? '';
  if (!state.repo.branches.has(sourceBranch)) return fail(422, ['Source branch does not exist']);
  if (!state.repo.branches.has(targetBranch)) return fail(422, ['Target branch does not exist']);
  const open = state.mergeRequests.find((m) => m.state === 'opened' && m.sourceBranch === sourceBranch && m.targetBranch === targetBranch);
  if (open) return fail(409, [`Another open merge request already exists for this source branch: !${open.iid}`]);
  const mr = state.openMergeRequest({ sourceBranch, targetBranch, title: text(ctx, 'title') ?? '', description: text(ctx, 'description') ?? '', labels: labelsIn(ctx.input.labels), author: 'trainyard-bot' });
  return ok(expanded(state, mr), 201);
}

function editMergeRequest(ctx: Ctx, mr: FakeMergeRequest) {
  const { state } = ctx;
  if (text(ctx, 'title') !== undefined) mr.title = text(ctx, 'title') as string;
  if (text(ctx, 'description') !== undefined) mr.description = text(ctx, 'description') as string;
  if (ctx.input.labels !== undefined) mr.labels = labelsIn(ctx.input.labels);
  for (const label of labelsIn(ctx.input.add_labels)) if (!mr.labels.includes(label)) mr.labels.push(label);
  const removed = labelsIn(ctx.input.remove_labels);
  mr.labels = mr.labels.filter((l) => !removed.includes(l));
  // Like GitLab's state machine: closing a closed or merged one, or reopening an open one, changes nothing.
  const event = text(ctx, 'state_event');
  if (event === 'close' && mr.state === 'opened') Object.assign(mr, { sha: state.headOf(mr), state: 'closed', closedAt: state.now(), autoMerge: false });
  if (event === 'reopen' && mr.state === 'closed') Object.assign(mr, { state: 'opened', closedAt: null });
  mr.updatedAt = state.now();
  return ok(expanded(state, mr));
}

/**
 * PUT /merge: 405 unless open, 409 when `sha` is not the head; with auto-merge asked and the head
 * pipeline still running, the merge is scheduled; otherwise it merges now, or 422 on conflicts.
 */
function acceptMergeRequest(ctx: Ctx, mr: FakeMergeRequest) {
  const { state } = ctx;
  if (mr.state !== 'opened') return fail(405, '405 Method Not Allowed');
  const head = state.headOf(mr);
  const sha = text(ctx, 'sha');
  if (sha && sha !== head) return fail(409, `SHA does not match HEAD of source branch: ${head}`);
  const pipeline = state.latestPipelineFor(head);
  const auto = flag(ctx, 'auto_merge') || flag(ctx, 'merge_when_pipeline_succeeds');
  if (auto && pipeline && ACTIVE.includes(pipeline.status)) {
    Object.assign(mr, { autoMerge: true, updatedAt: state.now() });
    return ok(expanded(state, mr));
  }
  if (pipeline && ['failed', 'canceled'].includes(pipeline.status)) return fail(405, '405 Method Not Allowed');
  if (state.merge(mr) === 'conflict') return fail(422, 'Branch cannot be merged');
  return ok(expanded(state, mr));
}

function findPipeline(ctx: Ctx): FakePipeline | undefined {
  return ctx.state.pipelines.find((p) => p.id === Number(ctx.params.id));
}

function withPipeline(handle: (ctx: Ctx, p: FakePipeline) => ReturnType<Route['handle']>) {
  return (ctx: Ctx) => {
    const pipeline = findPipeline(ctx);
    return pipeline ? handle(ctx, pipeline) : fail(404, '404 Not found');
  };
}

const pipelineAnswer = (state: FakeGitLabState, p: FakePipeline, status = 200) => ok(expandedPipelineSchema(state.site, p, state.repo.tags.has(p.ref)), status);

function listJobs(ctx: Ctx, pipeline: FakePipeline) {
  const { state } = ctx;
  const scopes = [...ctx.query.getAll('scope'), ...ctx.query.getAll('scope[]')];
  const jobs = state.jobsOf(pipeline.id).filter((j) => scopes.length === 0 || scopes.includes(j.status));
  return paginate(ctx, jobs.map((j) => jobSchema(state.site, j, pipeline, state.repo.get(pipeline.sha))));
}

function triggerPipeline(ctx: Ctx) {
  const { state } = ctx;
  const ref = text(ctx, 'ref') ?? '';
  const sha = state.repo.branches.get(ref) ?? state.repo.tags.get(ref)?.sha;
  if (!sha) return fail(400, { base: ['Reference not found'] });
  const variables = ((ctx.input.variables ?? []) as PipelineVariableSchema[]).map(({ key, value }) => ({ key, value }));
  return pipelineAnswer(state, state.createPipeline(sha, ref, 'api', variables), 201);
}

export const flowRoutes: Route[] = [
  route('GET', 'merge_requests', listMergeRequests),
  route('POST', 'merge_requests', createMergeRequest),
  route('GET', 'merge_requests/:iid', withMergeRequest((ctx, mr) => ok(expanded(ctx.state, mr)))),
  route('PUT', 'merge_requests/:iid', withMergeRequest(editMergeRequest)),
  route('PUT', 'merge_requests/:iid/merge', withMergeRequest(acceptMergeRequest)),
  route('GET', 'merge_requests/:iid/notes', withMergeRequest((ctx, mr) => paginate(ctx, ctx.state.notes.get(mr.iid) ?? []))),
  route('POST', 'merge_requests/:iid/notes', withMergeRequest((ctx, mr) => {
    const { state } = ctx;
    const note = noteSchema(state.site, state.id(), mr, text(ctx, 'body') ?? '', state.now());
    state.notes.set(mr.iid, [...(state.notes.get(mr.iid) ?? []), note]);
    return ok(note, 201);
  })),
  route('GET', 'pipelines', (ctx) => {
    const { state, query } = ctx;
    const after = query.get('updated_after');
    const matches = state.pipelines.filter(
      (p) =>
        (!query.get('sha') || p.sha === query.get('sha')) &&
        (!query.get('ref') || p.ref === query.get('ref')) &&
        (!query.get('status') || p.status === query.get('status')) &&
        (!query.get('source') || p.source === query.get('source')) &&
        (!after || Date.parse(p.updatedAt) >= Date.parse(after)),
    );
    return paginate(ctx, sortBy(matches, (p) => (query.get('order_by') === 'updated_at' ? p.updatedAt : p.id), query.get('sort')).map((p) => pipelineSchema(state.site, p)));
  }),
  route('POST', 'pipeline', triggerPipeline),
  route('GET', 'pipelines/:id', withPipeline((ctx, p) => pipelineAnswer(ctx.state, p))),
  route('GET', 'pipelines/:id/jobs', withPipeline(listJobs)),
  route('GET', 'pipelines/:id/variables', withPipeline((ctx, p) => ok(p.variables.map((v): PipelineVariableSchema => ({ ...v, variable_type: 'env_var' }))))),
  route('POST', 'pipelines/:id/retry', withPipeline((ctx, p) => {
    for (const job of ctx.state.jobsOf(p.id)) if (['failed', 'canceled'].includes(job.status)) job.status = 'pending';
    p.status = 'pending';
    p.updatedAt = ctx.state.now();
    return pipelineAnswer(ctx.state, p, 201);
  })),
  route('POST', 'pipelines/:id/cancel', withPipeline((ctx, p) => {
    if (ACTIVE.includes(p.status) || p.status === 'manual') ctx.state.setPipelineStatus(p, 'canceled');
    return pipelineAnswer(ctx.state, p);
  })),
  route('POST', 'jobs/:id/play', (ctx) => {
    const { state } = ctx;
    const job = state.jobs.find((j) => j.id === Number(ctx.params.id));
    if (!job) return fail(404, '404 Not found');
    if (job.status !== 'manual') return fail(400, '400 Bad request - Unplayable Job');
    const pipeline = state.pipelines.find((p) => p.id === job.pipelineId) as FakePipeline;
    job.status = 'pending';
    state.setPipelineStatus(pipeline, 'running');
    return ok(jobSchema(state.site, job, pipeline, state.repo.get(pipeline.sha)));
  }),
];
