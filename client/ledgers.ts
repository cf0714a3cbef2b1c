/**
 * The environment ledgers (`env/<service>/<environment>`) from an operator's side: reading one,
 * freezing and unfreezing, rolling back, and the service actions the production ledger takes (cut,
 * revert, the cut schedule). Thin over the ledger's query and updates: the ledger's validators
 * decide who may do what; this file only finds (or creates) the ledger and words the answers. It
 * checks no right itself, so the UI and `temporal workflow update` meet the same rules.
 */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { DateTime } from 'luxon';
import { existsSync } from 'node:fs';
import { describeTime } from '../domain/calendar.js';
import { TrainyardError } from '../domain/errors.js';
import { ledgerId } from '../domain/ids.js';
import { configure, freezeUntilProblem, freezeView, initialLedger, type FreezeView, type LedgerState, type RollbackRequest } from '../domain/ledger.js';
import type { FreezeWindow } from '../domain/freeze-windows.js';
import type { Operator } from '../domain/config.js';
import { ENVIRONMENTS, type EnvironmentName } from '../domain/train.js';
import type { environmentLedger, LedgerInput } from '../workflows/environmentLedger.js';
import { freezeUpdate, ledgerQuery, reloadConfigSignal, rollbackUpdate, unfreezeUpdate, type FreezeRequest } from '../workflows/ledger-messages.js';
import { SERVICE } from '../workflows/search-attributes.js';
import { Rejected } from './commands.js';
import { configPath, loadConfigFile } from './config-file.js';
import { cliEnv } from './terminal.js';
import { rejectionOf as rejection } from './updates.js';

/** What the `ledger` query returns. */
export type LedgerView = LedgerState & { frozen: FreezeView };

/** What the CLI knows of a service from the config file (there may be none on this machine). */
export interface ServiceContext {
  service: string;
  taskQueue: string;
  /** The service's release time zone: how times are shown. */
  timeZone: string;
  configPath: string;
  /** Services of the config; undefined when there is no config file. */
  services?: string[];
  /** The service's recurring freezes: in force before any ledger exists. */
  freezeWindows?: FreezeWindow[];
  /** The service's operators, to show (the ledger checks them, never the CLI). */
  operators?: Operator[];
}

export function serviceContext(configFlag: string | undefined, service: string): ServiceContext {
  const path = configPath(configFlag, cliEnv());
  if (!existsSync(path)) return { service, taskQueue: 'trainyard', timeZone: 'UTC', configPath: path };
  const { config } = loadConfigFile(path);
  const s = config.services[service];
  const ctx: ServiceContext = { service, taskQueue: config.temporal.taskQueue, timeZone: s?.release.timeZone ?? 'UTC', configPath: path, services: Object.keys(config.services) };
  if (s?.freezeWindows.length) ctx.freezeWindows = s.freezeWindows;
  if (s?.operators) ctx.operators = s.operators;
  return ctx;
}

/** Undefined when the config names the service; otherwise the error to report for a service without a ledger. */
function unknownService(ctx: ServiceContext, environment: EnvironmentName): TrainyardError | undefined {
  if (ctx.services?.includes(ctx.service)) return undefined;
  const message = `there is no ${environment} ledger of "${ctx.service}"`;
  if (!ctx.services) {
    return new TrainyardError('UNKNOWN_SERVICE', `${message}, and there is no config file (${ctx.configPath}) to check the name against`, 'Check the service name, or pass --config <file>.');
  }
  return new TrainyardError('UNKNOWN_SERVICE', `${message}, and it is not a service of ${ctx.configPath}`, `Services there: ${ctx.services.join(', ')}.`);
}

/** `production`, `staging` or `all` as the environments to act on. */
export function environmentsOf(env: string): EnvironmentName[] {
  return env === 'all' ? [...ENVIRONMENTS] : [env as EnvironmentName];
}

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/;

/**
 * `--until`: an ISO time (without an offset: this machine's zone) or a duration from now like 90m,
 * 2h, 3d, 1d12h. Returns epoch ms; throws with what is accepted.
 */
/** The ledger's own rule (domain/ledger.ts), said before anything is sent. */
function within(until: number, now: number): number {
  const problem = freezeUntilProblem(until, now);
  if (problem) throw new Error(problem);
  return until;
}

