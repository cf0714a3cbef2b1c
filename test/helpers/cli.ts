/**
 * Running the `trainyard` CLI from a test, two ways:
 *
 * - `runCli`: the CLI's own `main` (what bin/trainyard.js runs) in this process, with its own
 *   output and environment. The command parsing, the commands, their connections to Temporal and
 *   everything they print are the product's; only the Node start is skipped, which costs ~0.7 s of
 *   CPU per command and made CLI-heavy files the slowest of the suite.
 * - `spawnCli`: the built bin as a child process, exactly as a person runs it (exit code, stdout and
 *   stderr of a real process). Each file that drives the CLI keeps a few of these.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../client/cli.js';
import { projectRoot } from '../../workers/bundle.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment variables the command sees on top of this process's (undefined removes one). */
export type CliEnv = Record<string, string | undefined>;

function merged(env: CliEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out;
}

export async function runCli(args: string[], env: CliEnv = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'trainyard', ...args], {
    env: merged(env),
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
  });
  return { code, stdout, stderr };
}

export async function spawnCli(args: string[], env: CliEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(projectRoot(), 'bin', 'trainyard.js'), ...args], { env: merged(env), maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
