// Shared helpers for scripts/setup.mjs. Node built-ins only: setup must work
// before (and independently of) `npm install`.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const RETRY = 'run `npm run setup` again';

/** A failure the user can act on: which step, why, the tool's last output, how to retry. */
export class SetupError extends Error {
  constructor(step, message, { tail = '', hint = '', log = '' } = {}) {
    super(message);
    this.step = step;
    this.tail = tail;
    this.hint = hint;
    this.log = log;
  }
}

/** `$TRAINYARD_CACHE`, else `$XDG_CACHE_HOME/trainyard`, else `~/.cache/trainyard`. */
export function cacheDir(env = process.env) {
  if (env.TRAINYARD_CACHE) return path.resolve(env.TRAINYARD_CACHE);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'trainyard');
}

export const say = (line) => process.stdout.write(`${line}\n`);

/** Absolute path of `cmd` on PATH, or undefined. */
export function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir || '.', cmd);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Quick synchronous command (version probes); never throws, never hangs. */
export function runQuick(cmd, args, timeoutMs = 10_000) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** Write a file so that readers see either the old or the new content, never half of it. */
export function writeFileAtomic(file, content, mode = 0o644) {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, file);
}

export const shQuote = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;

// Children still running; killed (whole process group) if setup is interrupted.
const liveChildren = new Set();

export function killGroup(child, signal = 'SIGKILL') {
  try {
    process.kill(-child.pid, signal); // negative pid: the child's process group
  } catch {
    child.kill(signal);
  }
}

/** Remember a running child so that an interrupted setup does not leave it behind. */
export function track(child) {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return child;
}

export function killAllChildren() {
  for (const child of liveChildren) killGroup(child);
}

/**
 * Run a long tool (go install, mvn) with a hard timeout. Output goes to `logFile`
 * in full and is kept in memory as a tail for error messages. The child gets its
 * own process group so a timeout also kills the compilers/JVMs it started.
 */
export function runLogged(step, cmd, args, { env, cwd, timeoutMs, logFile, hint }) {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  let tail = '';
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
    const onData = (buf) => {
      log.write(buf);
      tail = (tail + buf.toString()).slice(-8000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutMs);
    const fail = (message) => reject(new SetupError(step, message, { tail, hint, log: logFile }));
    child.on('error', (err) => fail(`could not start ${cmd}: ${err.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      log.end();
      if (timedOut) fail(`${path.basename(cmd)} did not finish within ${duration(timeoutMs)} and was stopped`);
      else if (code !== 0) fail(`${path.basename(cmd)} exited with ${signal ?? `code ${code}`}`);
      else resolve(tail);
    });
  });
}

/** The last `n` lines of a tool's output, without terminal colour codes. */
export const lastLines = (text, n = 20) =>
  text.replace(/\x1b\[[0-9;]*m/g, '').trimEnd().split('\n').slice(-n).join('\n');

export const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

const duration = (ms) => (ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : seconds(ms));
