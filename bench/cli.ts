/**
 * How fast the `trainyard` CLI answers, side by side with what it is measured against, in one run
 * (the pairs alternate, so machine noise falls on both): `trainyard --help` against `node -e 0`
 * (the cost of starting Node at all), and `trainyard status <train> --json` against
 * `temporal workflow query --name status` on the same server and train (the same answer through the
 * Temporal CLI, a Go binary). Each sample is a fresh process.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { temporalCliPath } from '../client/toolchain.js';
import { projectRoot } from '../workers/bundle.js';
import type { Stack } from './stack.js';
import { median } from './stats.js';
import { DAY, reach, startTrain } from './trains.js';

export interface CliResult {
  samples: number;
  help: { trainyardMs: number; nodeMs: number; ratio: number };
  status: { trainyardMs: number; temporalMs: number; ratio: number };
}

const run = promisify(execFile);

async function timed(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  await run(file, args, { env });
  return performance.now() - started;
}

export async function measureCli(stack: Stack, samples: number): Promise<CliResult> {
  const handle = await startTrain(stack.client, 'clibench', Date.now() + DAY);
  await reach(handle, 'awaiting-release');
  const env = { ...process.env, TEMPORAL_ADDRESS: stack.server.address, TEMPORAL_NAMESPACE: 'default' };
  const bin = join(projectRoot(), 'bin', 'trainyard.js');
  const temporal = temporalCliPath();
  const pairs = {
    help: [() => timed(process.execPath, [bin, '--help'], env), () => timed(process.execPath, ['-e', '0'], env)],
    status: [
      () => timed(process.execPath, [bin, 'status', handle.workflowId, '--json'], env),
      () => timed(temporal, ['workflow', 'query', '--workflow-id', handle.workflowId, '--name', 'status', '--address', stack.server.address, '--namespace', 'default'], env),
    ],
  } as const;
  const got: Record<keyof typeof pairs, [number[], number[]]> = { help: [[], []], status: [[], []] };
  // One warm-up of each, then the samples, alternating which of a pair goes first.
  for (const [first, second] of Object.values(pairs)) await Promise.all([first(), second()].map((p) => p.catch(() => 0)));
  for (let i = 0; i < samples; i++) {
    for (const [name, [ours, theirs]] of Object.entries(pairs) as [keyof typeof pairs, (typeof pairs)[keyof typeof pairs]][]) {
      if (i % 2 === 0) {
        got[name][0].push(await ours());
        got[name][1].push(await theirs());
      } else {
        got[name][1].push(await theirs());
        got[name][0].push(await ours());
      }
    }
  }
  const help = { trainyardMs: median(got.help[0]), nodeMs: median(got.help[1]) };
  const status = { trainyardMs: median(got.status[0]), temporalMs: median(got.status[1]) };
  await handle.terminate('bench over');
  return { samples, help: { ...help, ratio: help.trainyardMs / help.nodeMs }, status: { ...status, ratio: status.trainyardMs / status.temporalMs } };
}
