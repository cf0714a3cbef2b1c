/**
 * The configuration schema: one definition, validated once at start, reporting every problem with its
 * path. Drivers are chosen by `kind`; an unknown kind names the valid ones. Unknown keys are errors,
 * because a misspelt key silently ignored is how a release goes out on the wrong day.
 *
 * Pure code (no file access): loading the file is `client/config-file.ts`.
 */
import { z } from 'zod';
import { WEEKDAYS, parseClock, timeZoneProblem } from './calendar.js';
import { DEFAULT_TAG_FORMAT, tagFormatProblem } from './tags.js';
import { preReleaseConfigSchema } from './prerelease-config.js';
import { previewsConfigSchema, webhooksConfigSchema } from './preview-config.js';
import { stageOnMergeSchema } from './stage-config.js';
import { versionBumpSchema } from './version-bump-config.js';
import { flagsConfigSchema } from './flag-config.js';

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and "-", at most 63 characters');

const argv = z.array(z.string().min(1).max(4096)).min(1, 'needs the program and its arguments, e.g. [node, deploy.mjs]');

const seconds = (max: number) => z.number().int().positive().max(max);

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const commandDriver = z.strictObject({
  kind: z.literal('command'),
  /** Program and arguments; never a shell string. */
  command: argv,
  /** Working directory, relative to the config file. */
  cwd: z.string().optional(),
  env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string()).optional(),
  timeoutSeconds: seconds(86_400).default(900),
});

const httpCheck = z.strictObject({
  kind: z.literal('http'),
  urls: z.array(httpUrl).min(1),
  expectStatus: z.number().int().min(100).max(599).default(200),
  expectBodyContains: z.string().optional(),
  /** The response (JSON `version` field or `X-Version` header) must name the tag being checked. */
  expectVersion: z.boolean().default(false),
  /** Keep trying for this long after a deploy before calling the check failed. */
  settleSeconds: seconds(3_600).default(60),
  timeoutSeconds: seconds(300).default(10),
});

/**
 * Values sent to a pipeline or workflow run. `{tag}`, `{commit}`, `{environment}`, `{service}` and
 * `{trainId}` are replaced by the train's values; nothing else is interpreted.
 */
const templated = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,99}$/, 'must be a variable name'), z.string().max(1000));

/** The name of an environment variable holding a secret (never the secret itself). */
const secretEnv = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must name an environment variable, e.g. SLACK_TOKEN');

/** A secret from the environment (`…Env`) or from a file (`…File`, relative to the config file). */
const secretRef = (defaultEnv: string) => ({
  tokenEnv: secretEnv.default(defaultEnv),
  tokenFile: z.string().min(1).optional(),
});

const githubActions = z.strictObject({
  kind: z.literal('github-actions'),
  /** The workflow file that has a `workflow_dispatch` trigger, e.g. `deploy.yml`. */
  workflow: z.string().regex(/^[\w.-]+\.ya?ml$/, 'must be a workflow file name, e.g. deploy.yml'),
  /** Ref the run starts on; default: the tag being deployed. */
  ref: z.string().optional(),
  inputs: templated.default({ environment: '{environment}', tag: '{tag}' }),
  timeoutSeconds: seconds(86_400).default(3_600),
  /** How often the run is polled (conditional requests: an unchanged run costs no rate limit). */
  pollSeconds: seconds(600).default(15),
});

const gitlabPipeline = z.strictObject({
  kind: z.literal('gitlab-pipeline'),
  /** Ref the pipeline runs on; default: the tag being deployed. */
  ref: z.string().optional(),
  variables: templated.default({}),
  /** Play this manual job of the tag's pipeline (e.g. `promote-production`) instead of creating one. */
  job: z.string().min(1).max(255).optional(),
  timeoutSeconds: seconds(86_400).default(3_600),
  pollSeconds: seconds(600).default(15),
});

const webhookDeployer = z.strictObject({
  kind: z.literal('webhook'),
  url: httpUrl,
  /** HMAC-SHA256 key for the body's `X-Trainyard-Signature-256`, from this environment variable. */
  secretEnv,
  /** `response`: the HTTP answer is the result. `callback`: wait for a signed callback to the worker. */
  mode: z.enum(['response', 'callback']).default('response'),
  timeoutSeconds: seconds(86_400).default(900),
});

const gitPromotion = z.strictObject({
  kind: z.literal('git-promotion'),
  /** The environment branch a merge request brings the tag into, e.g. `production`. */
  branch: z.string().min(1).max(255),
  timeoutSeconds: seconds(86_400).default(3_600),
  pollSeconds: seconds(600).default(15),
});

function byKind<T extends readonly [z.ZodObject, ...z.ZodObject[]]>(what: string, kinds: string[], options: T) {
  return z.discriminatedUnion('kind', options, {
    error: (issue) =>
      issue.code === 'invalid_union' ? `unknown ${what} kind; valid kinds: ${kinds.join(', ')}` : undefined,
  });
}

