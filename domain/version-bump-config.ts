/**
 * The config fragment of version bumps (`versionBumps:`), kept apart from domain/version-bump.ts so
 * zod stays out of the workflow bundle. The forges are given the config's own forge union by the
 * caller (domain/config.ts does not export it); without one they are accepted as they come.
 */
import { z } from 'zod';
import type { BumpPlan } from './version-bump.js';

const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _ (a workflow id part)');
const label = z.string().min(1).max(100);

export function versionBumpSchema<F extends z.ZodType, N extends z.ZodType>(forge: F, notifier: N) {
  return z
    .strictObject({
      /** The component whose version is bumped, e.g. gitaly. */
      component: name,
      /** The project that pins it, e.g. gitlab. */
      consumer: name,
      /** Where green commits are looked for (e.g. the security mirror). */
      componentForge: forge,
      /** Where the version file and the bump merge request live. */
      consumerForge: forge,
      versionFile: z.string().min(1).max(300).default('VERSION'),
      branch: z.string().min(1).max(200).optional(),
      title: z.string().min(1).max(200).optional(),
      labels: z.array(label).default([]),
      blockedLabel: label.default('trainyard::blocked'),
      staleLabel: label.default('trainyard::stale'),
      lookback: z.number().int().min(1).max(500).default(50),
      commitLimit: z.number().int().min(1).max(200).default(50),
      /** e.g. https://gitlab.com/gitlab-org/gitaly/-/compare/{from}...{to} */
      compareUrl: z.string().url().optional(),
      /** How often the schedule starts a bump (the seed: hourly). */
      intervalMinutes: z.number().int().min(5).max(24 * 60).default(60),
      pollMinutes: z.number().min(0.1).max(120).default(5),
      masterPollMinutes: z.number().min(0.1).max(240).default(15),
      greenCheckMinutes: z.number().min(1).max(24 * 60).default(60),
      staleHours: z.number().min(1).max(24 * 30).default(24),
      operators: z.array(z.string().min(1).max(100)).optional(),
      /** Where progress notes go (request opened, merged, waiting); none: the worker's log. */
      notify: z.array(notifier).default([]),
      /** Where notes for the component's team go (a regression with its failing job); default: `notify`. */
      teamNotify: z.array(notifier).optional(),
    })
    .refine((b) => b.component !== b.consumer, 'component and consumer must differ');
}

/** The fragment without a forge schema: forges typed `unknown` until the real union is mounted. */
export const versionBumpsSchema = z.array(versionBumpSchema(z.unknown(), z.unknown())).default([]);

export type VersionBumpConfig = z.output<ReturnType<typeof versionBumpSchema<z.ZodUnknown, z.ZodUnknown>>>;

/** The workflow's plan from one config entry (defaults for the names the seed uses). */
export function planOfBump(c: VersionBumpConfig): BumpPlan {
  const display = c.component.charAt(0).toUpperCase() + c.component.slice(1);
  return {
    component: c.component,
    consumer: c.consumer,
    versionFile: c.versionFile,
    branch: c.branch ?? `trainyard/bump-${c.component}`,
    title: c.title ?? `Update ${display} version`,
    labels: c.labels,
    blockedLabel: c.blockedLabel,
    staleLabel: c.staleLabel,
    lookback: c.lookback,
    commitLimit: c.commitLimit,
    ...(c.compareUrl ? { compareUrl: c.compareUrl } : {}),
    pollMinutes: c.pollMinutes,
    masterPollMinutes: c.masterPollMinutes,
    greenCheckMinutes: c.greenCheckMinutes,
    staleHours: c.staleHours,
    ...(c.operators ? { operators: c.operators } : {}),
  };
}
