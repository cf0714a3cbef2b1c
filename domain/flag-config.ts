/**
 * The `flags:` section of the config: one entry per feature flag rolled out by a `flagRollout`
 * workflow. Kept apart from domain/flag-rollout.ts so the workflow bundle does not carry zod.
 * Mount as `flags: flagsConfigSchema.default({})` in the top-level config schema.
 */
import { z } from 'zod';
import { timeZoneProblem } from './calendar.js';

const flagName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'must be letters, digits, "_", "." and "-", at most 100 characters');
const envName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and "-"');
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const secretEnv = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must name an environment variable, e.g. FLAG_WEBHOOK_SECRET');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a local date, YYYY-MM-DD');
/** A repository path inside a forge: no leading slash, no `..`. */
const repoPath = z.string().min(1).max(500).refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'must be a path inside the repository');
/** The service (under `services:`) whose forge holds the repository. */
const forgeOf = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must name a service whose forge holds the repository');

export const FLAG_DRIVER_KINDS = ['forge-commit', 'command', 'webhook'];

const forgeCommit = z.strictObject({
  kind: z.literal('forge-commit'),
  forge: forgeOf,
  /** The environment's config file, e.g. `roles/gitlab-staging-base.json` or `env/staging.env`. */
  path: repoPath,
  /** `json`: sets the key at `jsonPath` + the flag name; `env`: a `FLAG=value` line. */
  format: z.enum(['json', 'env']).default('env'),
  jsonPath: z.array(z.string().min(1).max(200)).max(20).default([]),
  branch: z.string().min(1).max(255).optional(),
  on: z.string().max(100).default('1'),
  off: z.string().max(100).default('0'),
});

const command = z.strictObject({
  kind: z.literal('command'),
  /** Program and arguments (no shell); gets TRAINYARD_FLAG, TRAINYARD_FLAG_ENVIRONMENT, TRAINYARD_FLAG_STATE=on|off. */
  command: z.array(z.string().min(1).max(4096)).min(1, 'needs the program and its arguments'),
  cwd: z.string().optional(),
  env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string()).optional(),
  timeoutSeconds: z.number().int().positive().max(3_600).default(300),
});

const webhook = z.strictObject({
  kind: z.literal('webhook'),
  /** Receives a signed POST `{flag, environment, enabled}` (X-Trainyard-Signature-256). */
  url: httpUrl,
  secretEnv,
  timeoutSeconds: z.number().int().positive().max(600).default(30),
});

const driver = z.discriminatedUnion('kind', [forgeCommit, command, webhook], {
  error: (issue) => (issue.code === 'invalid_union' ? `unknown flag driver kind; valid kinds: ${FLAG_DRIVER_KINDS.join(', ')}` : undefined),
});

/** A Prometheus instant query whose first sample is the error rate, compared with `threshold`. */
const health = z.strictObject({
  url: httpUrl,
  query: z.string().min(1).max(2_000),
  threshold: z.number().min(0),
  soakMinutes: z.number().positive().max(7 * 24 * 60),
  sampleSeconds: z.number().positive().max(3_600).default(30),
  timeoutSeconds: z.number().int().positive().max(120).default(10),
});

const environment = z.strictObject({ name: envName, driver, health });

const links = z.strictObject({ dashboard: httpUrl.optional(), alerts: httpUrl.optional(), runbook: httpUrl.optional() });

const flag = z
  .strictObject({
    /** Who may approve Opt-in (and everything operators may do). */
    maintainers: z.array(z.string().min(1).max(100)).min(1),
    /** Who may advance, pause, resume, roll back a stage or abort (besides maintainers). */
    operators: z.array(z.string().min(1).max(100)).default([]),
    /** Acceptance testing runs in this order, e.g. dev, staging, production. */
    environments: z.array(environment).min(1),
    /** Local dates (in `timeZone`) of the release boundaries; without one, an operator `advance`s. */
    optOutAfter: isoDate.optional(),
    mandatoryAfter: isoDate.optional(),
    timeZone: z
      .string()
      .default('UTC')
      .superRefine((zone, ctx) => {
        const problem = timeZoneProblem(zone);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    /** Links already recorded; the approval may add the missing ones. */
    links: links.default({}),
    /** The clean-up merge request opened at Mandatory: `path` loses every line naming the flag, or gets `content`. */
    cleanup: z.strictObject({
      forge: forgeOf,
      path: repoPath,
      content: z.string().max(1_000_000).optional(),
      targetBranch: z.string().min(1).max(255).optional(),
    }),
  })
  .refine((f) => new Set(f.environments.map((e) => e.name)).size === f.environments.length, 'environment names must be unique')
  .refine((f) => !(f.optOutAfter && f.mandatoryAfter && f.mandatoryAfter <= f.optOutAfter), 'mandatoryAfter must be later than optOutAfter');

export const flagsConfigSchema = z.record(flagName, flag);

export type FlagsConfig = z.output<typeof flagsConfigSchema>;
export type FlagConfig = FlagsConfig[string];
export type FlagDriverConfig = FlagConfig['environments'][number]['driver'];
export type FlagHealthConfig = FlagConfig['environments'][number]['health'];
