/**
 * Local CI: a pipeline is the configured `ci.command` run by local-ci-runner.mjs, a detached
 * process (its own process group), so a run outlives the worker that started it and a restarted
 * worker finds it through its record. Its exit code is the run's result and the commit's CI state.
 *
 * Retrying a finished run starts a new run (a new id, `retryOf` the old one); retrying the same
 * run again returns that new run, so a retried activity never starts two. Playing a job starts a
 * run of `ci.jobs[job]` on the pipeline's commit; playing it again returns that run unless it
 * failed or was canceled.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TrainyardError } from '../../domain/errors.js';
import { PIPELINE_DONE, sameVariables, type PipelineRun, type PipelineStatus, type PipelineTrigger } from './forge.js';
import { checkVariables, isPipelineLinks, isPipelineRecord, type PipelineLinks, type PipelineRecord } from './local-ci-record.js';
import type { GitRepo } from './local-git-repo.js';
import { createExclusively, createNumbered, ensureDir, isCommitStateRecord, readJson, recordNumbers, withLock, writeJson } from './local-git-store.js';

export interface LocalCiConfig {
  command: string[];
  jobs: Record<string, string[]>;
  /** Run here instead of in a fresh work tree of the commit. */
  cwd?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** Next to this file in the source tree; from dist/activities/forge, back in the source tree (tsc does not copy .mjs). */
export const RUNNER = existsSync(join(here, 'local-ci-runner.mjs')) ? join(here, 'local-ci-runner.mjs') : join(here, '..', '..', '..', 'activities', 'forge', 'local-ci-runner.mjs');

/** A runner that has not reported after this long never started. */
const START_GRACE_MS = 60_000;
const DAMAGED = 'Delete the damaged file; the run is lost.';

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    /* it ended meanwhile */
  }
}

export class LocalCi {
  constructor(
    private readonly repo: GitRepo,
    private readonly config: LocalCiConfig | undefined,
  ) {}

  get configured(): boolean {
    return this.config !== undefined;
  }

  private requireConfig(): LocalCiConfig {
    if (!this.config) {
      throw new TrainyardError('FORGE_INVALID', `the local-git forge for ${this.repo.path} has no CI configured`, 'Add `ci: { command: [...] }` (and `jobs` for manual jobs) to the service\'s forge config.');
    }
    return this.config;
  }

  private dir(): Promise<string> {
    return this.repo.recordDir('pipelines');
  }

  private async load(id: string): Promise<PipelineRecord> {
    const record = /^[1-9]\d{0,9}$/.test(id) ? await readJson(join(await this.dir(), `${id}.json`), isPipelineRecord, DAMAGED) : undefined;
    if (!record) throw new TrainyardError('FORGE_NOT_FOUND', `pipeline ${id.slice(0, 40)} was not found in ${this.repo.path}`, 'Check the id (the runs are in .git/trainyard/pipelines).');
    return record;
  }

  private async links(id: string): Promise<{ path: string; links: PipelineLinks }> {
    const path = join(await this.dir(), `${id}.links.json`);
    return { path, links: (await readJson(path, isPipelineLinks, DAMAGED)) ?? {} };
  }

  /** The status a person would see: canceled once asked, failed when the runner died mid-run. */
  private async status(record: PipelineRecord): Promise<{ status: PipelineStatus; reason?: string }> {
    if (PIPELINE_DONE.includes(record.status)) return { status: record.status, ...(record.reason ? { reason: record.reason } : {}) };
    if (existsSync(join(await this.dir(), `${record.id}.canceled`))) return { status: 'canceled' };
    if (record.status === 'running' && !alive(record.pid)) {
      await this.removeWorktree(record);
      return { status: 'failed', reason: `its runner (pid ${record.pid}) exited without finishing it` };
    }
    if (record.status === 'pending' && Date.now() - Date.parse(record.createdAt) > START_GRACE_MS) return { status: 'failed', reason: 'its runner never started' };
    return { status: record.status };
  }

  /** What a killed runner could not clean up itself. */
  private async removeWorktree(record: PipelineRecord): Promise<void> {
    if (!record.worktree || !existsSync(record.worktree)) return;
    await this.repo.git(['worktree', 'remove', '--force', record.worktree]);
    await rm(record.worktree, { recursive: true, force: true });
  }

  private async toRun(record: PipelineRecord): Promise<PipelineRun> {
    const { status, reason } = await this.status(record);
    const url = pathToFileURL(record.log).href;
    // The reason rides in the job's name: it is what a notification shows next to the link.
    const name = `${record.job ?? 'ci'}${reason ? ` (${reason})` : ''}`;
    return { id: record.id, url, ref: record.ref, sha: record.sha, status, ...(status === 'failed' ? { failedJobs: [{ name, url }] } : {}) };
  }

  async trigger(trigger: PipelineTrigger): Promise<PipelineRun> {
    const config = this.requireConfig();
    const variables = { ...trigger.variables };
    checkVariables(variables);
    const sha = await this.repo.resolveRef(trigger.ref);
    return this.toRun(await this.start({ kind: 'pipeline', ref: trigger.ref, sha, variables, command: config.command }));
  }

  async get(id: string): Promise<PipelineRun> {
    return this.toRun(await this.load(id));
  }

  /** The newest triggered pipeline on `ref` with exactly these variables, created at or after `since`. */
  async findTriggered(trigger: PipelineTrigger, since: number): Promise<PipelineRun | undefined> {
    this.repo.checkRef(trigger.ref);
    const wanted = sameVariables(trigger.variables ?? {});
    const dir = await this.dir();
    for (const n of (await recordNumbers(dir)).reverse()) {
      const record = await readJson(join(dir, `${n}.json`), isPipelineRecord, DAMAGED);
      if (!record) continue;
      // Numbered in creation order: everything older is older still.
      if (Date.parse(record.createdAt) < since) return undefined;
      if (record.kind === 'pipeline' && !record.retryOf && record.ref === trigger.ref && wanted(record.variables)) return this.toRun(record);
    }
    return undefined;
  }

