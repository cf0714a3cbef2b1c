/**
 * `command` deployer: runs a program with the tag, commit, environment and train id in its
 * environment. Its heartbeats record the program's process (host, pid, start time), so an attempt
 * after a worker died on the same host waits for the orphaned program to finish (or stops it once
 * its timeout has passed) before anything else (`settle`, then the version check of
 * activities/deploy/once.ts, then the program again): the two never run at once.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { TrainyardError } from '../../domain/errors.js';
import type { CommandDriverConfig } from '../../domain/config.js';
import { describeExit, processStartTicks, runCommand, stillRunning, stopGroup } from '../process.js';
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

/** What a command deployer's heartbeats record: the program it runs. */
interface ProcessProgress {
  process: { host: string; pid: number; start: string; startedAt: number };
}

function orphanOf(resumeFrom: unknown): ProcessProgress['process'] | undefined {
  const p = (resumeFrom as Partial<ProcessProgress> | undefined)?.process;
  return p && typeof p.host === 'string' && Number.isInteger(p.pid) && typeof p.start === 'string' && typeof p.startedAt === 'number' ? p : undefined;
}

export class CommandDeployer implements Deployer {
  constructor(
    private readonly config: CommandDriverConfig,
    private readonly baseDir: string,
  ) {}

  /** Waits out the program an earlier attempt started on this host (see `outlive`). */
  async settle(ctx: DeployContext): Promise<void> {
    await this.outlive(orphanOf(ctx.resumeFrom), ctx);
  }

  async deploy(req: DeployRequest, ctx: DeployContext): Promise<{ summary: string }> {
    await this.settle(ctx);
    const result = await runCommand(this.config.command, {
      cwd: resolve(this.baseDir, this.config.cwd ?? '.'),
      env: { ...this.config.env, ...trainEnv(req) },
      timeoutMs: this.config.timeoutSeconds * 1000,
      signal: ctx.signal,
      onTick: () => ctx.heartbeat(),
      onStart: (pid) => {
        const start = processStartTicks(pid);
        if (start) ctx.heartbeat({ process: { host: hostname(), pid, start, startedAt: Date.now() } } satisfies ProcessProgress);
      },
    });
    if (result.exitCode === 0) return { summary: `deployed ${req.tag} to ${req.environment} in ${Math.round(result.durationMs / 1000)}s` };
    if (ctx.signal.aborted) throw new TrainyardError('DEPLOY_FAILED', `deploy of ${req.tag} to ${req.environment} was cancelled`, 'The train was aborted or cancelled.');
    throw new TrainyardError(
      result.timedOut ? 'DEPLOY_TIMEOUT' : 'DEPLOY_FAILED',
      `deploy of ${req.tag} to ${req.environment}: ${describeExit(this.config.command, result)}`,
      'It is retried with backoff; when retries are exhausted the train waits for `trainyard retry-deploy` or `abort`',
    );
  }

  /**
   * The program a previous attempt started on this host, if it still runs (its worker died): wait
   * for it, heartbeating, until it ends or its own timeout has passed (then stop its process group).
   * Cancelling the step stops it too. Another host's program cannot be seen from here.
   */
  private async outlive(orphan: ProcessProgress['process'] | undefined, ctx: DeployContext): Promise<void> {
    if (!orphan || orphan.host !== hostname() || !stillRunning(orphan.pid, orphan.start)) return;
    const deadline = orphan.startedAt + this.config.timeoutSeconds * 1000;
    while (stillRunning(orphan.pid, orphan.start)) {
      if (ctx.signal.aborted || Date.now() > deadline) {
        await stopGroup(orphan.pid);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
