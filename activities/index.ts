/**
 * The activity implementations, built from their dependencies (config and drivers) so tests can
 * inject real local servers and processes. Errors are translated here, in one place: a
 * TrainyardError becomes an ApplicationFailure whose type is its code, non-retryable when the
 * catalogue says so.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TrainyardConfig } from '../domain/config.js';
import type { LedgerConfig } from '../domain/ledger.js';
import { TrainyardError } from '../domain/errors.js';
import { stepPolicyOf } from '../domain/steps.js';
import type { TrainPolicy } from '../domain/train.js';
import { readVersion } from './checks/http.js';
import { changelogPublisher } from './changelog.js';
import { activeTrainFinder, cutScheduleController, ledgerSignaller, rollbackStarter, schedulePauser, trainSuperseder, workflowWatcher } from './ledger.js';
import type { Drivers } from './registry.js';
import type { DeployContext } from './deploy/deployer.js';
import { deployOnce } from './deploy/once.js';
import { runDeploy, type CallbackWaits } from './deploy/webhook.js';
import type { Notifier } from './notify/notifier.js';
import type { TrainActivities } from './types.js';

export interface ActivityDeps {
  config: TrainyardConfig;
  drivers: Drivers;
  /** A client on the worker's own connection, for signals to ledgers. */
  client: Client;
  /** The worker's callback server, when a `webhook` deployer waits for callbacks. */
  callbacks?: { baseUrl: string; waits: CallbackWaits };
  /** The config file the worker read: named in refusals ("add it to bob's rights in …"). */
  configFile?: string;
}

function translate(err: unknown): never {
  if (err instanceof TrainyardError) {
    throw ApplicationFailure.create({
      type: err.code,
      message: err.describe(),
      nonRetryable: !err.retryable,
      // Rate limits: come back when the server said, not on the policy's backoff.
      ...(err.retryAfterMs !== undefined ? { nextRetryDelay: Math.max(1_000, err.retryAfterMs) } : {}),
    });
  }
  throw err;
}

/**
 * Wraps every activity so errors cross the boundary in one shape, and so that an activity run with
 * a heartbeat timeout heartbeats by itself (see `keptAlive`).
 */
export function translated<T extends object>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await keptAlive(() => (fn as (...a: unknown[]) => Promise<unknown>)(...args));
      } catch (err) {
        translate(err);
      }
    };
  }
  return wrapped as T;
}

/** How often an activity with a heartbeat timeout heartbeats by itself, whatever it does (15 s is the least timeout). */
export const KEEPALIVE_MS = 5_000;

/** The running activity's heartbeat: keeps the details it is given, sends the last ones. */
const heartbeats = new WeakMap<Context, (details?: unknown) => void>();

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (a test calling the function itself)
  }
}

/**
 * Heartbeats the running activity with `details` (kept, and re-sent by its keep-alive), or with the
 * last details it gave when there are none. A no-op outside an activity (unit tests of drivers).
 * Activities heartbeat through this, not `Context.heartbeat`, so the keep-alive never sends stale details.
 */
export function heartbeat(details?: unknown): void {
  const ctx = currentContext();
  if (ctx) (heartbeats.get(ctx) ?? ((d?: unknown) => ctx.heartbeat(d)))(details);
}

/**
 * Runs an activity that has a heartbeat timeout with a keep-alive: it heartbeats every KEEPALIVE_MS
 * with the last details the activity gave (a resumed attempt's, at first). A killed worker is so
 * noticed within the heartbeat timeout, for a deploy whose driver waits minutes between its own
 * heartbeats (a pipeline polled every few minutes) as for a short forge call that has none, instead
 * of after the call's whole start-to-close timeout.
 */
async function keptAlive<T>(run: () => Promise<T>): Promise<T> {
  const ctx = currentContext();
  if (!ctx || ctx.info.isLocal || !ctx.info.heartbeatTimeoutMs) return run();
  let last: unknown = ctx.info.heartbeatDetails;
  heartbeats.set(ctx, (details) => {
    if (details !== undefined) last = details;
    ctx.heartbeat(last);
  });
  const keepAlive = setInterval(() => ctx.heartbeat(last), KEEPALIVE_MS);
  try {
    return await run();
  } finally {
    clearInterval(keepAlive);
  }
}

/**
 * Runs a long step (deploy, check) with its driver context. Heartbeats may carry details (a
 * pipeline driver records the run it started, a command deployer its program's process); a resumed
 * attempt gets them back as `resumeFrom`. The keep-alive (`keptAlive`) re-sends the last details
 * between the driver's own heartbeats.
 */
async function withActivityContext<T>(run: (ctx: DeployContext) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const resumeFrom: unknown = ctx.info.heartbeatDetails;
  return run({
    signal: ctx.cancellationSignal,
    heartbeat,
    attempt: ctx.info.attempt,
    firstScheduledAt: ctx.info.scheduledTimestampMs,
    ...(resumeFrom === undefined ? {} : { resumeFrom }),
  });
}

/** Where a service's operators are declared, as refusals name it. */
export function operatorsIn(service: string, configFile?: string): string {
  return `services.${service}.operators of ${configFile ?? "the worker's config"}`;
}

export function trainPolicyOf(config: TrainyardConfig, service: string, configFile?: string): TrainPolicy {
  const s = config.services[service];
  if (!s) {
    throw new TrainyardError('UNKNOWN_SERVICE', `service "${service}" is not in the config`, `Known services: ${Object.keys(config.services).join(', ')}`);
  }
  const policy: TrainPolicy = {
    service,
    tagFormat: s.tagFormat,
    release: s.release,
    decisionDeadlineHours: s.decisionDeadlineHours,
    hasE2E: s.e2e !== undefined,
    smoke: { staging: s.environments.staging.smoke !== undefined, production: s.environments.production.smoke !== undefined },
  };
  if (s.operators) {
    policy.operators = s.operators;
    if (configFile) policy.operatorsIn = operatorsIn(service, configFile);
  }
  if (s.e2eAt) policy.e2eAt = s.e2eAt;
  if (config.temporal.uiUrl) policy.uiUrl = config.temporal.uiUrl;
  return { ...policy, ...stepPolicyOf(s) };
}

