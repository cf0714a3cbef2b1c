/**
 * The worker: runs Trainyard's workflows from the prebuilt bundle and its activities, built from
 * the config's drivers.
 */
import { NativeConnection, Runtime, Worker, DefaultLogger, makeTelemetryFilterString, type LogEntry, type LogLevel } from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { appendFileSync, existsSync } from 'node:fs';
import { inspect } from 'node:util';
import { createActivities, sendToAll } from '../activities/index.js';
import { createPreReleaseActivities, preReleasePolicyOf } from '../activities/prerelease.js';
import { createPreviewActivities, previewDrivers } from '../activities/preview.js';
import { createVersionBumpActivities, type VersionBumpDeps } from '../activities/version-bump.js';
import { createFlagActivities } from '../activities/flag-rollout.js';
import { createStageActivities } from '../activities/stage.js';
import { buildForge, buildNotifiers, createDrivers } from '../activities/registry.js';
import { LogNotifier } from '../activities/notify/log.js';
import type { Notifier } from '../activities/notify/notifier.js';
import type { ForgeConfig, NotifierConfig } from '../domain/config.js';
import type { Forge } from '../activities/forge/forge.js';
import { TrainyardError } from '../domain/errors.js';
import type { TrainyardConfig } from '../domain/config.js';
import { bundleOptions, prebuiltBundlePath } from './bundle.js';
import { codecDataConverter, codecFromEnvironment } from './codec.js';
import { callbackSecrets, startCallbackServer } from './callbacks.js';
import { CallbackWaits } from '../activities/deploy/webhook.js';
import type { PayloadCodec } from '@temporalio/common';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  config: TrainyardConfig;
  /** Folder that relative paths in the config are resolved against. */
  baseDir: string;
  /** The config file, when read from one: refusals name it ("add it to bob's rights in …"). */
  configFile?: string;
  /** Bundle the workflow code at start instead of loading the prebuilt bundle. */
  bundleAtStart?: boolean;
  /** Where notifications of the `log` notifier and worker messages go. */
  log?: (line: string) => void;
  identity?: string;
  /** Payload encryption; default: the one TRAINYARD_CODEC_KEYS / TRAINYARD_CODEC_KEY_FILE configures, if any. */
  codec?: PayloadCodec;
}

/**
 * Heartbeats are sent at most this often. The SDK's default (80% of the heartbeat timeout, up to a
 * minute) would leave an operator waiting ~50 s for `abort` to reach a running deploy.
 */
export const WORKER_TUNING = { maxHeartbeatThrottleInterval: '5 seconds' } as const;

/**
 * WORKER_TUNING plus the workflow cache's size from `TRAINYARD_MAX_CACHED_WORKFLOWS` when set. A
 * cached workflow costs the worker about 0.6 MiB (docs/PERFORMANCE.md); the SDK's default size
 * follows the heap limit. A smaller cache bounds memory; an evicted workflow replays its history
 * on its next task.
 */
export function workerTuning(env: Record<string, string | undefined> = process.env): typeof WORKER_TUNING & { maxCachedWorkflows?: number } {
  const raw = env.TRAINYARD_MAX_CACHED_WORKFLOWS?.trim();
  if (!raw) return WORKER_TUNING;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 10 || n > 1_000_000) {
    throw new TrainyardError('CONFIG_INVALID', `TRAINYARD_MAX_CACHED_WORKFLOWS must be a whole number from 10 to 1000000, got "${raw.slice(0, 40)}"`, 'Unset it for the SDK default (derived from the heap limit), or give a number of workflows.');
  }
  return { ...WORKER_TUNING, maxCachedWorkflows: n };
}

let runtimeInstalled = false;

/** One SDK log line for a file: time, level, message and its metadata on one line. */
function logLine(entry: LogEntry): string {
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = entry.meta && Object.keys(entry.meta).length > 0 ? ` ${inspect(entry.meta, { depth: 4, breakLength: Infinity })}` : '';
  return `${at} ${entry.level} ${entry.message}${meta}\n`;
}

/** The SDK's logger: to the console, or to the file TRAINYARD_SDK_LOG names (read at each line: a test process that runs several test files logs each to its own). */
export function sdkLogger(level: LogLevel = 'WARN'): DefaultLogger {
  const file = process.env.TRAINYARD_SDK_LOG;
  return file ? new DefaultLogger(level, (entry) => appendFileSync(process.env.TRAINYARD_SDK_LOG ?? file, logLine(entry))) : new DefaultLogger(level);
}

/**
 * Keeps the SDK's own logging to warnings, so the operator's terminal stays readable. With
 * TRAINYARD_SDK_LOG naming a file (the test suite names one per test file), the lines go there.
 */
export function installQuietRuntime(level: LogLevel = 'WARN'): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: sdkLogger(level),
    // The native core's own lines go through the same logger (by default it prints them itself).
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: level }) } },
  });
}

/** Whether any service deploys through a webhook that answers by callback. */
function usesCallbacks(config: TrainyardConfig): boolean {
  return Object.values(config.services).some((s) => Object.values(s.environments).some((e) => e.deploy.kind === 'webhook' && e.deploy.mode === 'callback'));
}

/**
 * The callback receiver of `webhook` deployers in callback mode, when the config has one: it
 * completes the waiting deploy activity. Closed when the worker stops.
 */
