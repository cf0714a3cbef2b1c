/**
 * The CLI's rule book (client/commands.ts) and its command modules agree: each module registers
 * exactly the commands the table gives it, with the table's usage and summary, so the outline that
 * `trainyard --help` prints without loading any module is the truth, and each command loads its own
 * module only.
 */
import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES, programFor } from '../../client/cli.js';
import { commandIn, COMMANDS, rootProgram, terminalSafe, type CommandModule } from '../../client/commands.js';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

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

  it('prints operator text so that it cannot drive the terminal: control and bidi characters are shown escaped', async () => {
    expect(terminalSafe('ok\tfine\nnext')).toBe('ok\tfine\nnext');
    expect(terminalSafe('red \u001b[31mALERT\u001b[0m \u0007\r\u009b2J \u202eevil')).toBe('red \\u001b[31mALERT\\u001b[0m \\u0007\\u000d\\u009b2J \\u202eevil');
    // In JSON the escape stands for the same character.
    const json = terminalSafe(JSON.stringify({ reason: 'a\u009bb\u202ec' }));
    expect(JSON.parse(json)).toEqual({ reason: 'a\u009bb\u202ec' });
    // The built binary, as a person runs it: a usage error that echoes what was typed.
    const out = await promisify(execFile)(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'trainyard.js'), 'nosuch\u001b]0;pwned\u0007'], { env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } }).catch((err: { stderr: string }) => err);
    expect(out.stderr).toContain("unknown command 'nosuch\\u001b]0;pwned\\u0007'");
    expect(out.stderr).not.toMatch(/[\u001b\u0007]/);
  });
});
