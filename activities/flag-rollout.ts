/**
 * Side effects of a feature flag's rollout: the flag drivers (`forge-commit`, `command`, `webhook`),
 * the health query watched during a soak (a Prometheus instant query), the clean-up merge request
 * and notifications. Built from their dependencies so tests inject real local servers and repos.
 */
import { Context } from '@temporalio/activity';
import { resolve } from 'node:path';
import type { FlagConfig, FlagDriverConfig, FlagHealthConfig, FlagsConfig } from '../domain/flag-config.js';
import { TrainyardError } from '../domain/errors.js';
import { flagPlanOf, flagWorkflowId, type FlagPlan, type SoakReading } from '../domain/flag-rollout.js';
import { cleanedFile, setFlagInFile } from '../domain/flag-files.js';
import type { Forge } from './forge/forge.js';
import { heartbeat, translated } from './index.js';
import type { Notifier } from './notify/notifier.js';
import { describeExit, runCommand } from './process.js';
import { bodyTail, displayUrl, postSigned, redact } from './signing.js';
import type { TrainEvent } from './types.js';

export type FlagEvent = 'status' | 'tested' | 'rolled-back' | 'blocked' | 'operator-action' | 'cleanup' | 'aborted' | 'done';

export interface FlagNotification {
  flag: string;
  event: FlagEvent;
  text: string;
}

export interface SetFlagRequest {
  flag: string;
  environment: string;
  enabled: boolean;
}

export interface FlagActivities {
  /** The decision-relevant part of the flag's config (no driver settings, no secrets). */
  flagPlan(req: { flag: string }): Promise<FlagPlan>;
  /** Enables or disables the flag in one environment through its driver; idempotent. */
  setFlag(req: SetFlagRequest): Promise<{ summary: string }>;
  /** `baseline`: one sample now. `soak`: samples for the soak period, stopping at the first breach; heartbeats. */
  measureHealth(req: { flag: string; environment: string; mode: 'baseline' | 'soak' }): Promise<SoakReading>;
  /** Opens (or updates) the merge request that removes the flag. */
  openCleanupRequest(req: { flag: string }): Promise<{ url: string; number: number; created: boolean }>;
  /** Named apart from the train's `notify`: both are registered on one worker. */
  notifyFlag(req: FlagNotification): Promise<void>;
}

export interface FlagActivityDeps {
  flags: FlagsConfig;
  /** The forge of a service in the config (`drivers.forge`). */
  forge(service: string): Forge;
  /** Who hears about a flag (e.g. the notifiers of its clean-up service). */
  notifiers(flag: string): Notifier[];
  /** Where relative `cwd`s of command drivers start (the config file's folder). */
  baseDir: string;
  /** Where webhook secrets are read from. */
  environment?: Record<string, string | undefined>;
}

/** Flag events on the notifiers' train events (Slack and webhook notifiers filter by these). */
const NOTIFIER_EVENT: Record<FlagEvent, TrainEvent> = {
  status: 'promoted',
  tested: 'deployed',
  'rolled-back': 'rolled-back',
  blocked: 'failed',
  'operator-action': 'operator-action',
  cleanup: 'changelog',
  aborted: 'aborted',
  done: 'released',
};

function flagConfig(flags: FlagsConfig, flag: string): FlagConfig {
  const config = flags[flag];
  if (!config) throw new TrainyardError('CONFIG_INVALID', `flag "${flag}" is not in the config`, `Add it under flags: in the config; known flags: ${Object.keys(flags).join(', ') || 'none'}`);
  return config;
}

function environmentOf(config: FlagConfig, flag: string, environment: string) {
  const env = config.environments.find((e) => e.name === environment);
  if (!env) throw new TrainyardError('UNKNOWN_ENVIRONMENT', `flag ${flag} has no environment "${environment}"`, `Its environments: ${config.environments.map((e) => e.name).join(', ')}`);
  return env;
}


