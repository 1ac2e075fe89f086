import { z } from 'zod';

/** An install's progress (the Models page's shape: `models.progress`). */
export const installProgressSchema = z.object({
  name: z.string(),
  phase: z.enum(['downloading', 'converting', 'done', 'failed', 'cancelled']),
  bytes: z.number(),
  total: z.number().nullable(),
  bytesPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
  message: z.string().nullable(),
});

/**
 * The safety model as onboarding, the Dashboard and Settings show it: whether the check can run (the worker
 * takes no job until `ready`), which model it is, what installing it costs, and the install under way.
 */
export const safetyViewSchema = z.object({
  state: z.enum(['missing', 'loading', 'ready', 'failed']),
  /** In the user's words: what is missing, what is loading, on which provider it runs, why it failed. */
  reason: z.string(),
  model: z.object({
    name: z.string(),
    installed: z.boolean(),
    /** The demo's random-weight model: runs the whole path, recognises nothing. */
    tiny: z.boolean(),
    sizeOnDiskBytes: z.number().nullable(),
    downloadBytes: z.number(),
  }),
  /** The latest install's progress; null when none ran since the app started. */
  install: installProgressSchema.nullable(),
});
export type SafetyView = z.infer<typeof safetyViewSchema>;
