// Cross-process lock for the toolchain cache, so that two `npm` commands
// started at once do not build into the same directories. `mkdir` is atomic on
// every local filesystem, which makes an empty-or-not directory a portable lock.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SetupError, say } from './util.mjs';

const POLL_MS = 500;
// Longest a legitimate holder can need: Go build (20 min) + Maven (10 min) + slack.
const MAX_WAIT_MS = 40 * 60_000;
// A lock dir without an owner file this old was left by a crash between mkdir and write.
const ORPHAN_MS = 60_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readOwner(lockDir) {
  try {
    return JSON.parse(readFileSync(path.join(lockDir, 'owner.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** True if the lock's holder is gone (dead pid on this host, or orphaned dir). */
function isStale(lockDir) {
  const owner = readOwner(lockDir);
  if (owner) return owner.host === os.hostname() && !isAlive(owner.pid);
  try {
    return Date.now() - statSync(lockDir).mtimeMs > ORPHAN_MS;
  } catch {
    return false; // vanished meanwhile: not stale, just retry mkdir
  }
}

function tryAcquire(lockDir) {
  try {
    mkdirSync(lockDir);
  } catch (err) {
    if (err.code === 'EEXIST') return false;
    throw err;
  }
  writeFileSync(path.join(lockDir, 'owner.json'), JSON.stringify({ pid: process.pid, host: os.hostname() }));
  return true;
}

function breakStale(lockDir) {
  // Rename first so that only one waiter removes it; the loser's rename fails.
  const trash = `${lockDir}.stale-${process.pid}`;
  try {
    renameSync(lockDir, trash);
    rmSync(trash, { recursive: true, force: true });
  } catch {
    /* someone else broke it first */
  }
}

/** Wait for and take the lock; returns a release function. */
export async function acquireLock(lockDir) {
  const started = Date.now();
  let announced = false;
  while (!tryAcquire(lockDir)) {
    if (isStale(lockDir)) {
      breakStale(lockDir);
      continue;
    }
    if (!announced) {
      const pid = readOwner(lockDir)?.pid ?? '?';
      say(`… another setup run (pid ${pid}) is installing the toolchain; waiting for it`);
      announced = true;
    }
    if (Date.now() - started > MAX_WAIT_MS) {
      throw new SetupError('wait for the toolchain lock', `the lock ${lockDir} is still held after ${MAX_WAIT_MS / 60_000} min`, {
        hint: `if no other setup is running, delete ${lockDir}`,
      });
    }
    await sleep(POLL_MS);
  }
  return () => rmSync(lockDir, { recursive: true, force: true });
}
