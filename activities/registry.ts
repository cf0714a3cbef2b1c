/**
 * Drivers come from the config's `kind`. The schema already rejects unknown kinds with the list of
 * valid ones; this is where each kind gets its implementation. Secrets (forge, Slack and Grafana
 * tokens, signing keys) are read here from the environment or a file, never from workflow input.
 */
import { resolve } from 'node:path';
import type { AnnotatorConfig, CheckConfig, DeployerConfig, ForgeConfig, NotifierConfig, ServiceConfig, TrainyardConfig } from '../domain/config.js';
import { TrainyardError } from '../domain/errors.js';
import type { EnvironmentName } from '../domain/train.js';
import { GrafanaAnnotator } from './annotate/grafana.js';
import { WebhookAnnotator } from './annotate/webhook.js';
import type { Check } from './checks/check.js';
import { CommandCheck } from './checks/command.js';
import { HttpCheck } from './checks/http.js';
import { CommandDeployer } from './deploy/command.js';
import type { Deployer } from './deploy/deployer.js';
import { GitPromotionDeployer } from './deploy/git-promotion.js';
import { PipelineCheck, PipelineDeployer } from './deploy/pipeline.js';
import { WebhookDeployer } from './deploy/webhook.js';
import type { Forge } from './forge/forge.js';
import { GitHubForge } from './forge/github.js';
import { GitLabForge } from './forge/gitlab.js';
import { LocalGitForge } from './forge/local-git.js';
import { LogNotifier } from './notify/log.js';
import type { Notifier } from './notify/notifier.js';
import { SlackNotifier } from './notify/slack.js';
import { WebhookNotifier } from './notify/webhook.js';
import { readSecret } from './signing.js';

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

type Environment = Record<string, string | undefined>;

export function buildForge(config: ForgeConfig, baseDir: string, environment: Environment = process.env): Forge {
  switch (config.kind) {
    case 'local-git':
      return new LocalGitForge(resolve(baseDir, config.path), config.defaultBranch, config.ci ? { command: config.ci.command, jobs: config.ci.jobs } : undefined);
    case 'github':
      return new GitHubForge({
        repository: config.repository,
        apiUrl: config.apiUrl,
        token: readSecret({ env: config.tokenEnv, ...(config.tokenFile ? { file: config.tokenFile } : {}), what: 'GitHub token' }, baseDir, environment),
        defaultBranch: config.defaultBranch,
        requestTimeoutMs: config.requestTimeoutSeconds * 1000,
      });
    case 'gitlab':
      return new GitLabForge({
        project: config.project,
        url: config.url,
        token: readSecret({ env: config.tokenEnv, ...(config.tokenFile ? { file: config.tokenFile } : {}), what: 'GitLab token' }, baseDir, environment),
        defaultBranch: config.defaultBranch,
        requestTimeoutMs: config.requestTimeoutSeconds * 1000,
      });
  }
}

/** Notifiers from their config entries (a service's `notify`, a version bump's `notify`/`teamNotify`). */
export function buildNotifiers(configs: NotifierConfig[], baseDir: string, log: (line: string) => void, environment: Environment = process.env): Notifier[] {
  return configs.map((c) => buildNotifier(c, baseDir, log, environment));
}

function buildNotifier(config: NotifierConfig, baseDir: string, log: (line: string) => void, environment: Environment): Notifier {
  switch (config.kind) {
    case 'log':
      return new LogNotifier(log);
    case 'slack':
      return new SlackNotifier(config, { baseDir, environment, log });
    case 'webhook':
      return new WebhookNotifier(config, environment);
  }
}

function buildAnnotator(config: AnnotatorConfig, baseDir: string, log: (line: string) => void, environment: Environment): Annotator {
  switch (config.kind) {
    case 'log':
      return logAnnotator(log);
    case 'grafana':
      return new GrafanaAnnotator(config, baseDir, environment);
    case 'webhook':
      return new WebhookAnnotator(config, environment);
  }
}

/** Builds drivers lazily and keeps one per service (a forge or Slack client holds connections and caches). */
export function createDrivers(config: TrainyardConfig, baseDir: string, log: (line: string) => void = console.log, environment: Environment = process.env): Drivers {
  const forges = new Map<string, Forge>();
  const notifiers = new Map<string, Notifier[]>();
  const service = (name: string): ServiceConfig => {
    const found = config.services[name];
    if (!found) {
      throw new TrainyardError('UNKNOWN_SERVICE', `service "${name}" is not in the config`, `Known services: ${Object.keys(config.services).join(', ')}`);
    }
    return found;
  };
  const forge = (name: string): Forge => {
    let f = forges.get(name);
    if (!f) {
      f = buildForge(service(name).forge, baseDir, environment);
      forges.set(name, f);
    }
    return f;
  };
  const buildDeployer = (name: string, d: DeployerConfig): Deployer => {
    switch (d.kind) {
      case 'command':
        return new CommandDeployer(d, baseDir);
      case 'github-actions':
      case 'gitlab-pipeline':
        return new PipelineDeployer(forge(name), d);
      case 'webhook':
        return new WebhookDeployer(d, environment);
      case 'git-promotion':
        return new GitPromotionDeployer(forge(name), d);
    }
  };
  const buildCheck = (name: string, c: CheckConfig): Check => {
    switch (c.kind) {
      case 'command':
        return new CommandCheck(c, baseDir);
      case 'http':
        return new HttpCheck(c);
      case 'github-actions':
      case 'gitlab-pipeline':
        return new PipelineCheck(forge(name), c);
    }
  };
  return {
    forge,
    deployer: (name, env) => buildDeployer(name, service(name).environments[env].deploy),
    check(name, check, env) {
      const s = service(name);
      const c = check === 'e2e' ? s.e2e : s.environments[env].smoke;
      return c ? buildCheck(name, c) : undefined;
    },
    notifiers(name) {
      let list = notifiers.get(name);
      if (!list) {
        list = service(name).notify.map((n) => buildNotifier(n, baseDir, log, environment));
        notifiers.set(name, list);
      }
      return list;
    },
    versionUrl: (name, env) => service(name).environments[env].versionUrl,
    annotators: (name, env) => service(name).environments[env].annotate.map((a) => buildAnnotator(a, baseDir, log, environment)),
  };
}