export const DEPLOYER_KINDS = ['command', 'github-actions', 'gitlab-pipeline', 'webhook', 'git-promotion'];
export const CHECK_KINDS = ['command', 'http', 'github-actions', 'gitlab-pipeline'];
export const FORGE_KINDS = ['local-git', 'github', 'gitlab'];
export const NOTIFIER_KINDS = ['log', 'slack', 'webhook'];
export const ANNOTATOR_KINDS = ['log', 'grafana', 'webhook'];

const deployer = byKind('deployer', DEPLOYER_KINDS, [commandDriver, githubActions, gitlabPipeline, webhookDeployer, gitPromotion]);
const check = byKind('check', CHECK_KINDS, [commandDriver, httpCheck, githubActions, gitlabPipeline]);

const forge = byKind('forge', FORGE_KINDS, [
  z.strictObject({
    kind: z.literal('local-git'),
    /** Path of the git repository (relative to the config file). */
    path: z.string().min(1),
    defaultBranch: z.string().default('main'),
    /**
     * Local CI: `command` runs for each pipeline (with TRAINYARD_PIPELINE_* variables) as a detached
     * process; its exit code is the pipeline's result and the commit's CI state. `jobs` are manual
     * jobs a `gitlab-pipeline` deployer can play.
     */
    ci: z.strictObject({ command: argv, jobs: z.record(z.string().min(1), argv).default({}) }).optional(),
  }),
  z.strictObject({
    kind: z.literal('github'),
    /** owner/name */
    repository: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'must be owner/name'),
    /** REST API root: https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server. */
    apiUrl: httpUrl.default('https://api.github.com'),
    defaultBranch: z.string().default('main'),
    ...secretRef('GITHUB_TOKEN'),
    requestTimeoutSeconds: seconds(300).default(30),
  }),
  z.strictObject({
    kind: z.literal('gitlab'),
    /** Project path (group/name) or numeric id. */
    project: z.union([z.string().regex(/^[\w.-]+(\/[\w.-]+)+$/, 'must be group/name'), z.number().int().positive()]),
    /** GitLab host: https://gitlab.com or your instance. */
    url: httpUrl.default('https://gitlab.com'),
    defaultBranch: z.string().default('main'),
    ...secretRef('GITLAB_TOKEN'),
    requestTimeoutSeconds: seconds(300).default(30),
  }),
]);

const TRAIN_EVENTS = ['cut', 'operator-action', 'frozen', 'unfrozen', 'changelog', 'superseded', 'deployed', 'check-failed', 'awaiting-decision', 'promoted', 'released', 'rolled-back', 'rollback-started', 'rollback-failed', 'failed', 'aborted', 'expired'] as const;

const notifier = byKind('notifier', NOTIFIER_KINDS, [
  z.strictObject({ kind: z.literal('log') }),
  z.strictObject({
    kind: z.literal('slack'),
    /** Channel ids or names (#release-coordination) that get every selected event. */
    channels: z.array(z.string().min(1).max(80)).min(1),
    /** Only these events (default: all). */
    events: z.array(z.enum(TRAIN_EVENTS)).min(1).optional(),
    /** Set this channel's topic to the changelog link when a changelog is published. */
    topicChannel: z.string().min(1).max(80).optional(),
    ...secretRef('SLACK_TOKEN'),
    /** Web API root; tests point it at a local server. */
    apiUrl: httpUrl.default('https://slack.com/api/'),
  }),
  z.strictObject({
    kind: z.literal('webhook'),
    url: httpUrl,
    secretEnv,
    events: z.array(z.enum(TRAIN_EVENTS)).min(1).optional(),
  }),
]);

/** Marks in monitoring when a version becomes active. */
const annotator = byKind('annotator', ANNOTATOR_KINDS, [
  z.strictObject({ kind: z.literal('log') }),
  z.strictObject({
    kind: z.literal('grafana'),
    /** Grafana root URL; annotations go to POST {url}/api/annotations. */
    url: httpUrl,
    ...secretRef('GRAFANA_TOKEN'),
    dashboardUid: z.string().min(1).optional(),
    tags: z.array(z.string().min(1).max(100)).default(['deploy']),
  }),
  z.strictObject({ kind: z.literal('webhook'), url: httpUrl, secretEnv }),
]);

const environment = z.strictObject({
  deploy: deployer,
  annotate: z.array(annotator).default([]),
  smoke: check.optional(),
  /**
   * URL answering with the running version (JSON `version` or `X-Version`): the rollback target, and
   * what a retried deploy reads before it deploys again (activities/deploy/once.ts).
   */
  versionUrl: httpUrl.optional(),
});

