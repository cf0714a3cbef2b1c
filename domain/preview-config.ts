/**
 * The config fragments of preview environments (`previews`) and the webhook receiver (`webhooks`),
 * kept apart from domain/preview.ts so zod stays out of the workflow bundle (it costs every cached
 * workflow about 600 KiB of worker memory).
 */
import { z } from 'zod';

// ── config fragments (mounted by domain/config.ts as `previews` and `webhooks`) ────────────────

const argv = z.array(z.string().min(1)).min(1, 'needs the program and its arguments as a list');

/** One preview driver per service; `command` runs a program per step with TRAINYARD_PREVIEW_* env vars. */
export const previewDriverSchema = z.strictObject({
  kind: z.literal('command'),
  /** Prints the preview's URL as its last line of output that starts with http:// or https://. */
  create: argv,
  update: argv,
  /** Must succeed when there is nothing (left) to destroy: it runs after half-done creations too. */
  destroy: argv,
  /** Working directory of the programs, relative to the config file. */
  cwd: z.string().min(1).optional(),
  /** Extra environment for the programs (not secrets: the config is not a secret store). */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
  /** Per step; a preview that takes longer to come up is reported as failed. */
  timeoutSeconds: z.number().int().positive().max(6 * 3600).default(900),
});

export const previewServiceSchema = z.strictObject({
  driver: previewDriverSchema,
  /** A preview nobody pushed to or touched for this long is destroyed. */
  ttlHours: z.number().positive().max(24 * 90).default(72),
  /** A burst of pushes is deployed once, this long after the last push. */
  quietSeconds: z.number().int().min(1).max(3600).default(60),
});

/** `previews: { <service>: { driver, ttlHours, quietSeconds } }` */
export const previewsConfigSchema = z.record(z.string().min(1), previewServiceSchema);

/** `webhooks: { port, host, githubSecretEnv, gitlabTokenEnv }`: the receiver started by `trainyard webhooks`. */
export const webhooksConfigSchema = z.strictObject({
  port: z.number().int().min(0).max(65_535).default(8787),
  host: z.string().min(1).default('127.0.0.1'),
  /** The environment variable holding the GitHub webhook secret (never the secret itself). */
  githubSecretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').optional(),
  gitlabTokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').optional(),
  maxBodyKiB: z.number().int().min(1).max(25 * 1024).default(1024),
});

export type PreviewServiceConfig = z.output<typeof previewServiceSchema>;
export type PreviewDriverConfig = z.output<typeof previewDriverSchema>;
export type WebhooksConfig = z.output<typeof webhooksConfigSchema>;

