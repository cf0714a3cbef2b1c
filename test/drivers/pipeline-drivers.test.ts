/**
 * The forge-backed drivers (`gitlab-pipeline` deployer and check, `git-promotion`) against the fake
 * GitLab: pipelines that succeed, fail, hang and get cancelled; a resumed attempt that watches the
 * run its predecessor started; a manual job played on a tag's pipeline; a tag promoted into an
 * environment branch through a merge request.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitPromotionDeployer } from '../../activities/deploy/git-promotion.js';
import { PipelineCheck, PipelineDeployer, POLL_FAILURES_TOLERATED } from '../../activities/deploy/pipeline.js';
import type { Forge } from '../../activities/forge/forge.js';
import { GitLabForge } from '../../activities/forge/gitlab.js';
import type { GitLabPipelineConfig, GitPromotionConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import { startFakeGitLab, type FakeGitLab } from '../fakes/gitlab.js';
import { pollUntil } from '../helpers/poll.js';

let gitlab: FakeGitLab;
let forge: Forge;
let tagCommit: string;
const TAG = 'api/v2026.11.23.1';

beforeEach(async () => {
  gitlab = await startFakeGitLab();
  forge = new GitLabForge({ project: gitlab.projectPath, url: gitlab.url, token: gitlab.token, defaultBranch: 'main', requestTimeoutMs: 5_000 });
  tagCommit = await gitlab.commit('main', 'feat: the release');
  await forge.createTag(TAG, tagCommit, 'Release');
});
afterEach(async () => {
  await gitlab.close();
});

const req = { service: 'api', environment: 'staging' as const, tag: TAG, commit: '', trainId: `train/api/${TAG}` };
const fast = { pollMs: 30, timeoutMs: 5_000 };

function context(resumeFrom?: unknown) {
  const beats: unknown[] = [];
  const controller = new AbortController();
  return { ctx: { signal: controller.signal, heartbeat: (d?: unknown) => void beats.push(d), ...(resumeFrom ? { resumeFrom } : {}) }, beats, abort: () => controller.abort() };
}

function pipelineConfig(extra: Partial<GitLabPipelineConfig> = {}): GitLabPipelineConfig {
  return { kind: 'gitlab-pipeline', variables: { ENV: '{environment}', TRIGGER_ID: 'e2e', VERSION: '{tag}' }, timeoutSeconds: 60, pollSeconds: 1, ...extra };
}

/** Waits until the fake has a pipeline beyond the `known` ones, and returns its id. */
async function newPipeline(known: number): Promise<string> {
  return pollUntil(`pipeline number ${known + 1} to be created`, () => {
    const p = gitlab.state.pipelines[known];
    return p ? String(p.id) : undefined;
  }, { timeoutMs: 5_000 });
}

async function failure(promise: Promise<unknown>): Promise<TrainyardError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TrainyardError);
    return err as TrainyardError;
  }
  throw new Error('expected a failure');
}

