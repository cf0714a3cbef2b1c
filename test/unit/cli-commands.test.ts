/**
 * The CLI's rule book (client/commands.ts) and its command modules agree: each module registers
 * exactly the commands the table gives it, with the table's usage and summary, so the outline that
 * `trainyard --help` prints without loading any module is the truth, and each command loads its own
 * module only.
 */
import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES, programFor } from '../../client/cli.js';
import { commandIn, COMMANDS, rootProgram, type CommandModule } from '../../client/commands.js';

const modules = [...new Set(Object.values(COMMANDS).map((c) => c.module))] as CommandModule[];

describe('the CLI rule book', () => {
  it.each(modules)('%s registers exactly the commands the table gives it', async (module) => {
    const program = rootProgram();
    (await COMMAND_MODULES[module]()).register(program);
    const registered = program.commands.map((c) => ({ name: c.name(), usage: `${c.name()}${c.registeredArguments.map((a) => (a.required ? ` <${a.name()}>` : ` [${a.name()}]`)).join('')}`, summary: c.description() }));
    const expected = Object.entries(COMMANDS)
      .filter(([, c]) => c.module === module)
      .map(([name, c]) => ({ name, usage: c.usage, summary: c.summary }));
    expect(registered).toEqual(expected);
  });

  it('finds the command in an argument list, past the global options and through `help`', () => {
    expect(commandIn(['--as', 'alice', '--config', 'status', 'promote', 'train/x'])).toBe('promote');
    expect(commandIn(['help', 'freeze'])).toBe('freeze');
    expect(commandIn(['--help'])).toBeUndefined();
    expect(commandIn(['nosuch', 'status'])).toBeUndefined();
    expect(commandIn(['constructor'])).toBeUndefined();
  });

  it('builds the program of one command with only that command’s module', async () => {
    const program = await programFor(['env', 'demo']);
    expect(program.commands.map((c) => c.name()).sort()).toEqual(['env', 'freeze', 'rollback', 'unfreeze']);
    const outline = await programFor(['--help']);
    expect(outline.commands.map((c) => c.name())).toEqual(Object.keys(COMMANDS));
  });
});
