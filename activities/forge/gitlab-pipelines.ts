/**
 * GitLab pipelines: trigger with variables, follow, retry, play a manual job, cancel. GitLab has no
 * conditional requests, so following a pipeline costs one request per look (plus one for the failed
 * jobs once it has failed).
 */
import { TrainyardError } from '../../domain/errors.js';
import type { GitLabClient } from './gitlab-client.js';
import { toPipelineRun } from './gitlab-map.js';
import { PIPELINE_DONE, sameVariables, type PipelineRun, type PipelineTrigger } from './forge.js';

function pipelineNumber(id: string): number {
  if (!/^\d{1,15}$/.test(id)) throw new TrainyardError('FORGE_NOT_FOUND', `"${id.slice(0, 40)}" is not a GitLab pipeline id`, 'Pipeline ids are numbers, as in .../-/pipelines/123.');
  return Number(id);
}

export class GitLabPipelines {
  constructor(private readonly gl: GitLabClient) {}

  /** POST /pipeline answers with the pipeline it created: no search for it afterwards. */
  async trigger(trigger: PipelineTrigger): Promise<PipelineRun> {
    this.gl.checkRef(trigger.ref);
    const { api, project } = this.gl;
    const variables = Object.entries(trigger.variables ?? {}).map(([key, value]) => ({ key, value }));
    const made = await this.gl.attempt(() => api.pipelines.create(project, trigger.ref, variables.length ? { variables } : {}));
    if (made.ok) return toPipelineRun(made.value);
    if (made.failure.status === 400 && /reference not found/i.test(made.failure.message)) {
      throw new TrainyardError('REF_NOT_FOUND', `cannot start a pipeline: ${trigger.ref} was not found in ${this.gl.where}`, 'Check the branch or tag.');
    }
    throw this.gl.fail(made.failure, `starting a pipeline on ${trigger.ref}`);
  }

  /**
   * The newest pipeline on `ref` started through the API since `since` whose variables are exactly
   * the trigger's (GitLab shows them: no guessing by time alone). One request for the list and one
   * per candidate's variables; candidates are the few API pipelines of that ref since `since`.
   */
  async findTriggered(trigger: PipelineTrigger, since: number): Promise<PipelineRun | undefined> {
    this.gl.checkRef(trigger.ref);
    const { api, project } = this.gl;
    const updatedAfter = new Date(since).toISOString();
    const recent = await this.gl.call(`listing the pipelines of ${trigger.ref}`, () =>
      api.pipelines.all(project, { ref: trigger.ref, source: 'api', updatedAfter, orderBy: 'id', sort: 'desc', perPage: 20, maxPages: 1 }),
    );
    const wanted = sameVariables(trigger.variables ?? {});
    for (const pipeline of recent) {
      if (Date.parse(pipeline.created_at) < since) continue;
      const variables = await this.gl.call(`reading the variables of pipeline ${pipeline.id}`, () => api.pipelines.allVariables(project, pipeline.id));
      if (wanted(Object.fromEntries(variables.map((v) => [v.key, v.value])))) return this.get(String(pipeline.id));
    }
    return undefined;
  }

  /** The ref's newest pipeline (by id), e.g. a tag's pipeline holding its manual promote job. */
  async latest(ref: string): Promise<PipelineRun | undefined> {
    this.gl.checkRef(ref);
    const { api, project } = this.gl;
    const newest = await this.gl.call(`reading the latest pipeline of ${ref}`, () => api.pipelines.all(project, { ref, orderBy: 'id', sort: 'desc', perPage: 1, maxPages: 1 }));
    const pipeline = newest[0];
    if (!pipeline) return undefined;
    // A failed one is read again for its failed jobs, like getPipeline.
    return pipeline.status === 'failed' ? this.get(String(pipeline.id)) : toPipelineRun(pipeline);
  }

  async get(id: string): Promise<PipelineRun> {
    const n = pipelineNumber(id);
    const { api, project } = this.gl;
    const pipeline = await this.gl.call(`reading pipeline ${id}`, () => api.pipelines.show(project, n));
    if (pipeline.status !== 'failed') return toPipelineRun(pipeline);
    const failed = await this.gl.call(`listing the failed jobs of pipeline ${id}`, () => api.jobs.all(project, { pipelineId: n, scope: 'failed', perPage: 100, maxPages: 1 }));
    return toPipelineRun(pipeline, failed.map((job) => ({ name: job.name, url: job.web_url })));
  }

  /** GitLab retries the failed jobs in the same pipeline: the id stays. */
  async retry(id: string): Promise<PipelineRun> {
    const n = pipelineNumber(id);
    const { api, project } = this.gl;
    return toPipelineRun(await this.gl.call(`retrying pipeline ${id}`, () => api.pipelines.retry(project, n)));
  }

  /** Plays the manual job named `job`; one already played is left alone (a retried activity). */
  async playJob(pipelineId: string, job: string): Promise<PipelineRun> {
    const n = pipelineNumber(pipelineId);
    const { api, project } = this.gl;
    const jobs = await this.gl.call(`listing the jobs of pipeline ${pipelineId}`, () => api.jobs.all(project, { pipelineId: n, perPage: 100 }));
    const named = jobs.filter((j) => j.name === job);
    if (named.length === 0) {
      throw new TrainyardError('FORGE_NOT_FOUND', `pipeline ${pipelineId} has no job named ${job}`, 'Check the job name in .gitlab-ci.yml (a job with when: manual).');
    }
    const manual = named.find((j) => j.status === 'manual');
    if (manual) await this.gl.call(`playing ${job} in pipeline ${pipelineId}`, () => api.jobs.play(project, manual.id));
    return this.get(pipelineId);
  }

  /** Cancelling a finished pipeline is success: it is already over. */
  async cancel(id: string): Promise<void> {
    const n = pipelineNumber(id);
    const { api, project } = this.gl;
    const result = await this.gl.attempt(() => api.pipelines.cancel(project, n));
    if (result.ok) return;
    if ([400, 405, 409, 422].includes(result.failure.status ?? 0)) {
      if (PIPELINE_DONE.includes((await this.get(id)).status)) return;
    }
    throw this.gl.fail(result.failure, `cancelling pipeline ${id}`);
  }
}
