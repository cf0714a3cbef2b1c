/**
 * Preview environments' side effects: a `PreviewDriver` per service (kind `command`: one program
 * per step) and PR comments through the service's forge. `createPreviewActivities(deps)` is what the
 * worker registers; errors cross the boundary through the one translation point (activities/index.ts).
 */
import { resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import { TrainyardError } from '../domain/errors.js';
import type { PreviewDriverConfig } from '../domain/preview-config.js';
import type { Forge } from './forge/forge.js';
import { heartbeat, translated } from './index.js';
import { describeExit, runCommand } from './process.js';

export interface PreviewStepContext {
  signal: AbortSignal;
  heartbeat: () => void;
}

/** A deployer of kind `preview`. Every step is idempotent; `destroy` succeeds when nothing is left. */
export interface PreviewDriver {
  create(name: string, target: { sha: string; pr: number }, ctx: PreviewStepContext): Promise<{ url: string }>;
  update(name: string, sha: string, ctx: PreviewStepContext): Promise<void>;
  destroy(name: string, ctx: PreviewStepContext): Promise<void>;
}

export interface PreviewRequest {
  service: string;
  pr: number;
  name: string;
}

export interface PreviewActivities {
  createPreview(req: PreviewRequest & { sha: string }): Promise<{ url: string }>;
  updatePreview(req: PreviewRequest & { sha: string }): Promise<void>;
  destroyPreview(req: PreviewRequest): Promise<void>;
  commentOnPullRequest(req: { service: string; pr: number; body: string }): Promise<void>;
}

const URL_LINE = /^https?:\/\/\S+$/;

/** The last line of output that is a URL (programs print progress before it). */
export function urlFromOutput(output: string): string | undefined {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => URL_LINE.test(l))
    .at(-1);
}

/** `command` preview driver: runs `create`/`update`/`destroy` with TRAINYARD_PREVIEW_* variables. */
export class CommandPreviewDriver implements PreviewDriver {
  constructor(
    private readonly service: string,
    private readonly config: PreviewDriverConfig,
    private readonly baseDir: string,
  ) {}

  private async run(step: 'create' | 'update' | 'destroy', vars: Record<string, string>, ctx: PreviewStepContext): Promise<string> {
    const argv = this.config[step];
    const result = await runCommand(argv, {
      cwd: resolve(this.baseDir, this.config.cwd ?? '.'),
      env: { ...this.config.env, TRAINYARD_SERVICE: this.service, ...vars },
      timeoutMs: this.config.timeoutSeconds * 1000,
      signal: ctx.signal,
      onTick: ctx.heartbeat,
    });
    if (result.exitCode === 0) return result.tail;
    const what = `preview ${step} of ${vars.TRAINYARD_PREVIEW_NAME}`;
    if (ctx.signal.aborted) throw new TrainyardError('DEPLOY_FAILED', `${what} was cancelled`, 'The preview workflow was cancelled; its destroy step still runs.');
    throw new TrainyardError(result.timedOut ? 'DEPLOY_TIMEOUT' : 'DEPLOY_FAILED', `${what}: ${describeExit(argv, result)}`, `It is retried a few times; then the PR is told and the next push retries. Check the ${step} program of previews.${this.service}.`);
  }

  async create(name: string, target: { sha: string; pr: number }, ctx: PreviewStepContext): Promise<{ url: string }> {
    const output = await this.run('create', { TRAINYARD_PREVIEW_NAME: name, TRAINYARD_SHA: target.sha, TRAINYARD_PR: String(target.pr) }, ctx);
    const url = urlFromOutput(output);
    if (!url) {
      throw new TrainyardError('DEPLOY_FAILED', `preview create of ${name} succeeded but printed no URL`, 'Make the create program print the preview URL (http:// or https://) as its last line of output.');
    }
    return { url };
  }

  async update(name: string, sha: string, ctx: PreviewStepContext): Promise<void> {
    await this.run('update', { TRAINYARD_PREVIEW_NAME: name, TRAINYARD_SHA: sha }, ctx);
  }

  async destroy(name: string, ctx: PreviewStepContext): Promise<void> {
    await this.run('destroy', { TRAINYARD_PREVIEW_NAME: name }, ctx);
  }
}

export interface PreviewDeps {
  /** The preview driver of a service; UNKNOWN_SERVICE (non-retryable) when it has no `previews` entry. */
  driverFor(service: string): PreviewDriver;
  forgeFor(service: string): Forge;
}

function stepContext(): PreviewStepContext {
  const ctx = Context.current();
  return { signal: ctx.cancellationSignal, heartbeat: () => heartbeat() };
}

export function createPreviewActivities(deps: PreviewDeps): PreviewActivities {
  return translated<PreviewActivities>({
    async createPreview(req) {
      return deps.driverFor(req.service).create(req.name, { sha: req.sha, pr: req.pr }, stepContext());
    },
    async updatePreview(req) {
      await deps.driverFor(req.service).update(req.name, req.sha, stepContext());
    },
    async destroyPreview(req) {
      await deps.driverFor(req.service).destroy(req.name, stepContext());
    },
    async commentOnPullRequest(req) {
      await deps.forgeFor(req.service).comment(req.pr, req.body);
    },
  });
}

/** Builds `driverFor` from the `previews` config fragment. */
export function previewDrivers(previews: Record<string, { driver: PreviewDriverConfig }>, baseDir: string): (service: string) => PreviewDriver {
  const drivers = new Map(Object.entries(previews).map(([service, p]) => [service, new CommandPreviewDriver(service, p.driver, baseDir)]));
  return (service) => {
    const driver = drivers.get(service);
    if (!driver) {
      throw new TrainyardError('UNKNOWN_SERVICE', `service "${service}" has no preview environments configured`, `Add previews.${service} to the config (driver, ttlHours, quietSeconds) and restart the worker.`);
    }
    return driver;
  };
}
