/**
 * CLI arguments under hostile input. The commander program is exercised in-process (main(argv), the
 * function bin/trainyard.js runs): every generated command line carries a usage error — unknown
 * command or option, missing argument or required option, a value outside the choices, a bad
 * --until / --port / --ui-origin, too many arguments — and must exit 2 with an `error:` line, no
 * stack trace, nothing on stdout, and nothing run through a shell. A few real spawns of the binary
 * confirm the same from the outside.
 */
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseUntil } from '../../client/ledgers.js';
import { runCli } from '../helpers/cli.js';
import { checkAsync, count, nasty, printTally, sized } from './arbitraries.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** Where a command substitution that reached a shell would leave its mark. */
const PWNED = join(tmpdir(), `trainyard-pwned-${process.pid}`);
/**
 * A command line that wrongly passed as valid would run: point it at nothing, so it fails fast with
 * exit 1 (caught by the property) instead of acting on a Temporal server someone is running.
 */
const SAFE_ENV = { TEMPORAL_ADDRESS: '127.0.0.1:1', TRAINYARD_CONFIG: join(tmpdir(), 'trainyard-none', 'trainyard.yaml') };
afterAll(() => printTally());

const OPERATOR_COMMANDS = ['promote', 'abort', 'retry-deploy', 'rerun-e2e'];
const ALL_COMMANDS = ['status', 'watch', 'start', 'tag', 'hotfix', 'changelog', ...OPERATOR_COMMANDS, 'freeze', 'unfreeze', 'rollback', 'env', 'worker', 'setup', 'codec-server', 'config', 'help'];

/** Hostile values, minus the ones that legitimately ask for help (exit 0). */
const value = fc
  .oneof(
    { weight: 6, arbitrary: nasty },
    { weight: 1, arbitrary: fc.constantFrom(`$(touch ${PWNED})`, `\`touch ${PWNED}\``, `;touch ${PWNED}`, '-rf', '--', '-', '') },
    { weight: 1, arbitrary: sized(nasty, 10_000, 120_000) },
  )
  .filter((v) => !/^(-h|--help)/.test(v));
/** A value that is not an option, so it lands where it is put. */
const word = value.filter((v) => !v.startsWith('-'));
const globals = fc.oneof(fc.constant([] as string[]), fc.tuple(fc.constantFrom('--as', '--config'), value).map((pair) => [...pair]));

const usageError = fc.oneof(
  // An unknown command, with anything after it.
  fc.tuple(word.filter((w) => !ALL_COMMANDS.includes(w) && w !== ''), fc.array(value, { maxLength: 3 })).map(([cmd, rest]) => [cmd, ...rest]),
  // An unknown option on a real command.
  fc.tuple(fc.constantFrom(...ALL_COMMANDS.filter((c) => c !== 'help')), word, fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/)).map(([cmd, arg, opt]) => [cmd, arg, `--zz-${opt}`]),
  // An operator command without its --reason.
  fc.tuple(fc.constantFrom(...OPERATOR_COMMANDS, 'start', 'changelog', 'freeze', 'unfreeze'), word).map(([cmd, target]) => [cmd, target]),
  // A required argument missing.
  fc.tuple(fc.constantFrom(...OPERATOR_COMMANDS, 'watch', 'start', 'freeze', 'env'), value).map(([cmd, reason]) => [cmd, '--reason', reason]),
  // A value outside --env's choices.
  fc.tuple(fc.constantFrom('freeze', 'unfreeze', 'env'), word, value.filter((v) => !['production', 'staging', 'all'].includes(v))).map(([cmd, svc, env]) => [cmd, svc, '--reason', 'r', '--env', env]),
  // An --until that is neither an ISO time nor a duration.
  fc.tuple(word, value.filter((v) => !parsesAsUntil(v))).map(([svc, until]) => ['freeze', svc, '--reason', 'r', '--until', until]),
  // A bad --port or --ui-origin for the codec server.
  value.filter((v) => !/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65_535).map((port) => ['codec-server', '--port', port]),
  value.filter((v) => !/^https?:\/\/[^/]+\/?$/.test(v)).map((origin) => ['codec-server', '--ui-origin', origin]),
  // Too many arguments.
  fc.tuple(fc.constantFrom('status', 'watch', 'env', 'start'), word, word).map(([cmd, a, b]) => [cmd, a, b]),
);

function parsesAsUntil(text: string): boolean {
  try {
    parseUntil(text);
    return true;
  } catch {
    return false;
  }
}

/** The CLI in-process, pointed at nothing: no profile, no codec keys. */
const run = (args: string[]) => runCli(args, { ...SAFE_ENV, TEMPORAL_PROFILE: undefined, TRAINYARD_CODEC_KEYS: undefined, TRAINYARD_CODEC_KEY_FILE: undefined });

const STACK_LINE = /\n\s+at .+(:\d+:\d+|\(native\))/;

describe('CLI arguments', () => {
  it('every command line with a usage error exits 2 with one clear error, no stack trace, nothing run', async () => {
    await checkAsync('cli arguments', 1000, globals, usageError, async (global, args) => {
      const out = await run([...global, ...args]);
      const shown = JSON.stringify(args).slice(0, 200);
      expect(out.code, `${shown}: ${out.stderr.slice(0, 300)}`).toBe(2);
      expect(out.stderr, shown).toMatch(/^error: /);
      expect(out.stderr).not.toMatch(STACK_LINE);
      expect(out.stdout).toBe('');
    });
    expect(existsSync(PWNED)).toBe(false);
  });

  it('the real binary agrees: exit 2, an error line, no stack trace (spawned)', async () => {
    // Spawning costs ~0.7 s of CPU each (Node start and module loading): a few stand for the rest.
    const lines = [
      ['promote', `$(touch ${PWNED})`],
      ['freeze', 'demo', '--reason', `\`touch ${PWNED}\``, '--env', `prod;touch ${PWNED}`],
      ['-rf', '/'],
      ['status', 'a'.repeat(100_000), 'b\u202e'],
    ];
    const results = [];
    for (const args of lines) results.push(await spawnCli(args));
    for (const [i, out] of results.entries()) {
      const shown = JSON.stringify(lines[i]).slice(0, 120);
      expect(out.code, `${shown}: ${out.stderr}`).toBe(2);
      expect(out.stderr, shown).toMatch(/^error: /);
      expect(out.stderr).not.toMatch(STACK_LINE);
      expect(out.stdout).toBe('');
    }
    count('cli arguments', lines.length);
    expect(existsSync(PWNED)).toBe(false);
  });
});

function spawnCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'trainyard.js'), ...args], { cwd: tmpdir(), env: { PATH: process.env.PATH, HOME: process.env.HOME, ...SAFE_ENV } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
