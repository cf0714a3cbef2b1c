#!/usr/bin/env node
// The demo's deploy command, as a team would write one: deploy.mjs <environment> --port <port>.
// Extracts the tag's files from the git repository, stops the running process of that environment,
// starts the new one and waits until it reports the tag. Idempotent: deploying the running tag is a
// no-op, so a retried deploy after a worker crash does no harm.
//
// Trainyard passes TRAINYARD_TAG, TRAINYARD_COMMIT, TRAINYARD_ENVIRONMENT and TRAINYARD_TRAIN_ID.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [environment, portFlag, portValue] = process.argv.slice(2);
if (!environment || portFlag !== '--port' || !portValue) {
  console.error('usage: deploy.mjs <environment> --port <port>');
  process.exit(2);
}
const tag = process.env.TRAINYARD_TAG;
const commit = process.env.TRAINYARD_COMMIT ?? '';
if (!tag) {
  console.error('TRAINYARD_TAG is not set');
  process.exit(2);
}
const root = process.env.DEMO_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '.trainyard', 'demo');
const envDir = join(root, 'envs', environment);
mkdirSync(envDir, { recursive: true });

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function reports(port, wanted) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/version`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()).version === wanted;
  } catch {
    return false;
  }
}

const pidFile = join(envDir, 'pid');
const oldPid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined;
if (oldPid && alive(oldPid) && (await reports(portValue, tag))) {
  console.log(`${environment} already runs ${tag}`);
  process.exit(0);
}

// Extract the tag's tree (a "build"): exactly what was tagged, nothing from a moving branch.
const releaseDir = join(root, 'releases', tag.replace(/[^A-Za-z0-9._-]/g, '_'));
if (!existsSync(join(releaseDir, 'server.mjs'))) {
  rmSync(releaseDir, { recursive: true, force: true });
  mkdirSync(releaseDir, { recursive: true });
  const archive = join(releaseDir, '..', `${process.pid}.tar`);
  execFileSync('git', ['-C', join(root, 'repo'), 'archive', '--format=tar', '-o', archive, `refs/tags/${tag}`]);
  execFileSync('tar', ['-xf', archive, '-C', releaseDir]);
  rmSync(archive);
}

if (oldPid && alive(oldPid)) {
  process.kill(oldPid, 'SIGTERM');
  for (let i = 0; i < 50 && alive(oldPid); i++) await new Promise((r) => setTimeout(r, 100));
}

const log = openSync(join(envDir, 'service.log'), 'a');
const child = spawn(process.execPath, [join(releaseDir, 'server.mjs')], {
  detached: true,
  stdio: ['ignore', log, log],
  env: { PORT: portValue, VERSION: tag, COMMIT: commit },
});
child.unref();
writeFileSync(pidFile, String(child.pid));
writeFileSync(join(envDir, 'version'), tag);
writeFileSync(join(envDir, 'port'), portValue);

for (let i = 0; i < 100; i++) {
  if (await reports(portValue, tag)) {
    console.log(`deployed ${tag} to ${environment} (pid ${child.pid}, port ${portValue})`);
    process.exit(0);
  }
  await new Promise((r) => setTimeout(r, 100));
}
console.error(`${environment} did not report ${tag} within 10 s; see ${join(envDir, 'service.log')}`);
process.exit(1);