export function ledgerConfigOf(config: TrainyardConfig, service: string, configFile?: string): LedgerConfig {
  const s = config.services[service];
  if (!s) return {};
  const operators = s.operators ? { operators: s.operators, ...(configFile ? { operatorsIn: operatorsIn(service, configFile) } : {}) } : {};
  return { ...operators, freezeWindows: s.freezeWindows, timeZone: s.release.timeZone };
}

/**
 * Every notifier gets the note. When all fail the activity fails and is retried; when only some do,
 * the others' messages are not sent twice by a retry: the failures are logged and the train goes on
 * (each driver has already retried within its own bounds).
 */
export async function sendToAll(notifiers: Notifier[], note: Parameters<Notifier['send']>[0]): Promise<void> {
  const results = await Promise.allSettled(notifiers.map((n) => n.send(note)));
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${notifiers[i]?.constructor.name ?? 'notifier'}: ${(r.reason as Error).message}`] : []));
  if (failures.length === 0) return;
  if (failures.length === notifiers.length) {
    throw new TrainyardError('NOTIFY_FAILED', `no notifier could send "${note.event}" of ${note.trainId}: ${failures.join('; ')}`, 'Retried twice within seconds; then the train goes on without it.');
  }
  Context.current().log.warn('some notifiers failed; the others were sent', { event: note.event, trainId: note.trainId, failures });
}

/** A service's release tags on its forge (those its tag format starts with). */
function releaseTagLister(config: TrainyardConfig, drivers: Drivers) {
  return (service: string): Promise<string[]> => {
    const policy = trainPolicyOf(config, service);
    const prefix = policy.tagFormat.split('{yyyy}')[0]?.replace('{service}', service) ?? '';
    return drivers.forge(service).listTags(prefix);
  };
}

export function createActivities({ config, drivers, client, callbacks, configFile }: ActivityDeps): TrainActivities {
  const releaseTags = releaseTagLister(config, drivers);
  return translated<TrainActivities>({
    signalLedger: ledgerSignaller(client, config.temporal.taskQueue, (service) => ledgerConfigOf(config, service, configFile)),
    publishChangelog: changelogPublisher(client, drivers, releaseTags),
    supersedeTrain: trainSuperseder(client),
    workflowRunning: workflowWatcher(client),
    activeTrains: activeTrainFinder(client),
    startRollback: rollbackStarter(client, config.temporal.taskQueue, (service) => stepPolicyOf(config.services[service] ?? {})),
    pauseCutSchedule: schedulePauser(client),
    controlCutSchedule: cutScheduleController(client),
    async trainPolicy({ service }) {
      return trainPolicyOf(config, service, configFile);
    },
    async ledgerConfig({ service }) {
      trainPolicyOf(config, service); // UNKNOWN_SERVICE, naming the known ones
      return ledgerConfigOf(config, service, configFile);
    },
    async revertChange({ service, pr }) {
      const change = await drivers.forge(service).revertChangeRequest(pr);
      return { number: change.number, url: change.url };
    },
    async resolveCommit({ service, ref }) {
      const forge = drivers.forge(service);
      return forge.resolveRef(ref ?? forge.defaultBranch);
    },
    async listReleaseTags({ service }) {
      return releaseTags(service);
    },
    async compareCommits({ service, base, head }) {
      return drivers.forge(service).compareCommits(base, head);
    },
    async prepareHotfix({ service, branch, fromTag, picks }) {
      return drivers.forge(service).createHotfixBranch(branch, fromTag, picks);
    },
    async createReleaseTag({ service, tag, commit, message }) {
      return drivers.forge(service).createTag(tag, commit, message);
    },
    async deploy(req) {
      // A later attempt reads the environment's version before it deploys again (deploy/once.ts).
      return withActivityContext((ctx) => {
        const deployer = drivers.deployer(req.service, req.environment);
        return deployOnce(deployer, req, ctx, {
          versionUrl: drivers.versionUrl(req.service, req.environment),
          readVersion: (url) => readVersion(url),
          run: () => runDeploy(deployer, req, ctx, callbacks),
          log: (line) => Context.current().log.info(line),
        });
      });
    },
    async runCheck(req) {
      const check = drivers.check(req.service, req.check, req.environment);
      if (!check) return { passed: true, summary: `no ${req.check} check configured` };
      return withActivityContext((ctx) => check.run(req, ctx));
    },
    async readDeployedVersion({ service, environment }) {
      const url = drivers.versionUrl(service, environment);
      return url ? readVersion(url) : null;
    },
    async annotate(req) {
      await Promise.all(drivers.annotators(req.service, req.environment).map((a) => a.annotate(req)));
    },
    async notify(note) {
      const namespace = encodeURIComponent(client.options.namespace);
      const link = config.temporal.uiUrl ? `${config.temporal.uiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(note.trainId)}` : undefined;
      // The same across retries of this activity: a retry skips the channels already sent to.
      const { workflowExecution, activityId } = Context.current().info;
      const deliveryKey = `${workflowExecution?.workflowId ?? note.trainId}/${workflowExecution?.runId ?? ''}/${activityId}`;
      await sendToAll(drivers.notifiers(note.service), { ...note, deliveryKey, ...(link ? { link } : {}) });
    },
  });
}
