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
import type { TrainPolicy } from '../domain/train.js';
import { readVersion } from './checks/http.js';
import { changelogPublisher } from './changelog.js';
import { ledgerSignaller, schedulePauser, trainSuperseder, workflowWatcher } from './ledger.js';
import type { Drivers } from './registry.js';
import type { TrainActivities } from './types.js';

export interface ActivityDeps {
  config: TrainyardConfig;
  drivers: Drivers;
  /** A client on the worker's own connection, for signals to ledgers. */
  client: Client;
}

function translate(err: unknown): never {
  if (err instanceof TrainyardError) {
    throw ApplicationFailure.create({ type: err.code, message: err.describe(), nonRetryable: !err.retryable });
  }
  throw err;
}

/** Wraps every activity so errors cross the boundary in one shape. */
export function translated<T extends object>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (err) {
        translate(err);
      }
    };
  }
  return wrapped as T;
}

/** Heartbeats carry no details: a resumed deploy re-runs its command, which must be idempotent. */
function activityContext() {
  const ctx = Context.current();
  return { signal: ctx.cancellationSignal, heartbeat: () => ctx.heartbeat() };
}

export function trainPolicyOf(config: TrainyardConfig, service: string): TrainPolicy {
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
  if (s.operators) policy.operators = s.operators;
  if (s.e2eAt) policy.e2eAt = s.e2eAt;
  if (config.temporal.uiUrl) policy.uiUrl = config.temporal.uiUrl;
  return policy;
}

export function ledgerConfigOf(config: TrainyardConfig, service: string): LedgerConfig {
  const s = config.services[service];
  if (!s) return {};
  return { ...(s.operators ? { operators: s.operators } : {}), freezeWindows: s.freezeWindows, timeZone: s.release.timeZone };
}

export function createActivities({ config, drivers, client }: ActivityDeps): TrainActivities {
  return translated<TrainActivities>({
    signalLedger: ledgerSignaller(client, config.temporal.taskQueue, (service) => ledgerConfigOf(config, service)),
    publishChangelog: changelogPublisher(client, drivers),
    supersedeTrain: trainSuperseder(client),
    workflowRunning: workflowWatcher(client),
    pauseCutSchedule: schedulePauser(client),
    async trainPolicy({ service }) {
      return trainPolicyOf(config, service);
    },
    async resolveCommit({ service, ref }) {
      const forge = drivers.forge(service);
      return forge.resolveRef(ref ?? forge.defaultBranch);
    },
    async listReleaseTags({ service }) {
      const policy = trainPolicyOf(config, service);
      const prefix = policy.tagFormat.split('{yyyy}')[0]?.replace('{service}', service) ?? '';
      return drivers.forge(service).listTags(prefix);
    },
    async prepareHotfix({ service, branch, fromTag, picks }) {
      return drivers.forge(service).createHotfixBranch(branch, fromTag, picks);
    },
    async createReleaseTag({ service, tag, commit, message }) {
      return drivers.forge(service).createTag(tag, commit, message);
    },
    async deploy(req) {
      return drivers.deployer(req.service, req.environment).deploy(req, activityContext());
    },
    async runCheck(req) {
      const check = drivers.check(req.service, req.check, req.environment);
      if (!check) return { passed: true, summary: `no ${req.check} check configured` };
      return check.run(req, activityContext());
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
      await Promise.all(drivers.notifiers(note.service).map((n) => n.send(link ? { ...note, link } : note)));
    },
  });
}
