/** `trainyard freeze|unfreeze|rollback|env`: a service's environment ledgers. */
import type { rollbackEnvironment } from '../workflows/rollbackEnvironment.js';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { operator, withClient } from './cli-context.js';
import { declare, Rejected } from './commands.js';
import { formatLedger } from './format.js';
import { environmentsOf, freezeLedger, ledgerView, parseUntil, rollbackLedger, serviceContext, unfreezeLedger, type LedgerOutcome } from './ledgers.js';
import { say } from './terminal.js';

/** Prints what was done; rejections go to stderr and make the command exit 1. */
function report(verb: string, outcomes: LedgerOutcome[]): void {
  const many = outcomes.length > 1;
  for (const o of outcomes.filter((x) => x.ok)) say(o.message);
  const failed = outcomes.filter((o) => !o.ok).map((o) => `${verb} rejected${many ? ` in ${o.environment}` : ''}: ${o.message}`);
  if (failed.length > 0) throw new Rejected(failed.join('\n'));
}

function envOption(all: boolean): Option {
  return new Option('--env <environment>', 'the environment').choices(all ? ['production', 'staging', 'all'] : ['production', 'staging']).default('production');
}

function untilArg(text: string): number {
  try {
    return parseUntil(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function register(program: Command): void {
  declare(program, 'freeze')
    .requiredOption('--reason <text>', 'why (shown to waiting trains and recorded)')
    .addOption(envOption(true))
    .addOption(new Option('--until <when>', 'end by itself at an ISO time or after a duration (90m, 2h, 3d)').argParser(untilArg))
    .action(async (service: string, opts: { reason: string; env: string; until?: number }) => {
      const ctx = serviceContext(program.opts().config, service);
      const req = { by: operator(program.opts().as), reason: opts.reason, ...(opts.until !== undefined ? { until: new Date(opts.until).toISOString() } : {}) };
      await withClient(async (client) => {
        const outcomes: LedgerOutcome[] = [];
        for (const env of environmentsOf(opts.env)) outcomes.push(await freezeLedger(client, ctx, env, req));
        report('freeze', outcomes);
      });
    });

  declare(program, 'unfreeze')
    .requiredOption('--reason <text>', 'why (recorded)')
    .addOption(envOption(true))
    .action(async (service: string, opts: { reason: string; env: string }) => {
      const ctx = serviceContext(program.opts().config, service);
      const req = { by: operator(program.opts().as), reason: opts.reason };
      await withClient(async (client) => {
        const outcomes: LedgerOutcome[] = [];
        for (const env of environmentsOf(opts.env)) outcomes.push(await unfreezeLedger(client, ctx, env, req, opts.env === 'all'));
        if (opts.env === 'all' && outcomes.every((o) => o.skipped)) {
          throw new Rejected(`unfreeze rejected: ${service} is not frozen in staging or production`);
        }
        report('unfreeze', outcomes);
      });
    });

  declare(program, 'rollback')
    .requiredOption('--reason <text>', 'why (recorded and notified)')
    .addOption(envOption(false))
    .option('--to <tag>', 'the verified tag to go back to (default: the one before the current)')
    .option('--no-wait', 'return once the rollback has started')
    .action(async (service: string, opts: { reason: string; env: string; to?: string; wait: boolean }) => {
      const ctx = serviceContext(program.opts().config, service);
      const environment = environmentsOf(opts.env)[0] ?? 'production';
      const req = { by: operator(program.opts().as), reason: opts.reason, ...(opts.to ? { to: opts.to } : {}) };
      await withClient(async (client) => {
        const { rollbackId, tag } = await rollbackLedger(client, ctx, environment, req);
        say(`rolling ${service} ${environment} back to ${tag} (by ${req.by}: ${req.reason}): ${rollbackId}`);
        if (!opts.wait) return;
        const result = await client.workflow.getHandle<typeof rollbackEnvironment>(rollbackId).result();
        if (result.outcome !== 'rolled-back') throw new Rejected(`rollback failed: ${result.summary}`);
        say(result.summary);
      });
    });

  declare(program, 'env')
    .addOption(envOption(false))
    .option('--json', 'machine-readable output (the ledger query)')
    .action(async (service: string, opts: { env: string; json?: boolean }) => {
      const ctx = serviceContext(program.opts().config, service);
      await withClient(async (client) => {
        const { view, exists } = await ledgerView(client, ctx, environmentsOf(opts.env)[0] ?? 'production');
        say(opts.json ? JSON.stringify(view, null, 2) : formatLedger(view, ctx.timeZone, exists));
      });
    });

}
