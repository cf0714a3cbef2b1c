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

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and "-", at most 63 characters');

const argv = z.array(z.string().min(1).max(4096)).min(1, 'needs the program and its arguments, e.g. [node, deploy.mjs]');

const seconds = (max: number) => z.number().int().positive().max(max);

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

export const COMMAND_KINDS = ['command'] as const;

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

function byKind<T extends readonly [z.ZodObject, ...z.ZodObject[]]>(what: string, kinds: string[], options: T) {
  return z.discriminatedUnion('kind', options, {
    error: (issue) =>
      issue.code === 'invalid_union' ? `unknown ${what} kind; valid kinds: ${kinds.join(', ')}` : undefined,
  });
}

export const DEPLOYER_KINDS = ['command'];
export const CHECK_KINDS = ['command', 'http'];
export const FORGE_KINDS = ['local-git'];
export const NOTIFIER_KINDS = ['log'];
export const ANNOTATOR_KINDS = ['log'];

const deployer = byKind('deployer', DEPLOYER_KINDS, [commandDriver]);
const check = byKind('check', CHECK_KINDS, [commandDriver, httpCheck]);

const forge = byKind('forge', FORGE_KINDS, [
  z.strictObject({
    kind: z.literal('local-git'),
    /** Path of the git repository (relative to the config file). */
    path: z.string().min(1),
    defaultBranch: z.string().default('main'),
  }),
]);

const notifier = byKind('notifier', NOTIFIER_KINDS, [z.strictObject({ kind: z.literal('log') })]);

/** Marks in monitoring when a version becomes active (Grafana and webhook kinds are drivers to come). */
const annotator = byKind('annotator', ANNOTATOR_KINDS, [z.strictObject({ kind: z.literal('log') })]);

const environment = z.strictObject({
  deploy: deployer,
  annotate: z.array(annotator).default([]),
  smoke: check.optional(),
  /** URL answering with the running version (JSON `version` or `X-Version`): the rollback target. */
  versionUrl: httpUrl.optional(),
});

export const RIGHTS = ['promote', 'abort', 'freeze', 'override-freeze', 'rollback'] as const;

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
  /** Who may act on this service's trains. Absent: anyone may (fine for a demo, not for production). */
  operators: z.array(z.strictObject({ name: z.string().min(1).max(100), rights: z.array(z.enum(RIGHTS)).min(1) })).optional(),
  /** Recurring deploy freezes; an operator with override-freeze can still promote through one. */
  freezeWindows: z.array(freezeWindow).default([]),
  /** How long a train waits for a release manager's decision before it expires. */
  decisionDeadlineHours: z.number().positive().max(24 * 60).default(24 * 7),
  notify: z.array(notifier).default([{ kind: 'log' }]),
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
});

export type TrainyardConfig = z.output<typeof configSchema>;
export type ServiceConfig = TrainyardConfig['services'][string];
export type EnvironmentConfig = ServiceConfig['environments']['staging'];
export type DeployerConfig = EnvironmentConfig['deploy'];
export type CheckConfig = NonNullable<ServiceConfig['e2e']>;
export type CommandDriverConfig = z.output<typeof commandDriver>;
export type HttpCheckConfig = z.output<typeof httpCheck>;
export type Right = (typeof RIGHTS)[number];

export interface ConfigProblem {
  path: string;
  message: string;
}

export type ConfigResult = { ok: true; config: TrainyardConfig } | { ok: false; problems: ConfigProblem[] };

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') || '(top level)';
}

/** Validates parsed YAML/JSON; every problem is reported, each with its path. */
export function parseConfig(raw: unknown): ConfigResult {
  const result = configSchema.safeParse(raw);
  if (result.success) return { ok: true, config: result.data };
  const problems = result.error.issues.map((issue) => ({ path: pathOf(issue.path), message: issue.message }));
  return { ok: false, problems };
}

/** JSON Schema of the config file, generated from the same definition (for editors). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
