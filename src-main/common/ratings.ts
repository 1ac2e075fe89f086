import { z } from 'zod';

/** Aesthetic rating 1-10 and artifacts 0-5, integers (HORDE-PROTOCOL §4.1). */
export const aestheticSchema = z.number().int().min(1, 'Ratings go from 1 to 10').max(10, 'Ratings go from 1 to 10');
export const artifactsSchema = z.number().int().min(0, 'Artifacts go from 0 to 5').max(5, 'Artifacts go from 0 to 5');

/** One image to rate, as the Rate page gets it (bytes inline so it paints at once). */
export const ratingImageSchema = z.object({
  imageId: z.string(),
  datasetId: z.string().nullable(),
  /** data:image/...;base64 of the cached file. */
  src: z.string().startsWith('data:image/'),
  /** A validation ("captcha") image's instruction, shown prominently; null for normal images. */
  instruction: z.string().nullable(),
});
export type RatingImage = z.infer<typeof ratingImageSchema>;

export const ratingStateSchema = z.enum(['pending', 'sent', 'refused']);
export type RatingState = z.infer<typeof ratingStateSchema>;

export const ratingStatusSchema = z.object({
  /** Ratings made since the app started, and the kudos they earned so far. */
  sessionRatings: z.number().int(),
  sessionKudos: z.number(),
  /** Images downloaded and not yet rated or skipped. */
  cached: z.number().int(),
  /** Ratings written locally and not yet accepted by the ratings service. */
  pendingSync: z.number().int(),
  online: z.boolean(),
  /** Why the queue or the sync is stuck, in plain words (e.g. rate limited until …). */
  message: z.string().nullable(),
  /** A running "Download a session", if any. */
  download: z.object({ total: z.number().int(), done: z.number().int(), failed: z.number().int() }).nullable(),
});
export type RatingStatus = z.infer<typeof ratingStatusSchema>;

export const ratingRowSchema = z.object({
  imageId: z.string(),
  rating: z.number().int(),
  artifacts: z.number().int().nullable(),
  ratedAt: z.number(),
  state: ratingStateSchema,
  reward: z.number().nullable(),
  /** Why the service refused it, or the last sync problem. */
  reason: z.string().nullable(),
  /** Small WebP thumbnail as a data URL; null when the image is gone from the cache. */
  thumbnail: z.string().nullable(),
});
export type RatingRow = z.infer<typeof ratingRowSchema>;

export const ratingHistoryRequestSchema = z
  .object({
    limit: z.number().int().min(1).max(200).default(50),
    offset: z.number().int().min(0).default(0),
    state: z.enum(['all', 'pending', 'sent', 'refused']).default('all'),
    minRating: aestheticSchema.default(1),
    maxRating: aestheticSchema.default(10),
  })
  .strict();

export const ratingHistorySchema = z.object({
  total: z.number().int(),
  rows: z.array(ratingRowSchema),
  /** Count of the user's ratings per aesthetic score 1..10 (index 0 = score 1), over all history. */
  histogram: z.array(z.number().int()).length(10),
});
export type RatingHistory = z.infer<typeof ratingHistorySchema>;

export const datasetSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  imageCount: z.number().int().nullable(),
});
export type Dataset = z.infer<typeof datasetSchema>;
