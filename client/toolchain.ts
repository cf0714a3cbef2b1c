/**
 * Where the Temporal binaries installed by `npm run setup` (scripts/setup.mjs) live. Env overrides
 * (TRAINYARD_TEMPORAL_CLI, TRAINYARD_TEST_SERVER) win over the cache's manifest.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TrainyardError } from '../domain/errors.js';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRAINYARD_CACHE) return env.TRAINYARD_CACHE;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'trainyard');
}

interface Manifest {
  temporalCli?: string;
  testServer?: string;
}

function manifest(env: NodeJS.ProcessEnv): Manifest {
  const file = join(cacheDir(env), 'toolchain.json');
  if (!existsSync(file)) return {};
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

function locate(what: string, override: string | undefined, fromManifest: string | undefined): string {
  const path = override ?? fromManifest;
  if (path && existsSync(path)) return path;
  throw new TrainyardError(
    'COMMAND_NOT_FOUND',
    `the ${what} is not installed${path ? ` (expected at ${path})` : ''}`,
    'Run `npm run setup` (it installs it once into the cache; see the README).',
  );
}

export function temporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return locate('Temporal CLI', env.TRAINYARD_TEMPORAL_CLI, manifest(env).temporalCli);
}

export function testServerPath(env: NodeJS.ProcessEnv = process.env): string {
  return locate('Temporal test server', env.TRAINYARD_TEST_SERVER, manifest(env).testServer);
}