export function parseUntil(text: string, now = Date.now()): number {
  const t = text.trim();
  const d = t === '' ? null : DURATION.exec(t);
  if (d) {
    const minutes = (Number(d[1] ?? 0) * 24 + Number(d[2] ?? 0)) * 60 + Number(d[3] ?? 0);
    if (minutes <= 0) throw new Error(`"${text}" is not a positive duration`);
    return within(now + minutes * 60_000, now);
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(t) ? DateTime.fromISO(t) : undefined;
  if (at?.isValid) {
    if (at.toMillis() <= now) throw new Error(`${text} is in the past; give a later time or a duration like 2h`);
    return within(at.toMillis(), now);
  }
  throw new Error(`"${text}" is neither an ISO time (2026-11-24T18:00Z, 2026-11-24T13:00-05:00) nor a duration (90m, 2h, 3d, 1d12h)`);
}

/** The ledger's state; undefined when nothing has created it yet (no train, no freeze). */
export async function readLedger(client: Client, service: string, environment: EnvironmentName): Promise<LedgerView | undefined> {
  try {
    return await client.workflow.getHandle(ledgerId(service, environment)).query(ledgerQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** A ledger nothing has created yet: nobody froze it by hand, but the config's rights and freeze windows hold already. */
export function unwrittenLedger(ctx: ServiceContext, environment: EnvironmentName, now: number): LedgerView {
  const state = initialLedger(ctx.service, environment);
  configure(state, { freezeWindows: ctx.freezeWindows, timeZone: ctx.timeZone, operators: ctx.operators });
  return { ...state, frozen: freezeView(state, now) };
}

/** The ledger as `trainyard env` shows it: a missing one is an empty one, unless the service is unknown. */
export async function ledgerView(client: Client, ctx: ServiceContext, environment: EnvironmentName): Promise<{ view: LedgerView; exists: boolean }> {
  const view = await readLedger(client, ctx.service, environment);
  if (view) return { view, exists: true };
  const unknown = ctx.services ? unknownService(ctx, environment) : undefined;
  if (unknown) throw unknown;
  return { view: unwrittenLedger(ctx, environment, Date.now()), exists: false };
}

export interface LedgerOutcome {
  environment: EnvironmentName;
  ok: boolean;
  message: string;
  /** Nothing to do (`unfreeze --env all` of an environment that is not frozen). */
  skipped?: boolean;
}

/** How long the CLI waits for a ledger it created (or woke) to read its service's operators. */
const READY_TIMEOUT_MS = 20_000;

/**
 * Makes the ledger ready for an operator's update: creates it when missing and has it read the
 * service's operators from the worker's config (a ledger created without them reads them when it
 * starts; one that never did is asked to with `reloadConfig`), then waits until it has. Until then
 * its validators refuse everyone, so an update sent at once would be refused for no good reason.
 */
export async function readyLedger(client: Client, ctx: ServiceContext, environment: EnvironmentName, view?: LedgerView): Promise<WorkflowHandle<typeof environmentLedger>> {
  const workflowId = ledgerId(ctx.service, environment);
  if (view?.configured) return client.workflow.getHandle(workflowId);
  if (!view) {
    const unknown = unknownService(ctx, environment);
    if (unknown) throw unknown;
  }
  const handle = await client.workflow.signalWithStart<typeof environmentLedger, []>('environmentLedger', {
    workflowId,
    taskQueue: ctx.taskQueue,
    args: [{ service: ctx.service, environment } satisfies LedgerInput],
    signal: reloadConfigSignal,
    signalArgs: [],
    typedSearchAttributes: [{ key: SERVICE, value: ctx.service }],
    staticSummary: `Environment ledger of ${ctx.service} ${environment}: deploy lock, freeze, deployed versions`,
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const state = await handle.query(ledgerQuery).catch(() => undefined);
    if (state?.configured) return handle;
    if (Date.now() > deadline) {
      throw new TrainyardError(
        'REJECTED',
        `the ${environment} ledger of ${ctx.service} has not read the service's operators from the config within ${READY_TIMEOUT_MS / 1000} s`,
        `Is a worker running on task queue ${ctx.taskQueue} with a config that names ${ctx.service}? (trainyard worker --config …)`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function describeEnd(view: FreezeView, timeZone: string): string {
  return view.until !== undefined ? `until ${describeTime(view.until, timeZone)}` : 'until someone unfreezes it';
}

/** Freezes one environment, creating its ledger when no train has yet. */
export async function freezeLedger(client: Client, ctx: ServiceContext, environment: EnvironmentName, req: FreezeRequest): Promise<LedgerOutcome> {
  const ledger = await readyLedger(client, ctx, environment, await readLedger(client, ctx.service, environment));
  try {
    const frozen = await ledger.executeUpdate(freezeUpdate, { args: [req] });
    return { environment, ok: true, message: `froze ${ctx.service} ${environment} (by ${req.by}: ${req.reason}) ${describeEnd(frozen, ctx.timeZone)}` };
  } catch (err) {
    const why = rejection(err);
    if (why === undefined) throw err;
    return { environment, ok: false, message: why };
  }
}

/**
 * Unfreezes one environment. `skipIfNotFrozen` (for `--env all`) reports an environment that is
 * not frozen as a success instead of sending an update its validator would reject.
 */
export async function unfreezeLedger(
  client: Client,
  ctx: ServiceContext,
  environment: EnvironmentName,
  req: { by: string; reason: string },
  skipIfNotFrozen = false,
): Promise<LedgerOutcome> {
  const { service } = ctx;
  const view = await readLedger(client, service, environment);
  if (!view) {
    const unknown = unknownService(ctx, environment);
    if (unknown) throw unknown;
  }
  if (!view?.frozen.frozen && skipIfNotFrozen) return { environment, ok: true, skipped: true, message: `${service} ${environment} is not frozen` };
  if (!view) return { environment, ok: false, message: `${service} ${environment} is not frozen (no train has deployed there and nobody has frozen it)` };
  const ledger = await readyLedger(client, ctx, environment, view);
  try {
    await ledger.executeUpdate(unfreezeUpdate, { args: [req] });
    return { environment, ok: true, message: `unfroze ${service} ${environment} (by ${req.by}: ${req.reason})` };
  } catch (err) {
    const why = rejection(err);
    if (why === undefined) throw err;
    return { environment, ok: false, message: why };
  }
}

/**
 * Asks an environment's ledger to roll back (its validator checks the `rollback` right and that the
 * target was verified there). Returns the rollback workflow's id and target.
 */
export async function rollbackLedger(client: Client, ctx: ServiceContext, environment: EnvironmentName, req: RollbackRequest): Promise<{ rollbackId: string; tag: string }> {
  const view = await readLedger(client, ctx.service, environment);
  if (!view) {
    const unknown = unknownService(ctx, environment);
    if (unknown) throw unknown;
    throw new TrainyardError('REJECTED', `rollback rejected: nothing was deployed to ${ctx.service} ${environment} through Trainyard`, 'There is no earlier version to go back to; deploy one with a train.');
  }
  const ledger = await readyLedger(client, ctx, environment, view);
  try {
    return await ledger.executeUpdate(rollbackUpdate, { args: [req] });
  } catch (err) {
    const why = rejection(err);
    if (why === undefined) throw err;
    throw new TrainyardError('REJECTED', `rollback rejected: ${why}`, `See the environment's versions: trainyard env ${ctx.service} --env ${environment}`);
  }
}

/**
 * Sends a service action (cut, revert, cut schedule) to the service's production ledger, creating
 * it when needed; a refusal by its validator is `<verb> rejected: <why>`.
 */
export async function serviceAction<T>(client: Client, ctx: ServiceContext, verb: string, send: (ledger: WorkflowHandle<typeof environmentLedger>) => Promise<T>): Promise<T> {
  if (ctx.services && !ctx.services.includes(ctx.service)) {
    throw new TrainyardError('UNKNOWN_SERVICE', `service "${ctx.service}" is not in ${ctx.configPath}`, `Services there: ${ctx.services.join(', ')}.`);
  }
  const ledger = await readyLedger(client, ctx, 'production', await readLedger(client, ctx.service, 'production'));
  try {
    return await send(ledger);
  } catch (err) {
    const why = rejection(err);
    if (why === undefined) throw err;
    throw new Rejected(`${verb} rejected: ${why}`);
  }
}