async function callbackReceiver(options: WorkerOptions, client: Client) {
  if (!usesCallbacks(options.config)) return undefined;
  const settings = options.config.callbacks ?? { host: '127.0.0.1', port: 0 };
  const log = options.log ?? console.log;
  const server = await startCallbackServer({ client, host: settings.host, port: settings.port, secretFor: callbackSecrets(options.config), log });
  const waits = new CallbackWaits(client.activity, log);
  log(`callbacks for webhook deploys: ${settings.publicUrl ?? server.url}`);
  const close = async () => {
    waits.close();
    await server.close();
  };
  return { baseUrl: settings.publicUrl ?? server.url, waits, close };
}

/**
 * Version bumps name their component's and consumer's forges in the config. Progress notes go to
 * the bump's `notify` (none: the worker's log), notes for the component's team to `teamNotify`
 * (default: `notify`), sent as a train's notes are (`sendToAll`).
 */
export function versionBumpDeps(options: Pick<WorkerOptions, 'config' | 'baseDir' | 'log'>): VersionBumpDeps {
  const forges = new Map<string, Forge>();
  const configs = new Map<string, ForgeConfig>();
  for (const b of options.config.versionBumps) {
    configs.set(b.component, b.componentForge);
    configs.set(b.consumer, b.consumerForge);
  }
  const log = new LogNotifier(options.log);
  const routes = new Map<string, { progress: Notifier[]; team: Notifier[] }>();
  for (const b of options.config.versionBumps) {
    const build = (list: unknown[]) => buildNotifiers(list as NotifierConfig[], options.baseDir, options.log ?? console.log);
    const progress = b.notify.length > 0 ? build(b.notify) : [log];
    routes.set(`${b.component}→${b.consumer}`, { progress, team: b.teamNotify && b.teamNotify.length > 0 ? build(b.teamNotify) : progress });
  }
  return {
    forgeFor(name) {
      let forge = forges.get(name);
      if (!forge) {
        const config = configs.get(name);
        if (!config) throw new TrainyardError('UNKNOWN_SERVICE', `no version bump names "${name}" as its component or consumer`, 'Check versionBumps in the config.');
        forge = buildForge(config, options.baseDir);
        forges.set(name, forge);
      }
      return forge;
    },
    async notify(note) {
      const route = routes.get(`${note.component}→${note.consumer}`);
      const targets = (note.audience === 'team' ? route?.team : route?.progress) ?? [log];
      const message = { service: note.consumer, trainId: note.bumpId, event: 'operator-action' as const, text: `${note.audience === 'team' ? `[${note.component} team] ` : ''}${note.event}: ${note.text}`, ...(note.link ? { link: note.link } : {}) };
      await sendToAll(targets, message);
    },
  };
}

/** Closes `close` once the worker has stopped (its state is the only signal a created worker gives). */
async function closeWith(worker: Worker, close: () => Promise<void>): Promise<void> {
  while (!['STOPPED', 'FAILED'].includes(worker.getState())) await new Promise((r) => setTimeout(r, 1_000).unref());
  await close();
}

export async function createTrainyardWorker(options: WorkerOptions): Promise<Worker> {
  const drivers = createDrivers(options.config, options.baseDir, options.log);
  const bundlePath = prebuiltBundlePath();
  if (!options.bundleAtStart && !existsSync(bundlePath)) {
    throw new Error(`the prebuilt workflow bundle ${bundlePath} is missing; run \`npm run build\` first`);
  }
  // Workflows, activities and the activities' own client (messages between workflows) all seal payloads.
  const dataConverter = codecDataConverter(options.codec ?? codecFromEnvironment());
  const client = new Client({ connection: options.connection, namespace: options.namespace, ...dataConverter });
  const callbacks = await callbackReceiver(options, client);
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection: options.connection,
      namespace: options.namespace,
      taskQueue: options.config.temporal.taskQueue,
      activities: {
        ...createActivities({
          config: options.config,
          drivers,
          client,
          ...(options.configFile ? { configFile: options.configFile } : {}),
          ...(callbacks ? { callbacks: { baseUrl: callbacks.baseUrl, waits: callbacks.waits } } : {}),
        }),
        ...createVersionBumpActivities(versionBumpDeps(options)),
        ...createFlagActivities({
          flags: options.config.flags,
          forge: (service) => drivers.forge(service),
          notifiers: (flag) => {
            const service = options.config.flags[flag]?.cleanup.forge;
            return service && options.config.services[service] ? drivers.notifiers(service) : [new LogNotifier(options.log)];
          },
          baseDir: options.baseDir,
        }),
        ...createPreviewActivities({ driverFor: previewDrivers(options.config.previews ?? {}, options.baseDir), forgeFor: (service) => drivers.forge(service) }),
        ...createPreReleaseActivities({ forge: (service) => drivers.forge(service), policy: (service) => preReleasePolicyOf(options.config, service, options.configFile) }),
        ...createStageActivities({ config: options.config, forge: (service) => drivers.forge(service), client, ...(options.configFile ? { configFile: options.configFile } : {}) }),
      },
      ...dataConverter,
      ...workerTuning(),
      ...(options.bundleAtStart ? { workflowsPath: bundleOptions().workflowsPath, bundlerOptions: { webpackConfigHook: bundleOptions().webpackConfigHook } } : { workflowBundle: { codePath: bundlePath } }),
      ...(options.identity ? { identity: options.identity } : {}),
    });
  } catch (err) {
    await callbacks?.close();
    throw err;
  }
  if (callbacks) void closeWith(worker, callbacks.close);
  return worker;
}
