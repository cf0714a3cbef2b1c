/**
 * The local forge's records: plain JSON files inside the repository's git directory, written so a
 * reader sees a whole record or none, numbered safely when several writers create records at once,
 * and read-modify-written under a lock file.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommitState } from './forge.js';
import { TrainyardError } from '../../domain/errors.js';
import { FULL_SHA, GitRepo } from './local-git-repo.js';

/** File system failures: permissions are for a person to fix; the rest may pass (disk full, I/O). */
export function fsFailure(err: unknown, what: string): TrainyardError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = `${what} failed: ${(err as Error).message}`;
  if (['EACCES', 'EPERM', 'EROFS'].includes(code)) {
    return new TrainyardError('FORGE_AUTH', message, 'Give the worker write access to the repository\'s git directory.', { cause: err });
  }
  return new TrainyardError('FORGE_UNAVAILABLE', message, 'Retried automatically; check the disk if it persists.', { cause: err });
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw fsFailure(err, `creating ${dir}`);
  });
}

/** Writes a file so a reader sees the old content or the new, never half of it. */
export async function writeAtomically(path: string, content: string): Promise<void> {
  const temp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, content, 'utf8');
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw fsFailure(err, `writing ${path}`);
  }
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeAtomically(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Creates a file with its whole content, failing (false) when it exists: written aside, then
 * hard-linked into place, which is atomic and refuses an existing name.
 */
export async function createExclusively(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, content, 'utf8');
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fsFailure(err, `creating ${path}`);
  } finally {
    await rm(temp, { force: true }).catch(() => undefined);
  }
}

/** Parsed JSON of a record, undefined when the file does not exist; a damaged file is an error. */
export async function readJson<T>(path: string, valid: (value: unknown) => value is T, fix: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsFailure(err, `reading ${path}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!valid(parsed)) throw new TrainyardError('FORGE_UNAVAILABLE', `record ${path} is damaged`, fix);
  return parsed;
}

/** Numbers of the `<n>.json` records in a folder, ascending. */
export async function recordNumbers(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fsFailure(err, `listing ${dir}`);
  }
  return names.flatMap((n) => (/^[1-9]\d{0,9}\.json$/.test(n) ? [Number(n.slice(0, -5))] : [])).sort((a, b) => a - b);
}

/**
 * Stores a new record under the next free number: `make(n)` builds it, and a number another
 * writer took in the meantime is skipped (exclusive create).
 */
export async function createNumbered<T>(dir: string, make: (n: number) => T): Promise<T> {
  await ensureDir(dir);
  let n = ((await recordNumbers(dir)).at(-1) ?? 0) + 1;
  for (let attempt = 0; attempt < 100; attempt++, n++) {
    const record = make(n);
    if (await createExclusively(join(dir, `${n}.json`), `${JSON.stringify(record, null, 2)}\n`)) return record;
  }
  throw new TrainyardError('FORGE_UNAVAILABLE', `could not allocate a record number in ${dir}`, 'Retried automatically.');
}

const LOCK_WAIT_MS = 10_000;
/** A lock older than this was left by a killed process (nothing holds one for more than a merge). */
const STALE_LOCK_MS = 120_000;

/** The lock's holder (its pid) has exited without removing it: a killed worker. */
async function holderIsGone(lock: string): Promise<boolean> {
  const pid = Number(await readFile(lock, 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Runs `fn` holding `<dir>/.lock`, so read-modify-write of records by concurrent activities (in
 * this process or another worker) never loses an update.
 */
export async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  await ensureDir(dir);
  const lock = join(dir, '.lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsFailure(err, `locking ${dir}`);
    }
    const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > STALE_LOCK_MS || (await holderIsGone(lock))) await unlink(lock).catch(() => undefined);
    else if (Date.now() > deadline) throw new TrainyardError('FORGE_UNAVAILABLE', `${lock} has been held for ${Math.round(age / 1000)}s`, 'Retried automatically; delete the lock file if no worker is running.');
    else await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

// ── commit CI state ──────────────────────────────────────────────────────────────────────────

export interface CommitStateRecord {
  state: Exclude<CommitState, 'none'>;
  /** The local pipeline that set it, when one did: a newer pipeline of the commit takes over. */
  pipelineId?: string;
  updatedAt: string;
}

const STATES: readonly string[] = ['success', 'failure', 'pending'];

export function isCommitStateRecord(value: unknown): value is CommitStateRecord {
  const v = value as Partial<CommitStateRecord> | null;
  return typeof v === 'object' && v !== null && typeof v.state === 'string' && STATES.includes(v.state);
}

export async function readCommitState(repo: GitRepo, sha: string): Promise<CommitState> {
  if (!FULL_SHA.test(sha)) return 'none';
  const stored = await readJson(join(await repo.recordDir('status'), `${sha}.json`), isCommitStateRecord, 'Record the state again (recordCommitState), or delete the file.');
  return stored?.state ?? 'none';
}

/**
 * Records what CI says about a commit of a local-git forge's repository, as a CI system reporting
 * a status would. Local pipelines do this themselves; tests and the demo use it to mark commits.
 */
export async function recordCommitState(repoPath: string, sha: string, state: Exclude<CommitState, 'none'>): Promise<void> {
  if (!FULL_SHA.test(sha)) throw new TrainyardError('INVALID_REF', `"${sha.slice(0, 80)}" is not a full commit sha`, 'Pass the 40-character sha (git rev-parse <ref>).');
  if (!STATES.includes(state)) throw new TrainyardError('FORGE_INVALID', `"${String(state).slice(0, 20)}" is not a CI state`, `Use one of: ${STATES.join(', ')}.`);
  const repo = new GitRepo(repoPath);
  const dir = await repo.recordDir('status');
  await ensureDir(dir);
  const record: CommitStateRecord = { state, updatedAt: new Date().toISOString() };
  await writeJson(join(dir, `${sha}.json`), record);
}
