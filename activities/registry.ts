/**
 * Drivers come from the config's `kind`. The schema already rejects unknown kinds with the list of
 * valid ones; this is where each kind gets its implementation.
 */
import type { CheckConfig, DeployerConfig, ServiceConfig, TrainyardConfig } from '../domain/config.js';
import { TrainyardError } from '../domain/errors.js';
import type { EnvironmentName } from '../domain/train.js';
import type { Check } from './checks/check.js';
import { CommandCheck } from './checks/command.js';
import { HttpCheck } from './checks/http.js';
import { CommandDeployer } from './deploy/command.js';
import type { Deployer } from './deploy/deployer.js';
import type { Forge } from './forge/forge.js';
import { LocalGitForge } from './forge/local-git.js';
import { LogNotifier } from './notify/log.js';
import type { Notifier } from './notify/notifier.js';
import { resolve } from 'node:path';

export interface Drivers {
  forge(service: string): Forge;
  deployer(service: string, environment: EnvironmentName): Deployer;
  check(service: string, check: 'smoke' | 'e2e', environment: EnvironmentName): Check | undefined;
  notifiers(service: string): Notifier[];
  versionUrl(service: string, environment: EnvironmentName): string | undefined;
  annotators(service: string, environment: EnvironmentName): Annotator[];
}

/** Marks in monitoring when a version became active. */
export interface Annotator {
  annotate(a: { service: string; environment: EnvironmentName; tag: string; trainId: string; at: number }): Promise<void>;
}

function logAnnotator(log: (line: string) => void): Annotator {
  return {
    async annotate({ service, environment, tag, trainId, at }) {
      log(`[trainyard] annotation: ${service} ${environment} runs ${tag} since ${new Date(at).toISOString()} (${trainId})`);
    },
  };
}

function buildDeployer(config: DeployerConfig, baseDir: string): Deployer {
  switch (config.kind) {
    case 'command':
      return new CommandDeployer(config, baseDir);
  }
}

function buildCheck(config: CheckConfig, baseDir: string): Check {
  switch (config.kind) {
    case 'command':
      return new CommandCheck(config, baseDir);
    case 'http':
      return new HttpCheck(config);
  }
}

/** Builds drivers lazily and keeps one per service (a forge may hold an HTTP connection pool). */
export function createDrivers(config: TrainyardConfig, baseDir: string, log: (line: string) => void = console.log): Drivers {
  const forges = new Map<string, Forge>();
  const service = (name: string): ServiceConfig => {
    const found = config.services[name];
    if (!found) {
      throw new TrainyardError('UNKNOWN_SERVICE', `service "${name}" is not in the config`, `Known services: ${Object.keys(config.services).join(', ')}`);
    }
    return found;
  };
  return {
    forge(name) {
      let forge = forges.get(name);
      if (!forge) {
        const f = service(name).forge;
        forge = new LocalGitForge(resolve(baseDir, f.path), f.defaultBranch);
        forges.set(name, forge);
      }
      return forge;
    },
    deployer: (name, environment) => buildDeployer(service(name).environments[environment].deploy, baseDir),
    check(name, check, environment) {
      const s = service(name);
      const config = check === 'e2e' ? s.e2e : s.environments[environment].smoke;
      return config ? buildCheck(config, baseDir) : undefined;
    },
    notifiers: (name) => service(name).notify.map(() => new LogNotifier(log)),
    versionUrl: (name, environment) => service(name).environments[environment].versionUrl,
    annotators: (name, environment) => service(name).environments[environment].annotate.map(() => logAnnotator(log)),
  };
}
