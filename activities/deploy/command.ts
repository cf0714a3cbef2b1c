/** `command` deployer: runs a program with the tag, commit, environment and train id in its environment. */
import { resolve } from 'node:path';
import { TrainyardError } from '../../domain/errors.js';
import type { CommandDriverConfig } from '../../domain/config.js';
import { describeExit, runCommand } from '../process.js';
import type { DeployRequest } from '../types.js';
import type { DeployContext, Deployer } from './deployer.js';

export function trainEnv(req: { service: string; environment: string; tag: string; commit: string; trainId: string }): Record<string, string> {
  return {
    TRAINYARD_SERVICE: req.service,
    TRAINYARD_ENVIRONMENT: req.environment,
    TRAINYARD_TAG: req.tag,
    TRAINYARD_COMMIT: req.commit,
    TRAINYARD_TRAIN_ID: req.trainId,
  };
}

export class CommandDeployer implements Deployer {
  constructor(
    private readonly config: CommandDriverConfig,
    private readonly baseDir: string,
  ) {}

  async deploy(req: DeployRequest, ctx: DeployContext): Promise<{ summary: string }> {
    const result = await runCommand(this.config.command, {
      cwd: resolve(this.baseDir, this.config.cwd ?? '.'),
      env: { ...this.config.env, ...trainEnv(req) },
      timeoutMs: this.config.timeoutSeconds * 1000,
      signal: ctx.signal,
      onTick: ctx.heartbeat,
    });
    if (result.exitCode === 0) return { summary: `deployed ${req.tag} to ${req.environment} in ${Math.round(result.durationMs / 1000)}s` };
    if (ctx.signal.aborted) throw new TrainyardError('DEPLOY_FAILED', `deploy of ${req.tag} to ${req.environment} was cancelled`, 'The train was aborted or cancelled.');
    throw new TrainyardError(
      result.timedOut ? 'DEPLOY_TIMEOUT' : 'DEPLOY_FAILED',
      `deploy of ${req.tag} to ${req.environment}: ${describeExit(this.config.command, result)}`,
      'It is retried with backoff; when retries are exhausted the train waits for `trainyard retry-deploy` or `abort`',
    );
  }
}
