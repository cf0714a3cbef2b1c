/**
 * The environment ledgers (`env/<service>/<environment>`) from an operator's side: reading one,
 * freezing and unfreezing. Thin over the ledger's `ledger` query and `freeze`/`unfreeze` updates:
 * the ledger's validators decide; this file only finds the ledger and words the answers.
 */
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { DateTime } from 'luxon';
import { existsSync } from 'node:fs';
import { describeTime } from '../domain/calendar.js';
import type { Right } from '../domain/config.js';
import { TrainyardError } from '../domain/errors.js';
import { ledgerId } from '../domain/ids.js';
import { configure, freezeView, initialLedger, type FreezeView, type LedgerState, type RollbackRequest } from '../domain/ledger.js';
import type { FreezeWindow } from '../domain/freeze-windows.js';
import { authorisationProblem, ENVIRONMENTS, type EnvironmentName } from '../domain/train.js';
import type { environmentLedger } from '../workflows/environmentLedger.js';
import { freezeUpdate, ledgerQuery, rollbackUpdate, unfreezeUpdate, type FreezeRequest } from '../workflows/ledger-messages.js';
import { SERVICE } from '../workflows/search-attributes.js';
import { configPath, loadConfigFile } from './config-file.js';

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
  operators?: { name: string; rights: Right[] }[];
  /** The service's recurring freezes: in force before any ledger exists. */
  freezeWindows?: FreezeWindow[];
}

export function serviceContext(configFlag: string | undefined, service: string): ServiceContext {
  const path = configPath(configFlag);
  if (!existsSync(path)) return { service, taskQueue: 'trainyard', timeZone: 'UTC', configPath: path };
  const { config } = loadConfigFile(path);
  const s = config.services[service];
  const ctx: ServiceContext = { service, taskQueue: config.temporal.taskQueue, timeZone: s?.release.timeZone ?? 'UTC', configPath: path, services: Object.keys(config.services) };
  if (s?.operators) ctx.operators = s.operators;
  if (s?.freezeWindows.length) ctx.freezeWindows = s.freezeWindows;
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
export function parseUntil(text: string, now = Date.now()): number {
  const t = text.trim();
  const d = t === '' ? null : DURATION.exec(t);
  if (d) {
    const minutes = (Number(d[1] ?? 0) * 24 + Number(d[2] ?? 0)) * 60 + Number(d[3] ?? 0);
    if (minutes <= 0) throw new Error(`"${text}" is not a positive duration`);
    return now + minutes * 60_000;
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(t) ? DateTime.fromISO(t) : undefined;
  if (at?.isValid) {
    if (at.toMillis() <= now) throw new Error(`${text} is in the past; give a later time or a duration like 2h`);
    return at.toMillis();
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

/**
 * A ledger gets the config's operators when it is created (by a train or by this CLI) and from
 * trains' `subscribe`. One created before that knows none: the CLI applies the config's rights.
 */
function configRightsProblem(ctx: ServiceContext, view: LedgerView | undefined, by: string): string | undefined {
  if (view?.operators || !ctx.operators) return undefined;
  const problem = authorisationProblem({ service: ctx.service, operators: ctx.operators }, by, 'freeze');
  return problem && `${problem} (per ${ctx.configPath})`;
}

function rejection(err: unknown): string | undefined {
  return err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : undefined;
}

function describeEnd(view: FreezeView, timeZone: string): string {
  return view.until !== undefined ? `until ${describeTime(view.until, timeZone)}` : 'until someone unfreezes it';
}

/** Freezes one environment, creating its ledger when no train has yet (update-with-start). */
export async function freezeLedger(client: Client, ctx: ServiceContext, environment: EnvironmentName, req: FreezeRequest): Promise<LedgerOutcome> {
  const { service } = ctx;
  const view = await readLedger(client, service, environment);
  if (!view) {
    const unknown = unknownService(ctx, environment);
    if (unknown) throw unknown;
  }
  const problem = configRightsProblem(ctx, view, req.by);
  if (problem) return { environment, ok: false, message: problem };
  try {
    const frozen = await client.workflow.executeUpdateWithStart(freezeUpdate, {
      args: [req],
      startWorkflowOperation: new WithStartWorkflowOperation<typeof environmentLedger>('environmentLedger', {
        workflowId: ledgerId(service, environment),
        taskQueue: ctx.taskQueue,
        args: [{ service, environment, config: { ...(ctx.operators ? { operators: ctx.operators } : {}) } }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [{ key: SERVICE, value: service }],
        staticSummary: `Environment ledger of ${service} ${environment}: deploy lock, freeze, deployed versions`,
      }),
    });
    return { environment, ok: true, message: `froze ${service} ${environment} (by ${req.by}: ${req.reason}) ${describeEnd(frozen, ctx.timeZone)}` };
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
  const problem = configRightsProblem(ctx, view, req.by);
  if (problem) return { environment, ok: false, message: problem };
  try {
    await client.workflow.getHandle(ledgerId(service, environment)).executeUpdate(unfreezeUpdate, { args: [req] });
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
  if (!view.operators && ctx.operators) {
    const problem = authorisationProblem({ service: ctx.service, operators: ctx.operators }, req.by, 'rollback');
    if (problem) throw new TrainyardError('REJECTED', `rollback rejected: ${problem} (per ${ctx.configPath})`, 'Ask someone with the rollback right.');
  }
  try {
    return await client.workflow.getHandle(ledgerId(ctx.service, environment)).executeUpdate(rollbackUpdate, { args: [req] });
  } catch (err) {
    const why = rejection(err);
    if (why === undefined) throw err;
    throw new TrainyardError('REJECTED', `rollback rejected: ${why}`, `See the environment's versions: trainyard env ${ctx.service} --env ${environment}`);
  }
}
