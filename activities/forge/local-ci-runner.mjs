/**
 * Runs one local CI run for the local-git forge (see local-ci.ts): `node local-ci-runner.mjs
 * <pipelines>/<id>.json`. Started detached, so it outlives the worker; from the moment it starts it
 * is the only writer of the run's record.
 *
 * It checks the commit out into a fresh work tree (unless the run has a `cwd`), runs the command
 * there without a shell, in its own process group, with the output going to the run's log and
 * TRAINYARD_PIPELINE_ID / _REF / _SHA (and _JOB for a job) plus the run's variables in its
 * environment; then it records the result, and for a pipeline the commit's CI state. SIGTERM (from
 * cancelPipeline) stops the command's group, SIGKILL after a grace period.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Nothing a release waits for runs this long; a forgotten run must not live forever. */
const MAX_RUN_MS = 6 * 60 * 60 * 1000;
const KILL_GRACE_MS = 5_000;

const recordPath = process.argv[2] ?? '';
const canceledPath = recordPath.replace(/\.json$/, '.canceled');
let record = JSON.parse(await readFile(recordPath, 'utf8'));
const log = openSync(record.log, 'a');
const note = (line) => writeSync(log, `[trainyard] ${line}\n`);

async function writeJson(path, value) {
  const temp = `${path}.${randomUUID()}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temp, path);
}

async function save(changes) {
  record = { ...record, ...changes };
  await writeJson(recordPath, record);
}

/** Sets the commit's CI state, unless a newer run of the commit (or a person) set it since. */
async function report(state) {
  if (!record.statusFile) return;
  const current = await readFile(record.statusFile, 'utf8').then(JSON.parse, () => undefined);
  if (current?.pipelineId === record.id) await writeJson(record.statusFile, { state, pipelineId: record.id, updatedAt: new Date().toISOString() });
}

function git(args) {
  return new Promise((resolve) => {
    execFile('git', args, { timeout: 300_000 }, (err, _stdout, stderr) => resolve({ ok: !err, stderr: String(stderr).trim().slice(0, 1000) }));
  });
}

/** Retried when it trips over another work tree being created at the same moment (see GitRepo.addWorktree). */
async function addWorktree(dir) {
  for (let attempt = 1; ; attempt++) {
    const added = await git(['-C', record.repo, '-c', 'core.hooksPath=/dev/null', 'worktree', 'add', '--detach', '--end-of-options', dir, record.sha]);
    if (added.ok || attempt === 5 || !added.stderr.includes('worktrees/')) return added;
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * attempt));
  }
}

let canceled = false;
let child;
const stop = (signal) => {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
};
const cancel = () => {
  canceled = true;
  stop('SIGTERM');
  setTimeout(() => stop('SIGKILL'), KILL_GRACE_MS).unref();
};
process.on('SIGTERM', cancel);
process.on('SIGINT', cancel);

const isCanceled = () => canceled || existsSync(canceledPath);
let worktree;

/** Cleans up first, so a run seen finished has left nothing behind. */
async function finish(status, details = {}) {
  if (worktree) {
    await git(['-C', record.repo, 'worktree', 'remove', '--force', worktree]);
    await rm(worktree, { recursive: true, force: true });
  }
  const final = isCanceled() ? 'canceled' : status;
  if (final !== status) details = { ...details, reason: 'canceled' };
  note(`${final}${details.reason ? `: ${details.reason}` : ''}`);
  await save({ status: final, finishedAt: new Date().toISOString(), ...details });
  await report(final === 'success' ? 'success' : 'failure');
  closeSync(log);
  process.exit(0);
}

await save({ status: 'running', pid: process.pid, startedAt: new Date().toISOString() });
// Checked after the pid is recorded: a cancel either finds the pid, or left its marker before this.
if (isCanceled()) await finish('canceled');

let cwd = record.cwd;
if (cwd && !existsSync(cwd)) await finish('failed', { reason: `its working directory ${cwd} does not exist` });
if (!cwd) {
  worktree = await mkdtemp(join(tmpdir(), 'trainyard-ci-'));
  // Recorded, so the forge can clean it up should this runner be killed.
  await save({ worktree });
  const added = await addWorktree(worktree);
  if (!added.ok) await finish('failed', { reason: `could not check out ${record.sha.slice(0, 12)}: ${added.stderr}` });
  cwd = worktree;
}
if (isCanceled()) await finish('canceled');

const [program, ...args] = record.command;
note(`running ${JSON.stringify(record.command)} for ${record.ref} at ${record.sha.slice(0, 12)} in ${cwd}`);
const env = {
  ...process.env,
  ...record.variables,
  TRAINYARD_PIPELINE_ID: record.id,
  TRAINYARD_PIPELINE_REF: record.ref,
  TRAINYARD_PIPELINE_SHA: record.sha,
  ...(record.job ? { TRAINYARD_PIPELINE_JOB: record.job } : {}),
};
let timedOut = false;
const ended = new Promise((resolve) => {
  try {
    child = spawn(program, args, { cwd, env, stdio: ['ignore', log, log], detached: true });
  } catch (error) {
    resolve({ error });
    return;
  }
  child.on('error', (error) => resolve({ error }));
  child.on('close', (code, signal) => resolve({ code, signal }));
});
if (child?.pid) await save({ commandPid: child.pid });
const timer = setTimeout(() => {
  timedOut = true;
  stop('SIGTERM');
  setTimeout(() => stop('SIGKILL'), KILL_GRACE_MS).unref();
}, MAX_RUN_MS);
timer.unref();
const { code, signal, error } = await ended;
clearTimeout(timer);

if (error) await finish('failed', { reason: error.code === 'ENOENT' ? `program "${program}" was not found` : String(error.message).slice(0, 300) });
const how = timedOut ? `timed out after ${MAX_RUN_MS / 3_600_000}h` : signal ? `killed by ${signal}` : `exited with ${code}`;
await finish(code === 0 && !timedOut ? 'success' : 'failed', { exitCode: code, signal, ...(code === 0 ? {} : { reason: how }) });