/**
 * What an operator may do, one right per kind of action. `start` cuts a train (`trainyard start`,
 * `tag`, which supersedes the active train, and `schedules trigger`); `hotfix` cuts a hotfix, which
 * freezes production for every other train and releases without a promote; `promote` also covers
 * the decisions on a train's way to production (`retry-deploy`, `rerun-e2e`, `changelog`, a
 * pre-release's `waive` and 1-click `deploy`, `stage retry`); `freeze` covers unfreezing and pausing
 * the cut schedule; `revert` opens revert pull requests.
 */
export const RIGHTS = ['start', 'hotfix', 'promote', 'abort', 'freeze', 'override-freeze', 'rollback', 'revert'] as const;

/** The service's operators; a name appears once, and `rights: []` is one who may only read. */
const operators = z
  .array(z.strictObject({ name: z.string().min(1).max(100), rights: z.array(z.enum(RIGHTS)) }))
  .superRefine(
    (list, ctx) => {
      // Runs even when the list or an entry is malformed (every problem is reported): read warily.
      if (!Array.isArray(list)) return;
      const names = list.map((o) => (o as { name?: unknown } | null)?.name);
      names.forEach((n, i) => {
        if (typeof n === 'string' && names.indexOf(n) < i) {
          ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${n}" is listed twice; give each operator one entry with all their rights` });
        }
      });
    },
    { when: () => true },
  );

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD');
const clock = () => checked((t) => (parseClock(t) ? undefined : `"${t}" is not HH:mm (24-hour)`));

/** A recurring freeze ("Friday 16:00 to Monday 00:00") or a date range, in the service's zone. */
const freezeWindow = z
  .strictObject({
    reason: z.string().min(1).max(200),
    days: z.array(z.enum(WEEKDAYS)).min(1).optional(),
    from: clock().optional(),
    to: clock().optional(),
    dates: z.strictObject({ from: isoDate, to: isoDate }).optional(),
    environments: z.array(z.enum(['staging', 'production'])).min(1).default(['production']),
  })
  .refine((w) => !(w.dates && (w.days || w.from || w.to)), 'give either dates, or days/from/to, not both');

/** A string field checked by a function that returns the problem (or undefined); runs even when siblings fail. */
function checked(check: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

const calendar = z.strictObject({
  timeZone: checked(timeZoneProblem).default('UTC'),
  days: z.array(z.enum(WEEKDAYS)).min(1, 'needs at least one release day').default(['mon', 'tue', 'wed', 'thu']),
  time: checked((t) => (parseClock(t) ? undefined : `"${t}" is not HH:mm (24-hour)`)).default('11:00'),
  minLeadHours: z.number().min(0).max(24 * 14).default(12),
});

const service = z.strictObject({
  forge,
  tagFormat: checked(tagFormatProblem).default(DEFAULT_TAG_FORMAT),
  release: calendar.default({ timeZone: 'UTC', days: ['mon', 'tue', 'wed', 'thu'], time: '11:00', minLeadHours: 12 }),
  e2e: check.optional(),
  /**
   * Cut automatically on the day before each release day at this local time (a Temporal Schedule,
   * visible and pausable in the UI). Absent: cuts only on demand (`trainyard start`).
   */
  cut: z.strictObject({ at: clock() }).optional(),
  /** Run E2E at this local time (the overnight window) instead of right after staging. */
  e2eAt: clock().optional(),
  environments: z.strictObject({ staging: environment, production: environment }),
  /**
   * Who may act on this service, and what each may do (RIGHTS). Absent: anyone may do anything (fine
   * for a demo, not for production); present: only what an operator's rights list says.
   */
  operators: operators.optional(),
  /** Recurring deploy freezes; an operator with override-freeze can still promote through one. */
  freezeWindows: z.array(freezeWindow).default([]),
  /** How long a train waits for a release manager's decision before it expires. */
  decisionDeadlineHours: z.number().positive().max(24 * 60).default(24 * 7),
  notify: z.array(notifier).default([{ kind: 'log' }]),
  /** Daily pre-releases with a QA gate and a 1-click production deploy (seed 004). */
  prerelease: preReleaseConfigSchema.optional(),
  /**
   * Heartbeat timeout of this service's deploys and checks: a worker that dies mid-step is noticed
   * this long after its last heartbeat, and the step resumes on another worker (steps heartbeat
   * every 5 s). Default 60.
   */
  heartbeatSeconds: z.number().int().min(15).max(600).optional(),
  /**
   * Retries of this service's deploys and checks that fail (a target down, a run that failed): the
   * first `initialIntervalSeconds` after the failure, each next twice as long (at most 2 minutes
   * apart), `maximumAttempts` in all; then the train waits for `retry-deploy`. Default 10 s, 4.
   */
  stepRetry: z.strictObject({
    initialIntervalSeconds: z.number().int().min(1).max(600),
    maximumAttempts: z.number().int().min(1).max(20),
  }).optional(),
  /** Every green commit of a branch goes to staging (`stage/<service>`, seed 004). */
  stageOnMerge: stageOnMergeSchema.optional(),
}).superRefine((s, ctx) => {
  // A train deploys its tag to staging for E2E; the follower would replace it with the branch head.
  if (s.cut && s.stageOnMerge) {
    ctx.addIssue({ code: 'custom', path: ['stageOnMerge'], message: 'cannot be combined with cut: scheduled trains deploy their tag to staging, which the follower would replace; use prerelease for the production path' });
  }
});

export const configSchema = z.strictObject({
  temporal: z
    .strictObject({
      taskQueue: z.string().min(1).default('trainyard'),
      /** Base URL of the Temporal Web UI, for links in notifications. */
      uiUrl: httpUrl.optional(),
    })
    .default({ taskQueue: 'trainyard' }),
  services: z.record(name, service).refine((s) => Object.keys(s).length > 0, 'needs at least one service'),
  /** Feature-flag rollouts (seed 001), by flag name: `flag/<name>` workflows. */
  flags: flagsConfigSchema.default({}),
  /** Version-bump merge requests (seed 000): a component's latest green commit pinned in a consumer. */
  versionBumps: z.array(versionBumpSchema(forge, notifier)).default([]),
  /** Preview environments per pull request (seed 004), by service. */
  previews: previewsConfigSchema.optional(),
  /** The receiver of GitHub / GitLab webhooks (`trainyard webhooks`). */
  webhooks: webhooksConfigSchema.optional(),
  /**
   * Where the worker listens for the signed callbacks of `webhook` deployers in `callback` mode.
   * `publicUrl`: how deploy targets reach it (behind a proxy); default http://host:port.
   */
  callbacks: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65_535).default(0),
      publicUrl: httpUrl.optional(),
    })
    .optional(),
});