function cancellation(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

export async function setFlagWith(driver: FlagDriverConfig, req: SetFlagRequest, deps: FlagActivityDeps): Promise<{ summary: string }> {
  const state = req.enabled ? 'on' : 'off';
  switch (driver.kind) {
    case 'forge-commit': {
      const forge = deps.forge(driver.forge);
      const branch = driver.branch ?? forge.defaultBranch;
      const current = await forge.readFile(driver.path, branch);
      let content: string;
      try {
        content = setFlagInFile(current, req.flag, req.enabled ? driver.on : driver.off, driver.format, driver.jsonPath);
      } catch (err) {
        throw new TrainyardError('CONFIG_INVALID', `cannot set ${req.flag} in ${driver.path}: ${(err as Error).message}`, 'Fix the file or the driver\'s format/jsonPath in the config');
      }
      const { sha, changed } = await forge.commitFile({ branch, path: driver.path, content, message: `Turn ${req.flag} ${state} in ${req.environment} (Trainyard ${flagWorkflowId(req.flag)})` });
      return { summary: `${driver.path} on ${branch} ${changed ? `committed ${sha.slice(0, 12)}` : 'already had it'}` };
    }
    case 'command': {
      const argv = driver.command;
      const signal = cancellation();
      const result = await runCommand(argv, {
        ...(driver.cwd ? { cwd: resolve(deps.baseDir, driver.cwd) } : {}),
        env: { ...driver.env, TRAINYARD_FLAG: req.flag, TRAINYARD_FLAG_ENVIRONMENT: req.environment, TRAINYARD_FLAG_STATE: state },
        timeoutMs: driver.timeoutSeconds * 1000,
        onTick: () => heartbeat(),
        ...(signal ? { signal } : {}),
      });
      if (result.exitCode === 0) return { summary: `${argv[0]} turned ${req.flag} ${state}` };
      throw new TrainyardError('DEPLOY_FAILED', `the flag command for ${req.environment} failed: ${describeExit(argv, result)}`, 'Retried automatically; then the rollout waits for advance (retry) or abort.');
    }
    case 'webhook':
      return postFlag(driver, req, deps);
  }
}

async function postFlag(driver: Extract<FlagDriverConfig, { kind: 'webhook' }>, req: SetFlagRequest, deps: FlagActivityDeps): Promise<{ summary: string }> {
  const secret = (deps.environment ?? process.env)[driver.secretEnv]?.trim();
  if (!secret) throw new TrainyardError('CONFIG_INVALID', `the flag webhook secret is missing: environment variable ${driver.secretEnv} is not set`, `Set ${driver.secretEnv} in the worker's environment and restart the worker`);
  const signal = cancellation();
  const outcome = await postSigned(driver.url, secret, { flag: req.flag, environment: req.environment, enabled: req.enabled }, { timeoutMs: driver.timeoutSeconds * 1000, ...(signal ? { signal } : {}) });
  const where = displayUrl(driver.url);
  if (outcome.kind !== 'answered') {
    const why = outcome.kind === 'unreachable' ? redact(outcome.reason, secret) : outcome.kind;
    throw new TrainyardError('DEPLOY_FAILED', `the flag webhook ${where} did not answer (${why})`, 'Retried automatically; check that the receiver is up.');
  }
  if (outcome.status >= 200 && outcome.status < 300) return { summary: `${where} answered ${outcome.status}` };
  const text = `the flag webhook ${where} answered ${outcome.status}: ${bodyTail(outcome.text, secret)}`;
  if (outcome.status >= 400 && outcome.status < 500 && outcome.status !== 408 && outcome.status !== 429) {
    throw new TrainyardError('DEPLOY_REJECTED', text, 'The receiver refused the request: check its secret and the flag name, then advance to retry.');
  }
  throw new TrainyardError('DEPLOY_FAILED', text, 'Retried automatically.', outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : undefined);
}

/** One error-rate sample: `data.result[0].value[1]` of a Prometheus instant query. */
export async function queryErrorRate(health: FlagHealthConfig): Promise<number> {
  const url = `${health.url.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(health.query)}`;
  const where = displayUrl(health.url);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(health.timeoutSeconds * 1000) });
  } catch (err) {
    throw new TrainyardError('FORGE_UNAVAILABLE', `the health query at ${where} failed (${(err as Error).message})`, 'Sampling goes on; a soak without samples fails.');
  }
  const text = await response.text();
  if (response.status === 400 || response.status === 422) {
    throw new TrainyardError('CHECK_MISCONFIGURED', `the health query was refused by ${where}: ${bodyTail(text)}`, 'Fix the query in the flag\'s health config.');
  }
  if (!response.ok) throw new TrainyardError('FORGE_UNAVAILABLE', `the health query at ${where} answered ${response.status}`, 'Sampling goes on.');
  let value: unknown;
  try {
    value = (JSON.parse(text) as { data?: { result?: { value?: unknown[] }[] } }).data?.result?.[0]?.value?.[1];
  } catch {
    throw new TrainyardError('FORGE_UNAVAILABLE', `the health query at ${where} answered with something that is not JSON`, 'Sampling goes on.');
  }
  const rate = typeof value === 'string' || typeof value === 'number' ? Number(value) : NaN;
  if (!Number.isFinite(rate)) throw new TrainyardError('FORGE_UNAVAILABLE', `the health query at ${where} returned no sample`, 'Check that the query selects a series while the flag is on.');
  return rate;
}

