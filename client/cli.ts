/**
 * `trainyard`: the operator CLI, a thin client over the workflows' messages. Exit codes: 0 success,
 * 1 rejected or failed, 2 usage.
 *
 * Only the command that runs is loaded (client/commands.ts says which module defines it): help and
 * usage errors need commander alone, and no command pays for the modules of the others.
 */
import { CommanderError } from 'commander';
import { TrainyardError } from '../domain/errors.js';
import { commandIn, COMMANDS, declareAll, Rejected, rootProgram, type CommandModule } from './commands.js';
import { complain, withRun, type CliRun } from './terminal.js';

type Program = ReturnType<typeof rootProgram>;

/** How each command module is loaded (a literal import each, so tools and the type checker see them). */
export const COMMAND_MODULES: Record<CommandModule, () => Promise<{ register(program: Program): void }>> = {
  'train-commands': () => import('./train-commands.js'),
  'env-commands': () => import('./env-commands.js'),
  cuts: () => import('./cuts.js'),
  'schedule-commands': () => import('./schedule-commands.js'),
  'prerelease-commands': () => import('./prerelease-commands.js'),
  'webhook-commands': () => import('./webhook-commands.js'),
  'flag-commands': () => import('./flag-commands.js'),
  'stage-commands': () => import('./stage-commands.js'),
  'admin-commands': () => import('./admin-commands.js'),
  'codec-server': () => import('./codec-server.js'),
};

/** The program, with the commands of the module that `args` (the arguments after the bin) name, or with every command's outline. */
export async function programFor(args: string[]): Promise<Program> {
  const program = rootProgram();
  const name = commandIn(args);
  if (!name) {
    declareAll(program);
    return program;
  }
  const module = await COMMAND_MODULES[COMMANDS[name].module]();
  program.hook('preAction', async () => {
    const { actAs, operator } = await import('./cli-context.js');
    actAs(operator(program.opts().as));
  });
  module.register(program);
  return program;
}

/**
 * Runs one command line (`argv` as process.argv: node, script, arguments) and returns the exit code.
 * The bin runs it on its own process's console and environment; `run` gives it others (tests run
 * many commands in one process this way, each with its own output and environment).
 */
export async function main(argv: string[], run?: CliRun): Promise<number> {
  return run ? withRun(run, () => runCommandLine(argv)) : runCommandLine(argv);
}

async function runCommandLine(argv: string[]): Promise<number> {
  try {
    const program = await programFor(argv.slice(2));
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) ? 0 : 2;
    if (err instanceof Rejected) {
      complain(err.message);
      return 1;
    }
    if (err instanceof TrainyardError) {
      complain(`error: ${err.message}\n${err.hint}`);
      return 1;
    }
    complain(`error: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}