  /** The newest pipeline (not a played job) triggered for exactly this ref. */
  async latest(ref: string): Promise<PipelineRun | undefined> {
    this.repo.checkRef(ref);
    const dir = await this.dir();
    for (const n of (await recordNumbers(dir)).reverse()) {
      const record = await readJson(join(dir, `${n}.json`), isPipelineRecord, DAMAGED);
      if (record?.kind === 'pipeline' && record.ref === ref) return this.toRun(record);
    }
    return undefined;
  }

  async retry(id: string): Promise<PipelineRun> {
    const config = this.requireConfig();
    return this.locked(async () => {
      const record = await this.load(id);
      const { path, links } = await this.links(id);
      if (links.retriedAs) return this.get(links.retriedAs);
      const { status } = await this.status(record);
      // Nothing failed: the run itself is the one to watch.
      if (status !== 'failed' && status !== 'canceled') return this.toRun(record);
      // The command as configured now: a retry often follows a fix of the config.
      const command = record.kind === 'job' ? this.jobCommand(record.job ?? '') : config.command;
      const job = record.job === undefined ? {} : { job: record.job, ...(record.pipelineId ? { pipelineId: record.pipelineId } : {}) };
      const next = await this.start({ kind: record.kind, ref: record.ref, sha: record.sha, variables: record.variables, command, ...job, retryOf: id });
      await writeJson(path, { ...links, retriedAs: next.id });
      return this.toRun(next);
    });
  }

  private jobCommand(job: string): string[] {
    const jobs = this.requireConfig().jobs;
    const command = Object.hasOwn(jobs, job) ? jobs[job] : undefined;
    if (!command) {
      const known = Object.keys(jobs);
      throw new TrainyardError('FORGE_NOT_FOUND', `the local CI has no job "${job.slice(0, 100)}"`, known.length ? `Known jobs: ${known.join(', ')}.` : 'Add it under `ci.jobs` in the service\'s forge config.');
    }
    return command;
  }

  async playJob(pipelineId: string, job: string): Promise<PipelineRun> {
    const command = this.jobCommand(job);
    return this.locked(async () => {
      const pipeline = await this.load(pipelineId);
      const { path, links } = await this.links(pipelineId);
      const earlier = links.jobs?.[job];
      if (earlier !== undefined) {
        const run = await this.get(earlier);
        if (run.status !== 'failed' && run.status !== 'canceled') return run;
      }
      const next = await this.start({ kind: 'job', job, pipelineId, ref: pipeline.ref, sha: pipeline.sha, variables: pipeline.variables, command });
      await writeJson(path, { ...links, jobs: { ...links.jobs, [job]: next.id } });
      return this.toRun(next);
    });
  }

  async cancel(id: string): Promise<void> {
    const record = await this.load(id);
    if (PIPELINE_DONE.includes((await this.status(record)).status)) return;
    // The marker first: a runner that has not started its command yet sees it and never does.
    await createExclusively(join(await this.dir(), `${id}.canceled`), `${new Date().toISOString()}\n`);
    const current = await this.load(id);
    // The runner stops its command and cleans up; a runner already gone leaves its command to us.
    if (current.pid && alive(current.pid)) signal(current.pid, 'SIGTERM');
    else if (current.commandPid && alive(current.commandPid)) signal(-current.commandPid, 'SIGKILL');
    if (current.statusFile) await this.reportState(current, 'failure');
  }

  /** Sets the commit's CI state unless a newer run of the commit (or a person) has set it since. */
  private async reportState(record: PipelineRecord, state: 'failure'): Promise<void> {
    const file = record.statusFile;
    if (!file) return;
    const current = await readJson(file, isCommitStateRecord, 'Record the state again.').catch(() => undefined);
    if (current?.pipelineId === record.id) await writeJson(file, { state, pipelineId: record.id, updatedAt: new Date().toISOString() });
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(await this.dir(), fn);
  }

  /** Creates the run's record (pending), claims the commit's CI state, and starts its runner. */
  private async start(spec: Pick<PipelineRecord, 'kind' | 'ref' | 'sha' | 'variables' | 'command'> & Partial<PipelineRecord>): Promise<PipelineRecord> {
    const dir = await this.dir();
    const statusFile = spec.kind === 'pipeline' ? join(await this.repo.recordDir('status'), `${spec.sha}.json`) : undefined;
    const record = await createNumbered<PipelineRecord>(dir, (n) => ({
      ...spec,
      id: String(n),
      repo: this.repo.path,
      ...(this.config?.cwd ? { cwd: this.config.cwd } : {}),
      ...(statusFile ? { statusFile } : {}),
      log: join(dir, `${n}.log`),
      status: 'pending',
      createdAt: new Date().toISOString(),
    }));
    if (statusFile) {
      await ensureDir(dirname(statusFile));
      await writeJson(statusFile, { state: 'pending', pipelineId: record.id, updatedAt: record.createdAt });
    }
    const child = spawn(process.execPath, [RUNNER, join(dir, `${record.id}.json`)], {
      detached: true,
      stdio: 'ignore',
      cwd: dir,
      // Only what a program needs to run: the worker's secrets stay in the worker.
      env: Object.fromEntries(['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : []))),
    });
    // A runner that cannot start shows as failed once its start grace has passed.
    child.on('error', () => undefined);
    child.unref();
    return record;
  }
}