interface SoakProgress extends SoakReading {
  startedAt: number;
}

/** Samples every `sampleSeconds` for the soak period, stopping at the first breach; resumes from heartbeat details. */
export async function soak(health: FlagHealthConfig, resumeFrom: unknown, sleep: (ms: number) => Promise<void>, now: () => number = Date.now): Promise<SoakReading> {
  const progress: SoakProgress = isProgress(resumeFrom) ? resumeFrom : { startedAt: now(), samples: [], failures: 0 };
  const endsAt = progress.startedAt + health.soakMinutes * 60_000;
  for (;;) {
    try {
      const rate = await queryErrorRate(health);
      progress.samples.push(rate);
      if (rate > health.threshold) break;
    } catch (err) {
      if (err instanceof TrainyardError && err.code === 'CHECK_MISCONFIGURED') throw err;
      progress.failures += 1;
      progress.lastError = (err as Error).message;
    }
    heartbeat(progress);
    const left = endsAt - now();
    if (left <= 0) break;
    await sleep(Math.min(left, health.sampleSeconds * 1000));
  }
  const { startedAt: _startedAt, ...reading } = progress;
  return reading;
}

function isProgress(value: unknown): value is SoakProgress {
  return !!value && typeof value === 'object' && Array.isArray((value as SoakProgress).samples) && typeof (value as SoakProgress).startedAt === 'number';
}

export function createFlagActivities(deps: FlagActivityDeps): FlagActivities {
  return translated<FlagActivities>({
    async flagPlan({ flag }) {
      return flagPlanOf(flag, flagConfig(deps.flags, flag));
    },
    async setFlag(req) {
      const env = environmentOf(flagConfig(deps.flags, req.flag), req.flag, req.environment);
      return setFlagWith(env.driver, req, deps);
    },
    async measureHealth({ flag, environment, mode }) {
      const { health } = environmentOf(flagConfig(deps.flags, flag), flag, environment);
      if (mode === 'baseline') {
        const rate = await queryErrorRate(health);
        return { samples: [rate], failures: 0 };
      }
      const ctx = Context.current();
      return soak(health, ctx.info.heartbeatDetails, (ms) => ctx.sleep(ms));
    },
    async openCleanupRequest({ flag }) {
      const { cleanup } = flagConfig(deps.flags, flag);
      const forge = deps.forge(cleanup.forge);
      const target = cleanup.targetBranch ?? forge.defaultBranch;
      const branch = `trainyard/remove-flag-${flag}`;
      await forge.createBranch(branch, target);
      const current = await forge.readFile(cleanup.path, branch);
      if (current === undefined && cleanup.content === undefined) {
        throw new TrainyardError('FORGE_NOT_FOUND', `${cleanup.path} does not exist on ${target}`, 'Fix cleanup.path in the flag\'s config, or give cleanup.content');
      }
      const content = cleanedFile(current ?? '', flag, cleanup.content);
      await forge.commitFile({ branch, path: cleanup.path, content, message: `Remove feature flag ${flag}\n\nIt is Mandatory: every installation runs the feature.` });
      const { change, created } = await forge.openChangeRequest({
        sourceBranch: branch,
        targetBranch: target,
        title: `Remove feature flag ${flag}`,
        body: `${flag} reached Mandatory, so its switch can go. This removes it from \`${cleanup.path}\`.\n\nOpened by Trainyard (${flagWorkflowId(flag)}).`,
        labels: ['feature-flag'],
      });
      return { url: change.url, number: change.number, created };
    },
    async notifyFlag({ flag, event, text }) {
      const service = deps.flags[flag]?.cleanup.forge ?? flag;
      const { workflowExecution, activityId } = Context.current().info;
      const deliveryKey = `${workflowExecution?.workflowId ?? flag}/${workflowExecution?.runId ?? ''}/${activityId}`;
      const notifiers = deps.notifiers(flag);
      const results = await Promise.allSettled(notifiers.map((n) => n.send({ service, trainId: flagWorkflowId(flag), event: NOTIFIER_EVENT[event], text, deliveryKey })));
      if (notifiers.length > 0 && results.every((r) => r.status === 'rejected')) {
        throw new TrainyardError('NOTIFY_FAILED', `no notifier could send the ${event} note of flag ${flag}`, 'Retried a few times; the rollout never waits for notifications.');
      }
    },
  });
}