describe('gitlab-pipeline deployer', () => {
  it('creates a pipeline on the tag with the train values, heartbeats its id, and succeeds with it', async () => {
    const { ctx, beats } = context();
    const deploying = new PipelineDeployer(forge, pipelineConfig(), fast).deploy(req, ctx);
    const id = await newPipeline(0);
    expect(await gitlab.pipelineVariables(id)).toEqual({ ENV: 'staging', TRIGGER_ID: 'e2e', VERSION: TAG });
    await gitlab.finishPipeline(id, 'success');
    const result = await deploying;
    expect(result.summary).toContain(`deployed ${TAG} to staging`);
    expect(result.url).toContain(`/pipelines/${id}`);
    expect(beats[0]).toEqual({ runId: id });
  });

  it('a failed pipeline is DEPLOY_FAILED naming the failed job and its link', async () => {
    const { ctx } = context();
    const deploying = new PipelineDeployer(forge, pipelineConfig(), fast).deploy(req, ctx);
    await gitlab.finishPipeline(await newPipeline(0), 'failed');
    const err = await failure(deploying);
    expect(err.code).toBe('DEPLOY_FAILED');
    expect(err.message).toMatch(/ended failed; failed jobs: \w+ \(http/);
  });

  it('a pipeline that hangs past the timeout is cancelled and DEPLOY_TIMEOUT', async () => {
    const { ctx } = context();
    const err = await failure(new PipelineDeployer(forge, pipelineConfig(), { pollMs: 30, timeoutMs: 300 }).deploy(req, ctx));
    expect(err.code).toBe('DEPLOY_TIMEOUT');
    expect(gitlab.state.pipelines[0]?.status).toBe('canceled');
  });

  it('a few failed polls in a row are waited out; more than the tolerated number fail the attempt', async () => {
    const polls = (id: string) => (r: { method: string; path: string }) => r.method === 'GET' && r.path.endsWith(`/pipelines/${id}`);
    const { ctx } = context();
    const deploying = new PipelineDeployer(forge, pipelineConfig(), fast).deploy(req, ctx);
    const id = await newPipeline(0);
    gitlab.http.inject({ match: polls(id), times: POLL_FAILURES_TOLERATED, malformed: true });
    await pollUntil('the tolerated failed polls to be served', () => gitlab.http.faultCounts.faults >= POLL_FAILURES_TOLERATED);
    await gitlab.finishPipeline(id, 'success');
    expect((await deploying).url).toContain(`/pipelines/${id}`);

    const next = context();
    const failing = new PipelineDeployer(forge, pipelineConfig(), fast).deploy(req, next.ctx);
    const other = await newPipeline(1);
    gitlab.http.inject({ match: polls(other), times: POLL_FAILURES_TOLERATED + 1, malformed: true });
    expect((await failure(failing)).code).toBe('FORGE_UNAVAILABLE');
    expect(gitlab.state.pipelines).toHaveLength(2);
  });

  it('cancelling the train cancels the pipeline', async () => {
    const { ctx, abort } = context();
    const deploying = new PipelineDeployer(forge, pipelineConfig(), fast).deploy(req, ctx);
    await newPipeline(0);
    abort();
    expect((await failure(deploying)).message).toMatch(/cancelled with the train/);
    expect(gitlab.state.pipelines[0]?.status).toBe('canceled');
  });

  it('a resumed attempt (worker crash) watches the pipeline of the last heartbeat instead of starting another', async () => {
    const first = context();
    // The first attempt's worker "dies": nobody waits for it any more (it keeps polling in the background).
    const abandoned = new PipelineDeployer(forge, pipelineConfig(), fast).deploy(req, first.ctx).catch(() => undefined);
    const id = await newPipeline(0);
    // GitLab has the pipeline before the driver has its answer: wait for the driver's heartbeat.
    expect(await pollUntil('the first attempt to heartbeat its pipeline', () => first.beats[0])).toEqual({ runId: id });
    const again = context(first.beats.at(-1));
    const resumed = new PipelineDeployer(forge, pipelineConfig(), fast).deploy(req, again.ctx);
    // The resumed attempt has looked at the running pipeline before it finishes.
    await pollUntil('the resumed attempt to watch the pipeline', () => again.beats.length > 0);
    await gitlab.finishPipeline(id, 'success');
    expect((await resumed).url).toContain(`/pipelines/${id}`);
    expect(gitlab.state.pipelines).toHaveLength(1);
    await abandoned;
  });

  it('an attempt after a lost trigger answer watches the pipeline GitLab did create, once; after a failed one it starts a new one', async () => {
    const scheduledAt = Date.now();
    // GitLab creates the pipeline, then the gateway answers 502: the POST is not repeated in the attempt.
    gitlab.http.inject({ match: (r) => r.method === 'POST' && r.path.endsWith('/pipeline'), after: true, status: 502 });
    const lost = await failure(new PipelineDeployer(forge, pipelineConfig(), fast).deploy(req, { ...context().ctx, attempt: 1, firstScheduledAt: scheduledAt }));
    expect(lost.code).toBe('FORGE_UNAVAILABLE');
    expect(gitlab.state.pipelines).toHaveLength(1);
    const id = String(gitlab.state.pipelines[0]?.id);

    // Production's trigger (other variables) is not mistaken for it.
    const secondAttempt = context();
    const second = { ...secondAttempt.ctx, attempt: 2, firstScheduledAt: scheduledAt };
    const retried = new PipelineDeployer(forge, pipelineConfig(), fast).deploy(req, second);
    await pollUntil('the second attempt to watch the pipeline GitLab created', () => secondAttempt.beats.length > 0);
    await gitlab.finishPipeline(id, 'failed');
    expect((await failure(retried)).code).toBe('DEPLOY_FAILED');
    expect(gitlab.state.pipelines).toHaveLength(1);

    // The pipeline failed: the next attempt starts another one, as a retry should.
    const third = new PipelineDeployer(forge, pipelineConfig(), fast).deploy(req, { ...context().ctx, attempt: 3, firstScheduledAt: scheduledAt });
    const next = await newPipeline(1);
    await gitlab.finishPipeline(next, 'success');
    expect((await third).url).toContain(`/pipelines/${next}`);
    const production = new PipelineDeployer(forge, pipelineConfig(), fast).deploy({ ...req, environment: 'production' }, { ...context().ctx, attempt: 2, firstScheduledAt: scheduledAt });
    const own = await newPipeline(2);
    expect(await gitlab.pipelineVariables(own)).toMatchObject({ ENV: 'production' });
    await gitlab.finishPipeline(own, 'success');
    expect((await production).url).toContain(`/pipelines/${own}`);
  });

  it("plays the manual job of the tag's pipeline (the seed's promote-production)", async () => {
    const tagPipeline = await forge.triggerPipeline({ ref: TAG });
    const { ctx } = context();
    const deploying = new PipelineDeployer(forge, pipelineConfig({ job: 'promote-production' }), fast).deploy({ ...req, environment: 'production' }, ctx);
    await pollUntil('the manual promote-production job to be played', () => gitlab.state.jobs.find((j) => j.name === 'promote-production' && String(j.pipelineId) === tagPipeline.id)?.status !== 'manual', { timeoutMs: 5_000 });
    expect(gitlab.state.pipelines).toHaveLength(1); // no new pipeline: the tag's own
    await gitlab.finishPipeline(tagPipeline.id, 'success');
    expect((await deploying).url).toContain(`/pipelines/${tagPipeline.id}`);
  });
});

describe('gitlab-pipeline check', () => {
  it('a failed E2E pipeline is a failed check with the failing job as its link, not an error', async () => {
    const { ctx } = context();
    const checking = new PipelineCheck(forge, pipelineConfig(), fast).run({ ...req, check: 'e2e' }, ctx);
    await gitlab.finishPipeline(await newPipeline(0), 'failed');
    const outcome = await checking;
    expect(outcome.passed).toBe(false);
    expect(outcome.url).toMatch(/^http/);
    expect(outcome.summary).toContain('failed jobs');
  });
});

describe('git-promotion deployer', () => {
  const config: GitPromotionConfig = { kind: 'git-promotion', branch: 'production', timeoutSeconds: 60, pollSeconds: 1 };

  it('brings the exact tag into the production branch through a merge request merged when green', async () => {
    // production runs the commit before the tag.
    const parent = (await forge.commitsBetween(undefined, tagCommit, 2)).entries[1]?.sha ?? '';
    await forge.createBranch('production', parent);
    // main moves on after the tag: the promotion must not bring this in.
    await gitlab.commit('main', 'feat: not tested in staging', { 'later.txt': 'no' });
    await gitlab.setCommitState(tagCommit, 'success');
    const result = await new GitPromotionDeployer(forge, config, fast).deploy({ ...req, environment: 'production', commit: tagCommit }, context().ctx);
    expect(result.summary).toMatch(/promoted .* into production/);
    expect((await forge.commitsBetween('production', TAG, 10)).entries).toEqual([]);
    expect(await forge.readFile('later.txt', 'production')).toBeUndefined();
    // Promoting again is a no-op success (a retried activity).
    expect((await new GitPromotionDeployer(forge, config, fast).deploy({ ...req, environment: 'production', commit: tagCommit }, context().ctx)).summary).toMatch(/already contains/);
  });

  it('refuses a tag that points elsewhere than the commit the train tested', async () => {
    const other = await gitlab.commit('main', 'feat: other');
    const err = await failure(new GitPromotionDeployer(forge, config, fast).deploy({ ...req, environment: 'production', commit: other }, context().ctx));
    expect(err.code).toBe('TAG_CONFLICT');
  });

  it('a red pipeline on the promotion is DEPLOY_FAILED', async () => {
    await forge.createBranch('production', 'main');
    const next = await gitlab.commit('main', 'feat: next');
    await forge.createTag('api/v2', next, 'r');
    await gitlab.setCommitState(next, 'failure');
    const err = await failure(new GitPromotionDeployer(forge, config, fast).deploy({ ...req, tag: 'api/v2', environment: 'production', commit: next }, context().ctx));
    expect(err.code).toBe('DEPLOY_FAILED');
    expect(err.message).toMatch(/pipeline failed/);
  });
});
