/** `command` check: a test program; exit code 0 passes. */
import { resolve } from 'node:path';
import type { CommandDriverConfig } from '../../domain/config.js';
import type { CheckOutcome } from '../../domain/train.js';
import { trainEnv } from '../deploy/command.js';
import { describeExit, runCommand } from '../process.js';
import type { CheckRequest } from '../types.js';
import type { Check, CheckContext } from './check.js';

export class CommandCheck implements Check {
  constructor(
    private readonly config: CommandDriverConfig,
    private readonly baseDir: string,
  ) {}

  async run(req: CheckRequest, ctx: CheckContext): Promise<CheckOutcome> {
    const result = await runCommand(this.config.command, {
      cwd: resolve(this.baseDir, this.config.cwd ?? '.'),
      env: { ...this.config.env, ...trainEnv(req), TRAINYARD_CHECK: req.check },
      timeoutMs: this.config.timeoutSeconds * 1000,
      signal: ctx.signal,
      onTick: ctx.heartbeat,
    });
    if (result.exitCode === 0) return { passed: true, summary: `${req.check} passed in ${Math.round(result.durationMs / 1000)}s` };
    return { passed: false, summary: describeExit(this.config.command, result) };
  }
}
