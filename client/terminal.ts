/**
 * Where one run of the `trainyard` CLI prints and what environment it reads. The bin runs one
 * command in its own process (the process's stdout, stderr and environment); a test may run many
 * commands in one process, each with its own output and environment (`runCli` in cli.ts), so the
 * run is carried by AsyncLocalStorage rather than by globals.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CliRun {
  env: NodeJS.ProcessEnv;
  out(text: string): void;
  err(text: string): void;
  /** Who this run acts as, once the command line is parsed (`--as`, else the environment, else the OS user). */
  actingAs?: string;
}

const processRun: CliRun = {
  env: process.env,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

const runs = new AsyncLocalStorage<CliRun>();

export function currentRun(): CliRun {
  return runs.getStore() ?? processRun;
}

export function withRun<T>(run: CliRun, fn: () => Promise<T>): Promise<T> {
  return runs.run(run, fn);
}

/** The environment of this CLI run. */
export function cliEnv(): NodeJS.ProcessEnv {
  return currentRun().env;
}

/**
 * Text for a terminal: control characters (but newline and tab) and the bidirectional overrides are
 * shown as `\uXXXX`, so operator text (a reason, a note, a branch name) printed by `status`, `env`
 * or `watch` cannot move the cursor, recolour, retitle or reorder someone else's terminal. Inside
 * JSON strings the replacement is the same character's JSON escape.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A line of the command's answer, on stdout. */
export function say(line: string): void {
  currentRun().out(`${terminalSafe(line)}\n`);
}

/** A line about what went wrong, on stderr. */
export function complain(line: string): void {
  currentRun().err(`${terminalSafe(line)}\n`);
}
