/**
 * The config fragment of pre-releases (`prerelease:` in a service), kept apart from
 * domain/prerelease.ts so zod stays out of the workflow bundle.
 */
import { z } from 'zod';
import { parseClock, WEEKDAYS } from './calendar.js';
import { DEFAULT_PRERELEASE_TAG_FORMAT, preReleaseTagFormatProblem } from './prerelease.js';

const label = z.string().min(1).max(50);

/** Mount as `prerelease: preReleaseConfigSchema.optional()` in a service of domain/config.ts. */
export const preReleaseConfigSchema = z.strictObject({
  /** A Temporal Schedule cuts a pre-release on these days at this time, in `release.timeZone`. */
  schedule: z.strictObject({
    days: z.array(z.enum(WEEKDAYS)).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri']),
    at: z.string().refine((t) => parseClock(t) !== undefined, 'must be HH:mm (24-hour)'),
  }),
  tagFormat: z
    .string()
    .superRefine((f, ctx) => {
      const problem = preReleaseTagFormatProblem(f);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default(DEFAULT_PRERELEASE_TAG_FORMAT),
  /** QA puts this label on a pull request it has verified on stage. */
  approvalLabel: label.default('qa-approved'),
  /** A pull request that needs a production environment variable change carries this label. */
  envVarLabel: label.default('needs-env-var'),
  /** Who may acknowledge an environment variable change (SRE names, as in `--as`). */
  sres: z.array(z.string().min(1).max(100)).default([]),
  /** How often labels are read again while the gate is closed. */
  recheckMinutes: z.number().int().min(1).max(24 * 60).default(10),
  /** A pre-release nobody deploys within this time ends as expired. */
  expireHours: z.number().positive().max(24 * 60).default(24 * 7),
});
export type PreReleaseConfig = z.output<typeof preReleaseConfigSchema>;
