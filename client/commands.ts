/**
 * The rule book of the `trainyard` command line: every top-level command, its usage, its one-line
 * summary, and the module that defines its options and action (`register(program)`). The bin loads
 * only this file and commander before it knows which command runs, then the one module that command
 * needs: `trainyard --help` costs no Temporal client, `trainyard status` no forge or worker code.
 *
 * A command module declares its commands with `declare(program, name)`, so usage and summary live
 * here once; test/unit/cli-commands.test.ts checks that each module registers exactly its commands.
 */
import { Command } from 'commander';
import { currentRun, terminalSafe } from './terminal.js';

/** The command modules, by file name under client/. */
export type CommandModule =
  | 'train-commands'
  | 'env-commands'
  | 'cuts'
  | 'schedule-commands'
  | 'prerelease-commands'
  | 'webhook-commands'
  | 'flag-commands'
  | 'stage-commands'
  | 'admin-commands'
  | 'codec-server';

interface CommandEntry {
  usage: string;
  summary: string;
  module: CommandModule;
}

export const COMMANDS = {
  status: { usage: 'status [train]', module: 'train-commands', summary: 'active trains, or one train in detail (train id, or a service with one active train)' },
  watch: { usage: 'watch <train>', module: 'train-commands', summary: 'print stage changes until the train ends' },
  start: { usage: 'start <service>', module: 'cuts', summary: 'cut a release of a service now and start its train' },
  tag: { usage: 'tag <service>', module: 'cuts', summary: "tag a chosen commit as the next tag (.1 → .2) and supersede the service's active train" },
  hotfix: { usage: 'hotfix <service>', module: 'cuts', summary: 'branch from the production tag, cherry-pick commits, tag and release them; freezes other trains meanwhile' },
  changelog: { usage: 'changelog <train>', module: 'cuts', summary: "regenerate a train's changelog, optionally from another previous tag" },
  promote: { usage: 'promote <train>', module: 'train-commands', summary: 'promote a train to production now' },
  abort: { usage: 'abort <train>', module: 'train-commands', summary: 'abort a train (cancels its running deploy or check)' },
  'retry-deploy': { usage: 'retry-deploy <train>', module: 'train-commands', summary: 'retry a deploy whose retries were exhausted' },
  'rerun-e2e': { usage: 'rerun-e2e <train>', module: 'train-commands', summary: 'run E2E again on a train waiting after failed E2E' },
  freeze: { usage: 'freeze <service>', module: 'env-commands', summary: "freeze a service's environment: trains wait before deploying there until it is unfrozen or the freeze ends" },
  unfreeze: { usage: 'unfreeze <service>', module: 'env-commands', summary: "end a freeze of a service's environment" },
  rollback: { usage: 'rollback <service>', module: 'env-commands', summary: 'roll an environment back to its previous verified version (or --to a verified tag), through any freeze' },
  env: { usage: 'env <service>', module: 'env-commands', summary: "an environment's ledger: deploy lock, queue, freeze, last deployments" },
  schedules: { usage: 'schedules', module: 'schedule-commands', summary: "the services' cut schedules (Temporal Schedules)" },
  deploy: { usage: 'deploy <service>', module: 'prerelease-commands', summary: 'deploys a pre-release whose QA gate is open to production (marks it latest, smoke-tests, rolls back on failure)' },
  prerelease: { usage: 'prerelease', module: 'prerelease-commands', summary: "a pre-release's QA gate (seed 004): status, waivers, env var acknowledgements" },
  revert: { usage: 'revert <service>', module: 'prerelease-commands', summary: 'opens a revert pull request for each merged pull request (stage-fixes)' },
  flag: { usage: 'flag', module: 'flag-commands', summary: 'feature-flag rollouts (Ready-for-testing → Opt-in → Opt-out → Mandatory)' },
  stage: { usage: 'stage', module: 'stage-commands', summary: 'stage on every merge: the follower that deploys each green commit of a branch to staging' },
  webhooks: { usage: 'webhooks', module: 'webhook-commands', summary: 'receive GitHub/GitLab webhooks: pull requests run preview environments, pushes to a followed branch go to staging' },
  preview: { usage: 'preview <service> <pr>', module: 'webhook-commands', summary: "a pull request's preview environment: state, URL, deployed commit, what it waits for" },
  worker: { usage: 'worker', module: 'admin-commands', summary: 'run a Trainyard worker against the configured Temporal cluster' },
  setup: { usage: 'setup', module: 'admin-commands', summary: "register Trainyard's search attributes on the configured Temporal namespace (idempotent)" },
  config: { usage: 'config', module: 'admin-commands', summary: 'configuration: its JSON Schema, and a check of the config file' },
  'codec-server': { usage: 'codec-server', module: 'codec-server', summary: 'decode encrypted payloads for the Temporal Web UI (keys from TRAINYARD_CODEC_KEYS or TRAINYARD_CODEC_KEY_FILE)' },
} as const satisfies Record<string, CommandEntry>;

export type CommandName = keyof typeof COMMANDS;

export { terminalSafe } from './terminal.js';

/** A failure the CLI reports in one line (plus a hint) and exits 1 for. */
export class Rejected extends Error {}

/** Adds a top-level command with its usage and summary from the table; the caller adds options and the action. */
export function declare(program: Command, name: CommandName): Command {
  const { usage, summary } = COMMANDS[name];
  return program.command(usage).description(summary);
}

/** The program with its global options, before any command is added. */
export function rootProgram(): Command {
  const program = new Command('trainyard')
    .description('Release trains as durable Temporal workflows')
    .option('--as <operator>', 'your operator name (default: $TRAINYARD_OPERATOR or your OS user)')
    .option('--config <file>', 'config file (default: $TRAINYARD_CONFIG or ./trainyard.yaml)')
    // Before the subcommands are added, so they inherit it: usage errors throw (exit 2), not exit(1).
    .exitOverride()
    .configureOutput({ writeOut: (s) => currentRun().out(terminalSafe(s)), writeErr: (s) => currentRun().err(terminalSafe(s)) });
  return program;
}

const VALUED_OPTIONS = new Set(['--as', '--config']);

/** The command an argument list names (`help <command>` names that command), if any. */
export function commandIn(args: string[]): CommandName | undefined {
  const words: string[] = [];
  for (let i = 0; i < args.length && words.length < 2; i++) {
    const arg = args[i] as string;
    if (VALUED_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith('-')) words.push(arg);
  }
  const name = words[0] === 'help' ? words[1] : words[0];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? (name as CommandName) : undefined;
}

/** Registers every command of the table without options or actions: enough for help and for "unknown command". */
export function declareAll(program: Command): void {
  for (const name of Object.keys(COMMANDS) as CommandName[]) declare(program, name);
}
