/**
 * GitHub Actions as the forge's pipelines: `workflow_dispatch` runs, polled with conditional requests
 * (the client's ETag cache turns an unchanged run into a 304, which costs no rate limit), re-runs of
 * failed jobs, approvals of pending deployments (GitHub's manual jobs) and cancellation.
 */
import { TrainyardError } from '../../domain/errors.js';
import { isAnswer } from './github-client.js';
import type { GitHubRepo } from './github-repo.js';
import type { PipelineRun, PipelineStatus, PipelineTrigger } from './forge.js';

export interface RunLookup {
  /** Looks for the run a dispatch started (when GitHub does not say which), this many times… */
  attempts: number;
  /** …this far apart. */
  intervalMs: number;
  /** Runs created this long before the dispatch still count: our clock and GitHub's differ. */
  clockSkewMs: number;
}

interface ApiRun {
  id: number;
  html_url: string;
  head_branch: string | null;
  head_sha: string;
  status: string | null;
  conclusion: string | null;
  created_at: string;
}

const WORKFLOW = /^([\w.-]+\.ya?ml|\d+)$/;

export function pipelineStatus(status: string | null, conclusion: string | null): PipelineStatus {
  if (status === 'completed') {
    if (['success', 'neutral', 'skipped'].includes(conclusion ?? '')) return 'success';
    if (conclusion === 'cancelled') return 'canceled';
    if (conclusion === 'action_required') return 'manual';
    return 'failed';
  }
  // `waiting`: a deployment waits for approval, which is what a manual job is here.
  if (status === 'waiting' || status === 'action_required') return 'manual';
  if (status === 'in_progress') return 'running';
  return 'pending';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class GitHubPipelines {
  constructor(
    private readonly gh: GitHubRepo,
    private readonly lookup: RunLookup,
  ) {}

  private runId(id: string): number {
    const n = /^\d{1,16}$/.test(id) ? Number(id) : NaN;
    if (!Number.isSafeInteger(n)) throw new TrainyardError('FORGE_NOT_FOUND', `"${id.slice(0, 40)}" is not a GitHub Actions run id`, 'Run ids are the numbers in a run\'s URL (…/actions/runs/<id>).');
    return n;
  }

  async trigger({ ref, variables, workflow }: PipelineTrigger): Promise<PipelineRun> {
    if (!workflow || !WORKFLOW.test(workflow)) {
      throw new TrainyardError('CONFIG_INVALID', `GitHub Actions needs a workflow file name to dispatch, got "${(workflow ?? '').slice(0, 80)}"`, 'Set workflow (e.g. deploy.yml) in the config.');
    }
    this.gh.checkRef(ref);
    const since = Date.now() - this.lookup.clockSkewMs;
    // Never repeated here: a dispatch whose answer was lost may have started its run. The driver's
    // next attempt looks for that run (findTriggered) before dispatching again.
    const dispatched = await this.gh.call(`starting workflow ${workflow} on ${ref}`, (api) =>
      api.rest.actions.createWorkflowDispatch({ ...this.gh.params, workflow_id: workflow, ref, inputs: variables ?? {}, return_run_details: true, request: { retries: 0 } }),
    );
    // github.com says which run it started; GitHub Enterprise Server versions without that answer 204.
    const answer = dispatched as { status: number; data: unknown };
    const started = answer.status === 200 ? (answer.data as { workflow_run_id?: number } | null)?.workflow_run_id : undefined;
    if (started !== undefined) return this.get(String(started));
    for (let attempt = 0; attempt < this.lookup.attempts; attempt++) {
      if (attempt > 0) await sleep(this.lookup.intervalMs);
      const run = await this.findStarted(workflow, ref, since);
      if (run) return this.toRun(run);
    }
    throw new TrainyardError(
      'FORGE_UNAVAILABLE',
      `workflow ${workflow} was started on ${ref}, but its run did not show up within ${Math.round((this.lookup.attempts * this.lookup.intervalMs) / 1000)} s`,
      'Look at the workflow\'s runs on GitHub; GitHub Actions may be delayed (githubstatus.com).',
    );
  }

  /** The newest `workflow_dispatch` run of the workflow on `ref` created at or after `since`. */
  async findTriggered({ ref, workflow }: PipelineTrigger, since: number): Promise<PipelineRun | undefined> {
    if (!workflow || !WORKFLOW.test(workflow)) return undefined;
    this.gh.checkRef(ref);
    const created = `>=${new Date(since).toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
    const { data } = await this.gh.call(`listing runs of ${workflow}`, (api) =>
      api.rest.actions.listWorkflowRuns({ ...this.gh.params, workflow_id: workflow, event: 'workflow_dispatch', branch: ref, created, per_page: 20 }),
    );
    // Newest first; GitHub's `created` filter has whole seconds.
    const run = data.workflow_runs.find((r) => Date.parse(r.created_at) >= Math.floor(since / 1000) * 1000);
    return run ? this.get(String(run.id)) : undefined;
  }

  /**
   * The dispatch's run: the oldest `workflow_dispatch` run of the workflow on `ref` created since the
   * dispatch (minus clock skew). GitHub's REST API does not show a run's inputs, so two dispatches of
   * the same workflow and ref within the skew window cannot be told apart.
   */
  private async findStarted(workflow: string, ref: string, since: number): Promise<ApiRun | undefined> {
    const created = `>=${new Date(since).toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
    const { data } = await this.gh.call(`listing runs of ${workflow}`, (api) =>
      api.rest.actions.listWorkflowRuns({ ...this.gh.params, workflow_id: workflow, event: 'workflow_dispatch', branch: ref, created, per_page: 20 }),
    );
    return data.workflow_runs.filter((r) => Date.parse(r.created_at) >= since - 1000).at(-1);
  }

  private toRun(run: ApiRun, failedJobs?: { name: string; url: string }[]): PipelineRun {
    const status = pipelineStatus(run.status, run.conclusion);
    return { id: String(run.id), url: run.html_url, ref: run.head_branch ?? '', sha: run.head_sha, status, ...(failedJobs ? { failedJobs } : {}) };
  }

  /** The newest run of any workflow on a branch or tag (GitHub lists runs newest first). */
  async latest(ref: string): Promise<PipelineRun | undefined> {
    this.gh.checkRef(ref);
    const { data } = await this.gh.call(`listing runs on ${ref}`, (api) => api.rest.actions.listWorkflowRunsForRepo({ ...this.gh.params, branch: ref, per_page: 1 }));
    const run = data.workflow_runs[0];
    return run ? this.get(String(run.id)) : undefined;
  }

  async get(id: string): Promise<PipelineRun> {
    const run_id = this.runId(id);
    const { data } = await this.gh.call(`reading workflow run ${id}`, (api) => api.rest.actions.getWorkflowRun({ ...this.gh.params, run_id }));
    if (pipelineStatus(data.status, data.conclusion) !== 'failed') return this.toRun(data);
    const jobs = await this.gh.call(`reading the jobs of run ${id}`, (api) => api.rest.actions.listJobsForWorkflowRun({ ...this.gh.params, run_id, filter: 'latest', per_page: 100 }));
    const failed = jobs.data.jobs
      .filter((j) => j.conclusion === 'failure' || j.conclusion === 'timed_out')
      .map((j) => ({ name: j.name, url: j.html_url ?? data.html_url }));
    return this.toRun(data, failed);
  }

  async retry(id: string): Promise<PipelineRun> {
    const run = await this.get(id);
    // Running again already (a retried activity), or nothing failed: nothing to do.
    if (run.status !== 'failed' && run.status !== 'canceled') return run;
    const run_id = this.runId(id);
    await this.gh.call(`re-running the failed jobs of run ${id}`, async (api) => {
      try {
        await api.rest.actions.reRunWorkflowFailedJobs({ ...this.gh.params, run_id });
      } catch (err) {
        if (!isAnswer(err, 403, /already running/i)) throw err;
      }
    });
    return this.get(id);
  }

  async playJob(id: string, job: string): Promise<PipelineRun> {
    const run_id = this.runId(id);
    const { data: pending } = await this.gh.call(`reading the pending deployments of run ${id}`, (api) => api.rest.actions.getPendingDeploymentsForRun({ ...this.gh.params, run_id }));
    const target = pending.find((p) => p.environment.name === job);
    if (!target?.environment.id) {
      const run = await this.get(id);
      // Approved by an earlier attempt: the run has moved on.
      if (run.status !== 'manual') return run;
      const waiting = pending.map((p) => p.environment.name).filter(Boolean).join(', ') || 'nothing';
      throw new TrainyardError('FORGE_NOT_FOUND', `run ${id} waits for ${waiting}, not for environment "${job}"`, 'Name the environment whose deployment waits for approval.');
    }
    const environmentId = Number(target.environment.id);
    await this.gh.call(`approving ${job} in run ${id}`, (api) =>
      api.rest.actions.reviewPendingDeploymentsForRun({ ...this.gh.params, run_id, environment_ids: [environmentId], state: 'approved', comment: 'Approved by Trainyard' }),
    );
    return this.get(id);
  }

  async cancel(id: string): Promise<void> {
    const run_id = this.runId(id);
    await this.gh.call(`cancelling run ${id}`, async (api) => {
      try {
        await api.rest.actions.cancelWorkflowRun({ ...this.gh.params, run_id });
      } catch (err) {
        // "Cannot cancel a workflow run that is completed."
        if (!isAnswer(err, 409)) throw err;
      }
    });
  }
}
