/**
 * `github-actions` and `gitlab-pipeline` deployers and checks: start a run on the service's forge
 * (a `workflow_dispatch` with inputs, a pipeline with variables, or a manual job of the tag's
 * pipeline) and wait for it inside the activity, heartbeating the run's id. A worker that dies while
 * waiting is replaced by another attempt that finds the id in the last heartbeat and goes on
 * watching the same run; cancelling the train cancels the run.
 */
import type { GitHubActionsConfig, GitLabPipelineConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import type { CheckOutcome } from '../../domain/train.js';
import type { Check, CheckContext } from '../checks/check.js';
import type { Forge, PipelineRun } from '../forge/forge.js';
import { PIPELINE_DONE } from '../forge/forge.js';
import type { CheckRequest, DeployRequest } from '../types.js';
import type { DeployContext, Deployer } from './deployer.js';

export type PipelineDriverConfig = GitHubActionsConfig | GitLabPipelineConfig;

type TrainValues = Pick<DeployRequest, 'service' | 'environment' | 'tag' | 'commit' | 'trainId'>;

/** Replaces `{tag}`, `{commit}`, `{environment}`, `{service}`, `{trainId}`; other text is kept as written. */
export function expandTemplate(template: string, values: TrainValues): string {
  return template.replace(/\{(tag|commit|environment|service|trainId)\}/g, (_, key: keyof TrainValues) => values[key]);
}

function expandAll(templates: Record<string, string>, values: TrainValues): Record<string, string> {
  return Object.fromEntries(Object.entries(templates).map(([k, v]) => [k, expandTemplate(v, values)]));
}

/**
 * How far before the step's first schedule time a run still counts as the step's own: the worker's,
 * Temporal's and the forge's clocks differ by this much at most (NTP keeps them within a second).
 * Kept small because GitHub cannot tell two dispatches of one workflow and ref apart otherwise.
 */
export const TRIGGER_CLOCK_SKEW_MS = 3_000;

/**
 * Polls of a run in a row that may fail with a forge blip (5xx, timeout, rate limit) before the
 * attempt gives up and Temporal retries it: a pipeline watched for an hour sees a few such answers,
 * and each must not cost an attempt (the run goes on regardless; the next poll sees it).
 */
export const POLL_FAILURES_TOLERATED = 5;

const FORGE_BLIPS = new Set(['FORGE_UNAVAILABLE', 'FORGE_RATE_LIMITED']);
const isForgeBlip = (err: unknown) => err instanceof TrainyardError && FORGE_BLIPS.has(err.code);

/** What a heartbeat records, so a resumed attempt watches the same run. */
interface Progress {
  runId: string;
}

function progressOf(value: unknown): Progress | undefined {
  const p = value as Partial<Progress> | undefined;
  return p && typeof p.runId === 'string' ? { runId: p.runId } : undefined;
}

export interface WatchOptions {
  /** Time between polls. */
  pollMs: number;
  timeoutMs: number;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Starts (or, on a resumed attempt, finds again) the run for a train and follows it to its end. */
export class PipelineRunner {
  constructor(
    private readonly forge: Forge,
    private readonly config: PipelineDriverConfig,
    private readonly options: WatchOptions,
  ) {}

  private async start(values: TrainValues, ctx: DeployContext): Promise<PipelineRun> {
    const ref = this.config.ref ? expandTemplate(this.config.ref, values) : values.tag;
    if (this.config.kind === 'gitlab-pipeline' && this.config.job) {
      const pipeline = await this.forge.latestPipeline(ref);
      if (!pipeline) {
        throw new TrainyardError('DEPLOY_FAILED', `no pipeline ran for ${ref}, so its manual job "${this.config.job}" cannot be played`, 'Check that CI runs for tags; it is retried in case the pipeline is still being created.');
      }
      return this.forge.playJob(pipeline.id, this.config.job);
    }
    const variables = expandAll(this.config.kind === 'github-actions' ? this.config.inputs : this.config.variables, values);
    const trigger = { ref, variables, ...(this.config.kind === 'github-actions' ? { workflow: this.config.workflow } : {}) };
    // A later attempt first looks for the run an earlier one started but never heard back about (its
    // answer lost to a timeout or a reset, or its worker killed before the first heartbeat). A run
    // that is still going or succeeded is this step's; one that failed is why this attempt exists.
    if ((ctx.attempt ?? 1) > 1 && ctx.firstScheduledAt !== undefined) {
      const earlier = await this.forge.findTriggeredPipeline(trigger, ctx.firstScheduledAt - TRIGGER_CLOCK_SKEW_MS);
      if (earlier && earlier.status !== 'failed' && earlier.status !== 'canceled') return earlier;
    }
    return this.forge.triggerPipeline(trigger);
  }

  /** The run a resumed attempt watches: its first read waits out forge blips like every poll. */
  private async readResumed(runId: string, signal: AbortSignal): Promise<PipelineRun> {
    for (let failed = 0; ; failed++) {
      try {
        return await this.forge.getPipeline(runId);
      } catch (err) {
        if (!isForgeBlip(err) || failed >= POLL_FAILURES_TOLERATED || signal.aborted) throw err;
        await (this.options.sleep ?? abortableSleep)(this.options.pollMs, signal);
      }
    }
  }

  /** Runs to completion; returns the finished run (success, failed or canceled). */
  async run(values: TrainValues, ctx: DeployContext): Promise<PipelineRun> {
    const now = this.options.now ?? Date.now;
    const sleep = this.options.sleep ?? abortableSleep;
    const resumed = progressOf(ctx.resumeFrom);
    let run = resumed ? await this.readResumed(resumed.runId, ctx.signal) : await this.start(values, ctx);
    ctx.heartbeat({ runId: run.id } satisfies Progress);
    const deadline = now() + this.options.timeoutMs;
    let failedPolls = 0;
    while (!PIPELINE_DONE.includes(run.status)) {
      if (ctx.signal.aborted) {
        await this.forge.cancelPipeline(run.id);
        throw new TrainyardError('DEPLOY_FAILED', `run ${run.url} was cancelled with the train`, 'The train was aborted or cancelled.');
      }
      if (now() > deadline) {
        await this.forge.cancelPipeline(run.id).catch(() => undefined);
        throw new TrainyardError('DEPLOY_TIMEOUT', `run ${run.url} did not finish within ${Math.round(this.options.timeoutMs / 1000)}s (still ${run.status})`, 'It was cancelled; raise timeoutSeconds if the run is legitimately slow.');
      }
      await sleep(this.options.pollMs, ctx.signal);
      ctx.heartbeat({ runId: run.id } satisfies Progress);
      if (ctx.signal.aborted) continue;
      try {
        run = await this.forge.getPipeline(run.id);
        failedPolls = 0;
      } catch (err) {
        if (!isForgeBlip(err) || ++failedPolls > POLL_FAILURES_TOLERATED) throw err;
      }
    }
    return run;
  }
}

function describeRun(run: PipelineRun): string {
  const failed = run.failedJobs?.length ? `; failed jobs: ${run.failedJobs.map((j) => `${j.name} (${j.url})`).join(', ')}` : '';
  return `run ${run.url} ended ${run.status}${failed}`;
}

function watchOptions(config: PipelineDriverConfig): WatchOptions {
  return { pollMs: config.pollSeconds * 1000, timeoutMs: config.timeoutSeconds * 1000 };
}

export class PipelineDeployer implements Deployer {
  /** A later attempt watches the earlier attempt's run (or finds it), never the version URL. */
  readonly followsEarlierRuns = true;
  private readonly runner: PipelineRunner;
  constructor(forge: Forge, config: PipelineDriverConfig, options: WatchOptions = watchOptions(config)) {
    this.runner = new PipelineRunner(forge, config, options);
  }

  async deploy(req: DeployRequest, ctx: DeployContext): Promise<{ summary: string; url: string }> {
    const run = await this.runner.run(req, ctx);
    if (run.status === 'success') return { summary: `deployed ${req.tag} to ${req.environment}: ${run.url}`, url: run.url };
    throw new TrainyardError('DEPLOY_FAILED', `deploy of ${req.tag} to ${req.environment}: ${describeRun(run)}`, 'It is retried with backoff; when retries are exhausted the train waits for `trainyard retry-deploy` or `abort`');
  }
}

export class PipelineCheck implements Check {
  private readonly runner: PipelineRunner;
  constructor(forge: Forge, config: PipelineDriverConfig, options: WatchOptions = watchOptions(config)) {
    this.runner = new PipelineRunner(forge, config, options);
  }

  async run(req: CheckRequest, ctx: CheckContext): Promise<CheckOutcome> {
    const run = await this.runner.run(req, ctx);
    if (run.status === 'success') return { passed: true, summary: `${req.check} passed: ${run.url}`, url: run.url };
    const firstFailed = run.failedJobs?.[0]?.url;
    return { passed: false, summary: describeRun(run), url: firstFailed ?? run.url };
  }
}
