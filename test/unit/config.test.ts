import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../client/config-file.js';
import { configJsonSchema, parseConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import { trainPolicyOf } from '../../activities/index.js';
import { step } from '../../workflows/activity-options.js';

const fixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', 'config', name);

function problemsOf(file: string): string {
  try {
    loadConfigFile(file);
  } catch (err) {
    expect(err).toBeInstanceOf(TrainyardError);
    return (err as TrainyardError).message;
  }
  throw new Error(`${file} was accepted`);
}

describe('config', () => {
  it('accepts the demo config and fills defaults', () => {
    const { config } = loadConfigFile(join(import.meta.dirname, '..', '..', 'demo', 'trainyard.yaml'));
    expect(config.services.demo?.release.time).toBe('11:00');
    expect(config.services.demo?.environments.production.smoke).toMatchObject({ kind: 'http', settleSeconds: 30, expectStatus: 200 });
  });

  it('fills every default of a minimal service', () => {
    const { config } = loadConfigFile(fixture('minimal.yaml'));
    const api = config.services.api!;
    expect(api.tagFormat).toBe('{service}/v{yyyy}.{MM}.{dd}.{n}');
    expect(api.release).toEqual({ timeZone: 'UTC', days: ['mon', 'tue', 'wed', 'thu'], time: '11:00', minLeadHours: 12 });
    expect(api.environments.staging.deploy).toMatchObject({ timeoutSeconds: 900 });
    expect(config.temporal.taskQueue).toBe('trainyard');
  });

  it('reports every problem with its path, not just the first', () => {
    const message = problemsOf(fixture('many-problems.yaml'));
    for (const expected of [
      'services.api.tagFormat: must contain {n}',
      'services.api.release.timeZone: "America/New_Yrok" is not an IANA time zone',
      'services.api.release.days[1]',
      'services.api.release.time: "25:00" is not HH:mm',
      'services.api.environments.staging.deploy.kind: unknown deployer kind; valid kinds: command, github-actions, gitlab-pipeline, webhook, git-promotion',
      'services.api.environments.staging.smoke.urls[0]: must be an http:// or https:// URL',
      'services.api.environments.production.deploy.command: needs the program and its arguments',
      'services.api.environments.production.deploy.timeoutSeconds',
      'services.api: Unrecognized key: "operatorz"',
    ]) {
      expect(message).toContain(expected);
    }
    expect(message).toMatch(/has 9 problem\(s\)/);
  });

  it('accepts every driver kind and fills their defaults', () => {
    const { config } = loadConfigFile(fixture('all-drivers.yaml'));
    const gitaly = config.services.gitaly!;
    expect(gitaly.forge).toMatchObject({ kind: 'gitlab', project: 'gitlab-org/gitaly', tokenEnv: 'GITLAB_TOKEN', defaultBranch: 'main', requestTimeoutSeconds: 30 });
    expect(gitaly.environments.production.deploy).toMatchObject({ kind: 'gitlab-pipeline', job: 'promote-production', pollSeconds: 15, timeoutSeconds: 3600 });
    expect(gitaly.notify[0]).toMatchObject({ kind: 'slack', tokenEnv: 'SLACK_TOKEN', apiUrl: 'https://slack.com/api/' });
    expect(gitaly.environments.staging.annotate[0]).toMatchObject({ kind: 'grafana', tokenEnv: 'GRAFANA_TOKEN', tags: ['deploy'] });
    const monitor = config.services.monitor!;
    expect(monitor.forge).toMatchObject({ kind: 'github', apiUrl: 'https://api.github.com', tokenFile: './secrets/github-token' });
    expect(monitor.environments.staging.deploy).toMatchObject({ kind: 'webhook', mode: 'callback', timeoutSeconds: 900 });
    expect(monitor.environments.production.deploy).toMatchObject({ kind: 'github-actions', pollSeconds: 15, inputs: { environment: 'production', tag: '{tag}' } });
    expect(config.services.infra!.environments.production.deploy).toMatchObject({ kind: 'git-promotion', branch: 'production' });
  });

  it('reports bad driver settings with their paths', () => {
    const message = problemsOf(fixture('bad-drivers.yaml'));
    for (const expected of [
      'services.api.forge.repository: must be owner/name',
      'services.api.forge.tokenEnv: must name an environment variable',
      'services.api.e2e.workflow: must be a workflow file name',
      'services.api.environments.staging.deploy.url',
      'services.api.environments.staging.annotate[0].kind: unknown annotator kind; valid kinds: log, grafana, webhook',
      'services.api.environments.production.deploy.timeoutSeconds',
      'services.api.notify[0].channels',
      'services.api.notify[1].kind: unknown notifier kind; valid kinds: log, slack, webhook',
    ]) {
      expect(message).toContain(expected);
    }
  });

  it('says which file is missing and which is not YAML', () => {
    expect(problemsOf(fixture('nope.yaml'))).toMatch(/nope\.yaml does not exist/);
    expect(problemsOf(fixture('bad-yaml.yaml'))).toMatch(/is not valid YAML/);
  });

  it('validates freeze windows: times, dates, and not both kinds at once', () => {
    const service = (freezeWindows: unknown) => ({
      services: { api: { forge: { kind: 'local-git', path: '.' }, environments: { staging: { deploy: { kind: 'command', command: ['x'] } }, production: { deploy: { kind: 'command', command: ['x'] } } }, freezeWindows } },
    });
    const ok = parseConfig(service([{ reason: 'weekend', days: ['sat', 'sun'] }]));
    expect(ok.ok && ok.config.services.api?.freezeWindows).toEqual([{ reason: 'weekend', days: ['sat', 'sun'], environments: ['production'] }]);
    const bad = parseConfig(service([{ reason: 'x', from: '25:00' }, { reason: 'y', dates: { from: '2024-12-20', to: 'soon' } }, { reason: 'z', days: ['mon'], dates: { from: '2024-12-20', to: '2024-12-21' } }]));
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
        'services.api.freezeWindows[0].from: "25:00" is not HH:mm (24-hour)',
        'services.api.freezeWindows[1].dates.to: must be a date, YYYY-MM-DD',
        'services.api.freezeWindows[2]: give either dates, or days/from/to, not both',
      ]);
    }
  });

  it('rejects a config with no services and a bad service name', () => {
    const result = parseConfig({ services: { 'Bad Name': {} } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => p.path)).toContain('services.Bad Name');
  });

  it('stage on every merge: defaults, and refused together with scheduled cuts (trains deploy their tag to staging)', () => {
    const service = (extra: Record<string, unknown>) => ({
      services: { monitor: { forge: { kind: 'local-git', path: 'repo' }, environments: { staging: { deploy: { kind: 'command', command: ['true'] } }, production: { deploy: { kind: 'command', command: ['true'] } } }, ...extra } },
    });
    const ok = parseConfig(service({ stageOnMerge: {} }));
    expect(ok.ok && ok.config.services.monitor?.stageOnMerge).toEqual({ requireGreen: true, lookback: 20, quietSeconds: 30, pollMinutes: 5, pendingPollSeconds: 60 });
    const both = parseConfig(service({ stageOnMerge: {}, cut: { at: '15:00' } }));
    expect(both.ok).toBe(false);
    if (!both.ok) expect(both.problems).toEqual([expect.objectContaining({ path: 'services.monitor.stageOnMerge', message: expect.stringContaining('cannot be combined with cut') })]);
    const bad = parseConfig(service({ stageOnMerge: { pollMinutes: 0, lookback: 'all' } }));
    expect(!bad.ok && bad.problems.map((p) => p.path).sort()).toEqual(['services.monitor.stageOnMerge.lookback', 'services.monitor.stageOnMerge.pollMinutes']);
  });

  it('heartbeatSeconds: at least 15 (steps heartbeat every 5 s), carried to the train as the steps\' heartbeat timeout', () => {
    const service = (heartbeatSeconds?: number) => ({
      services: { api: { forge: { kind: 'local-git', path: 'repo' }, ...(heartbeatSeconds ? { heartbeatSeconds } : {}), environments: { staging: { deploy: { kind: 'command', command: ['true'] } }, production: { deploy: { kind: 'command', command: ['true'] } } } } },
    });
    const bad = parseConfig(service(10));
    expect(!bad.ok && bad.problems.map((p) => p.path)).toEqual(['services.api.heartbeatSeconds']);
    const ok = parseConfig(service(20));
    if (!ok.ok) throw new Error('rejected');
    expect(trainPolicyOf(ok.config, 'api').heartbeatSeconds).toBe(20);
    expect(step('Deploy', trainPolicyOf(ok.config, 'api'))).toEqual({ summary: 'Deploy', heartbeatTimeout: '20s' });
    // Without the setting (and for trains started before it existed) the proxy's default stays.
    const plain = parseConfig(service());
    expect(plain.ok && trainPolicyOf(plain.config, 'api').heartbeatSeconds).toBeUndefined();
    expect(step('Deploy', {})).toEqual({ summary: 'Deploy' });
  });

  it('stepRetry: carried to the train as the retry policy of its deploys and checks, the non-retryable codes kept', () => {
    const service = (stepRetry?: unknown) => ({
      services: { api: { forge: { kind: 'local-git', path: 'repo' }, ...(stepRetry ? { stepRetry } : {}), environments: { staging: { deploy: { kind: 'command', command: ['true'] } }, production: { deploy: { kind: 'command', command: ['true'] } } } } },
    });
    for (const bad of [{ initialIntervalSeconds: 0, maximumAttempts: 3 }, { initialIntervalSeconds: 5, maximumAttempts: 0 }, { initialIntervalSeconds: 5 }, { initialIntervalSeconds: 5, maximumAttempts: 3, backoff: 3 }]) {
      const parsed = parseConfig(service(bad));
      expect(!parsed.ok && parsed.problems.every((p) => p.path.startsWith('services.api.stepRetry')), JSON.stringify(bad)).toBe(true);
    }
    const ok = parseConfig(service({ initialIntervalSeconds: 2, maximumAttempts: 3 }));
    if (!ok.ok) throw new Error('rejected');
    const options = step('Deploy', trainPolicyOf(ok.config, 'api'));
    expect(options.retry).toMatchObject({ initialInterval: '2s', maximumAttempts: 3, backoffCoefficient: 2, maximumInterval: '120s' });
    expect(options.retry?.nonRetryableErrorTypes).toContain('DEPLOY_REJECTED');
    const plain = parseConfig(service());
    expect(plain.ok && step('Deploy', trainPolicyOf(plain.config, 'api')).retry).toBeUndefined();
  });

  it('operators: every action has a right, `rights: []` declares one who may only read, names are unique', () => {
    const service = (operators: unknown) => ({
      services: { api: { forge: { kind: 'local-git', path: 'repo' }, operators, environments: { staging: { deploy: { kind: 'command', command: ['true'] } }, production: { deploy: { kind: 'command', command: ['true'] } } } } },
    });
    const all = ['start', 'hotfix', 'promote', 'abort', 'freeze', 'override-freeze', 'rollback', 'revert'];
    const ok = parseConfig(service([{ name: 'alice', rights: all }, { name: 'reader', rights: [] }]));
    if (!ok.ok) throw new Error(`rejected: ${JSON.stringify(ok.problems)}`);
    expect(ok.config.services.api?.operators).toEqual([{ name: 'alice', rights: all }, { name: 'reader', rights: [] }]);
    // The read-only operator reaches the train's policy as one with no rights, not as "anyone may".
    expect(trainPolicyOf(ok.config, 'api').operators).toContainEqual({ name: 'reader', rights: [] });

    const bad = parseConfig(service([{ name: 'bob', rights: ['deploy'] }, { name: 'carol' }, { name: 'bob', rights: ['promote'] }]));
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      const problems = bad.problems.map((p) => `${p.path}: ${p.message}`);
      expect(problems).toContainEqual(expect.stringMatching(/^services\.api\.operators\[0\]\.rights\[0\]: .*"start".*"hotfix".*"revert"/));
      expect(problems).toContainEqual(expect.stringMatching(/^services\.api\.operators\[1\]\.rights: /));
      expect(problems).toContainEqual('services.api.operators[2].name: "bob" is listed twice; give each operator one entry with all their rights');
    }
  });

  it('keeps docs/trainyard.schema.json in step with the schema (regenerate: trainyard config schema)', () => {
    const committed = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'trainyard.schema.json'), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });

  it('generates a JSON Schema from the same definition', () => {
    const schema = configJsonSchema() as { properties: { services: unknown }; additionalProperties?: boolean };
    expect(schema.properties.services).toBeDefined();
    expect(schema.additionalProperties).toBe(false);
  });
});
