/**
 * A local CI run as stored in `<gitdir>/trainyard/pipelines/<id>.json`. The forge creates it
 * (pending); from then on only its runner (local-ci-runner.mjs) rewrites it. Next to it:
 * `<id>.log` (the command's output), `<id>.canceled` (written by cancelPipeline) and
 * `<id>.links.json` (the run a retry started, the runs of played jobs; written under the lock).
 */
import { TrainyardError } from '../../domain/errors.js';
import type { PipelineStatus } from './forge.js';

export interface PipelineRecord {
  id: string;
  kind: 'pipeline' | 'job';
  /** For a job: its name and the run it was played from. */
  job?: string;
  pipelineId?: string;
  /** The run this one retries. */
  retryOf?: string;
  ref: string;
  sha: string;
  variables: Record<string, string>;
  command: string[];
  /** Repository the runner checks the commit out of. */
  repo: string;
  /** Where the command runs; a fresh work tree of `sha` when absent. */
  cwd?: string;
  /** The fresh work tree, while it exists (set by the runner). */
  worktree?: string;
  /** The commit's CI state file this run reports to (pipelines do, manual jobs do not). */
  statusFile?: string;
  log: string;
  status: PipelineStatus;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** The runner's pid (its own process group), and the command's process group. */
  pid?: number;
  commandPid?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** Why it failed, in words. */
  reason?: string;
}

export interface PipelineLinks {
  retriedAs?: string;
  jobs?: Record<string, string>;
}

const STATUSES: readonly string[] = ['pending', 'running', 'manual', 'success', 'failed', 'canceled'];

export function isPipelineRecord(value: unknown): value is PipelineRecord {
  const v = value as Partial<PipelineRecord> | null;
  return (
    typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.ref === 'string' && typeof v.sha === 'string' &&
    typeof v.status === 'string' && STATUSES.includes(v.status) && Array.isArray(v.command) && typeof v.log === 'string' &&
    typeof v.variables === 'object' && v.variables !== null
  );
}

export function isPipelineLinks(value: unknown): value is PipelineLinks {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Names the runner sets itself, and ones that would change how programs load. */
const RESERVED = /^(TRAINYARD_PIPELINE_|LD_|DYLD_)|^(PATH|HOME|NODE_OPTIONS)$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,99}$/;
const MAX_VARIABLES = 200;
const MAX_VALUE = 10_000;

/** Variables become environment variables of the command: names must be usable as such. */
export function checkVariables(variables: Record<string, string>): void {
  const entries = Object.entries(variables);
  const hint = 'Fix the variables in the deployer config.';
  if (entries.length > MAX_VARIABLES) throw new TrainyardError('FORGE_INVALID', `${entries.length} variables is more than ${MAX_VARIABLES}`, hint);
  for (const [name, value] of entries) {
    if (!NAME.test(name)) throw new TrainyardError('FORGE_INVALID', `"${name.slice(0, 100)}" is not a usable variable name`, `${hint} Names are letters, digits, "_" and "-", not starting with a digit.`);
    if (RESERVED.test(name)) throw new TrainyardError('FORGE_INVALID', `variable ${name} is reserved`, `${hint} PATH, HOME, NODE_OPTIONS, LD_*, DYLD_* and TRAINYARD_PIPELINE_* cannot be set.`);
    if (typeof value !== 'string' || value.length > MAX_VALUE || value.includes('\0')) {
      throw new TrainyardError('FORGE_INVALID', `variable ${name} is not a string of at most ${MAX_VALUE} characters without NUL`, hint);
    }
  }
}