export type TrainyardConfig = z.output<typeof configSchema>;
export type ServiceConfig = TrainyardConfig['services'][string];
export type EnvironmentConfig = ServiceConfig['environments']['staging'];
export type DeployerConfig = EnvironmentConfig['deploy'];
export type CheckConfig = NonNullable<ServiceConfig['e2e']>;
export type CommandDriverConfig = z.output<typeof commandDriver>;
export type HttpCheckConfig = z.output<typeof httpCheck>;
export type Right = (typeof RIGHTS)[number];
export interface Operator {
  name: string;
  rights: Right[];
}
export type ForgeConfig = ServiceConfig['forge'];
export type GitHubForgeConfig = Extract<ForgeConfig, { kind: 'github' }>;
export type GitLabForgeConfig = Extract<ForgeConfig, { kind: 'gitlab' }>;
export type LocalGitForgeConfig = Extract<ForgeConfig, { kind: 'local-git' }>;
export type GitHubActionsConfig = z.output<typeof githubActions>;
export type GitLabPipelineConfig = z.output<typeof gitlabPipeline>;
export type WebhookDeployerConfig = z.output<typeof webhookDeployer>;
export type GitPromotionConfig = z.output<typeof gitPromotion>;
export type NotifierConfig = ServiceConfig['notify'][number];
export type SlackNotifierConfig = Extract<NotifierConfig, { kind: 'slack' }>;
export type WebhookNotifierConfig = Extract<NotifierConfig, { kind: 'webhook' }>;
export type AnnotatorConfig = EnvironmentConfig['annotate'][number];
export type GrafanaAnnotatorConfig = Extract<AnnotatorConfig, { kind: 'grafana' }>;
export type WebhookAnnotatorConfig = Extract<AnnotatorConfig, { kind: 'webhook' }>;

export interface ConfigProblem {
  path: string;
  message: string;
}

export type ConfigResult = { ok: true; config: TrainyardConfig } | { ok: false; problems: ConfigProblem[] };

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') || '(top level)';
}

const MAX_PROBLEM_LENGTH = 300;

/** Validates parsed YAML/JSON; every problem is reported, each with its path. */
export function parseConfig(raw: unknown): ConfigResult {
  const result = configSchema.safeParse(raw);
  if (result.success) return { ok: true, config: result.data };
  // A problem quotes the bad value: bounded, so a 10 KB value does not make a 10 KB report.
  const clip = (text: string) => (text.length > MAX_PROBLEM_LENGTH ? `${text.slice(0, MAX_PROBLEM_LENGTH)}… (cut)` : text);
  const problems = result.error.issues.map((issue) => ({ path: clip(pathOf(issue.path)), message: clip(issue.message) }));
  return { ok: false, problems };
}

/** JSON Schema of the config file, generated from the same definition (for editors). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
