/**
 * The demo's world: a real git repository as the forge and real processes as deploy targets.
 * `npm start` creates the repository on first run, restarts the environments at the versions last
 * deployed to them, and stops them again on Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopGroup } from '../activities/process.js';

const here = dirname(fileURLToPath(import.meta.url));
/** demo/ in the source tree, whether this runs from demo/ or dist/demo/. */
export const demoSourceDir = existsSync(join(here, 'deploy.mjs')) ? here : join(here, '..', '..', 'demo');

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Demo Developer',
  GIT_AUTHOR_EMAIL: 'dev@demo.invalid',
  GIT_COMMITTER_NAME: 'Demo Developer',
  GIT_COMMITTER_EMAIL: 'dev@demo.invalid',
};

function git(repo: string, args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { env: gitEnv, encoding: 'utf8' });
}

/** Creates the demo repository with a short history on `main`, once. Returns true when it did. */
export function setupDemoRepo(root: string): boolean {
  const repo = join(root, 'repo');
  if (existsSync(join(repo, '.git'))) return false;
  mkdirSync(repo, { recursive: true });
  git(repo, ['init', '--quiet', '--initial-branch=main']);
  writeFileSync(join(repo, 'README.md'), '# demo service\n\nDeployed by Trainyard.\n');
  git(repo, ['add', 'README.md']);
  git(repo, ['commit', '--quiet', '-m', 'Start the demo service']);
  copyFileSync(join(demoSourceDir, 'app', 'server.mjs'), join(repo, 'server.mjs'));
  git(repo, ['add', 'server.mjs']);
  git(repo, ['commit', '--quiet', '-m', 'Serve /version and /health']);
  return true;
}

/** The commit `main` of the demo repository points at. */
export function demoBranchHead(root: string): string {
  return git(join(root, 'repo'), ['rev-parse', 'refs/heads/main']).trim();
}

/** Adds a commit to `main`, as a developer merging a change would. */
export function commitChange(root: string, message: string): string {
  const repo = join(root, 'repo');
  writeFileSync(join(repo, 'CHANGELOG.md'), `${message}\n`, { flag: 'a' });
  git(repo, ['add', 'CHANGELOG.md']);
  git(repo, ['commit', '--quiet', '-m', message]);
  return git(repo, ['rev-parse', 'HEAD']).trim();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function environments(root: string): { name: string; dir: string }[] {
  const envs = join(root, 'envs');
  return existsSync(envs) ? readdirSync(envs).map((name) => ({ name, dir: join(envs, name) })) : [];
}

/**
 * Starts each environment's process again at the version last deployed to it, on the port `ports`
 * names for it now (else the one it last ran on).
 */
export function restartTargets(root: string, ports: Record<string, string> = {}): string[] {
  const restarted: string[] = [];
  for (const { name, dir } of environments(root)) {
    const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8').trim() : '');
    const pid = Number(read('pid'));
    const [version, port] = [read('version'), ports[name] ?? read('port')];
    if (!version || !port || (pid && alive(pid))) continue;
    execFileSync(process.execPath, [join(demoSourceDir, 'deploy.mjs'), name, '--port', port], {
      env: { ...process.env, DEMO_DIR: root, TRAINYARD_TAG: version },
      stdio: 'ignore',
    });
    restarted.push(`${name}@${version}`);
  }
  return restarted;
}

/**
 * Stops each environment's process (started detached, so the leader of its own group) and waits
 * until it has exited: SIGTERM, then SIGKILL after 5 s, as a stopped deploy command is.
 */
export async function stopTargets(root: string): Promise<void> {
  const pids: number[] = [];
  for (const { dir } of environments(root)) {
    const file = join(dir, 'pid');
    const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
    if (pid && alive(pid)) pids.push(pid);
  }
  await Promise.all(pids.map((pid) => stopGroup(pid)));
}
