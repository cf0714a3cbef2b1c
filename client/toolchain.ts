/**
 * Where the tools installed or found by `npm run setup` (scripts/setup.mjs) live. Env overrides
 * (TRAINYARD_TEMPORAL_CLI, TRAINYARD_TEST_SERVER, TRAINYARD_CHROMIUM) win over the cache's manifest.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { TrainyardError } from '../domain/errors.js';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRAINYARD_CACHE) return env.TRAINYARD_CACHE;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'trainyard');
}

interface Manifest {
  temporalCli?: string;
  testServer?: string;
  chromium?: string;
}

function manifest(env: NodeJS.ProcessEnv): Manifest {
  const file = join(cacheDir(env), 'toolchain.json');
  if (!existsSync(file)) return {};
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

function locate(what: string, override: string | undefined, fromManifest: string | undefined, hint = 'Run `npm run setup` (it installs it once into the cache; see the README).'): string {
  const path = override ?? fromManifest;
  if (path && existsSync(path)) return path;
  throw new TrainyardError('COMMAND_NOT_FOUND', `the ${what} is not installed${path ? ` (expected at ${path})` : ''}`, hint);
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  return (env.PATH ?? '').split(delimiter).map((dir) => join(dir, command)).find((file) => existsSync(file));
}

export function temporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return locate('Temporal CLI', env.TRAINYARD_TEMPORAL_CLI, manifest(env).temporalCli);
}

export function testServerPath(env: NodeJS.ProcessEnv = process.env): string {
  return locate('Temporal test server', env.TRAINYARD_TEST_SERVER, manifest(env).testServer);
}

/** The headless Chromium of the UI browser test: the manifest's, else the system's `chromium`. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return locate('Chromium browser', env.TRAINYARD_CHROMIUM, manifest(env).chromium ?? onPath('chromium', env),
    'Run `npm run setup` (as root it apt-get installs Debian\'s chromium), or install Chromium yourself and set TRAINYARD_CHROMIUM to it.');
}
