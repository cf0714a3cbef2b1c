/**
 * The config fragment of "stage on every merge" (`stageOnMerge:` in a service, seed 004), kept
 * apart from domain/stage.ts so zod stays out of the workflow bundle.
 */
import { z } from 'zod';

/** Mount as `stageOnMerge: stageOnMergeSchema.optional()` in a service of domain/config.ts. */
export const stageOnMergeSchema = z.strictObject({
  /** The branch whose commits go to staging; default the forge's default branch. */
  branch: z.string().min(1).max(200).optional(),
  /** Deploy only commits whose CI is green (the newest such within `lookback`); false: the branch head. */
  requireGreen: z.boolean().default(true),
  /** Commits looked at, newest first, for the newest green one. */
  lookback: z.number().int().min(1).max(200).default(20),
  /** After a push is heard, wait this long for more before deploying (a burst deploys once). */
  quietSeconds: z.number().int().min(0).max(3_600).default(30),
  /** Look at the branch this often even when no push is heard (missed webhooks, no webhooks at all). */
  pollMinutes: z.number().int().min(1).max(24 * 60).default(5),
  /** While the newest commit's CI is still running, look again this often. */
  pendingPollSeconds: z.number().int().min(5).max(3_600).default(60),
});
export type StageOnMergeConfig = z.output<typeof stageOnMergeSchema>;
