#!/usr/bin/env node
// The demo's preview driver, as a team would write one: preview.mjs create|update|destroy.
// A preview is a fresh "database" (a folder with its schema) and a service process on a free port,
// both under <PREVIEW_DIR>/<name>. create prints the preview's URL as its last line; update restarts
// the service on the same port with the new commit; destroy stops the process and removes
// everything, and succeeds when there is nothing left (it also runs after a half-done create).
//
// Trainyard passes TRAINYARD_PREVIEW_NAME, TRAINYARD_SHA (create, update), TRAINYARD_PR (create).
// PREVIEW_FAIL_AFTER=database makes create fail after the database exists (to show the cleanup).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const step = process.argv[2];
const name = process.env.TRAINYARD_PREVIEW_NAME ?? '';
if (!['create', 'update', 'destroy'].includes(step ?? '') || !/^[a-z0-9-]{1,63}$/.test(name)) {
  console.error('usage: TRAINYARD_PREVIEW_NAME=<name> preview.mjs create|update|destroy');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const root = process.env.PREVIEW_DIR ?? resolve(here, '..', '.trainyard', 'demo', 'previews');
const dir = join(root, name);
const pidFile = join(dir, 'pid');
const portFile = join(dir, 'port');

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const runningPid = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined);

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function reports(port, sha) {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/version`, { signal: AbortSignal.timeout(1000) });
    return (await r.json()).version === sha;
  } catch {
    return false;
  }
}

async function stop() {
  const pid = runningPid();
  if (!pid || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

async function startService(sha, port) {
  await stop();
  const log = openSync(join(dir, 'service.log'), 'a');
  const child = spawn(process.execPath, [join(here, 'app', 'server.mjs')], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { PORT: String(port), VERSION: sha, COMMIT: sha, DATABASE_DIR: join(dir, 'database') },
  });
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  for (let i = 0; i < 100; i++) {
    if (await reports(port, sha)) return;
    await sleep(100);
  }
  console.error(`${name} did not answer with ${sha} within 10 s; see ${join(dir, 'service.log')}`);
  process.exit(1);
}

const sha = process.env.TRAINYARD_SHA ?? '';
if (step === 'destroy') {
  await stop();
  rmSync(dir, { recursive: true, force: true });
  console.log(`destroyed ${name}`);
} else if (!/^[0-9a-f]{7,64}$/.test(sha)) {
  console.error('TRAINYARD_SHA is not a commit sha');
  process.exit(2);
} else if (step === 'create') {
  mkdirSync(join(dir, 'database'), { recursive: true });
  writeFileSync(join(dir, 'database', 'schema.sql'), `-- preview database of ${name} (PR ${process.env.TRAINYARD_PR ?? '?'})\n`);
  if (process.env.PREVIEW_FAIL_AFTER === 'database') {
    console.error(`create of ${name} failed after its database was created`);
    process.exit(1);
  }
  // Idempotent: a retried create reuses the port (and the running process when it has the sha).
  const port = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) : await freePort();
  writeFileSync(portFile, String(port));
  const pid = runningPid();
  if (!(pid && alive(pid) && (await reports(port, sha)))) await startService(sha, port);
  console.log(`created ${name} at ${sha}`);
  console.log(`http://127.0.0.1:${port}/`);
} else {
  if (!existsSync(portFile)) {
    console.error(`${name} does not exist (no port file in ${dir}); it must be created first`);
    process.exit(1);
  }
  const port = Number(readFileSync(portFile, 'utf8'));
  await startService(sha, port);
  console.log(`updated ${name} to ${sha}`);
}
