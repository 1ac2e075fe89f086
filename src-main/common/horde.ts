import { z } from 'zod';

// Schemas for the AI Horde's JSON (docs: HORDE-PROTOCOL.md §1.3, §2.12, §3.5, §5.4).
// The horde adds fields over time and drops null ones (flask-restx `skip_none`), so objects are
// loose (unknown keys pass through) and only what the app relies on is required.

/** `GET /v2/status/heartbeat`: `message` is "OK", "DOWN" (no database) or "OVERLOADED". */
export const heartbeatSchema = z.looseObject({
  message: z.string(),
  version: z.string().optional(),
  queue: z.number().optional(),
  threads: z.number().optional(),
  active_count: z.number().optional(),
  db_connection: z.boolean().optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

/** Kudos buckets of a user (`UserKudosDetails`); `awarded` is where rating income lands. */
export const userKudosDetailsSchema = z.looseObject({
  accumulated: z.number().optional(),
  gifted: z.number().optional(),
  donated: z.number().optional(),
  admin: z.number().optional(),
  received: z.number().optional(),
  recurring: z.number().optional(),
  awarded: z.number().optional(),
  styled: z.number().optional(),
});
export type UserKudosDetails = z.infer<typeof userKudosDetailsSchema>;

const thingCountsSchema = z.record(z.string(), z.number().nullable());

/** `UserDetails` as `GET /v2/find_user` and `GET /v2/users/{id}` return it. */
export const userDetailsSchema = z.looseObject({
  /** "alias#id", e.g. "workerowner#2"; a shared key appends " (Shared Key…)". */
  username: z.string(),
  id: z.number().int(),
  /** Spendable kudos; may be negative for the anonymous user. */
  kudos: z.number(),
  kudos_details: userKudosDetailsSchema,
  evaluating_kudos: z.number().optional(),
  concurrency: z.number().optional(),
  worker_invited: z.number().optional(),
  moderator: z.boolean().optional(),
  worker_count: z.number().int().optional(),
  worker_ids: z.array(z.string()).optional(),
  sharedkey_ids: z.array(z.string()).optional(),
  styles: z.array(z.unknown()).optional(),
  active_generations: z.record(z.string(), z.array(z.string())).optional(),
  monthly_kudos: z.looseObject({ amount: z.number().optional(), last_received: z.string().nullable().optional() }).optional(),
  trusted: z.boolean().optional(),
  flagged: z.boolean().optional(),
  vpn: z.boolean().optional(),
  service: z.boolean().optional(),
  education: z.boolean().optional(),
  customizer: z.boolean().optional(),
  special: z.boolean().optional(),
  deleted: z.boolean().optional(),
  suspicious: z.number().optional(),
  pseudonymous: z.boolean().optional(),
  contact: z.string().optional(),
  admin_comment: z.string().optional(),
  account_age: z.number().optional(),
  records: z
    .looseObject({
      usage: thingCountsSchema.optional(),
      contribution: thingCountsSchema.optional(),
      fulfillment: thingCountsSchema.optional(),
      request: thingCountsSchema.optional(),
      style: thingCountsSchema.optional(),
    })
    .optional(),
});
export type UserDetails = z.infer<typeof userDetailsSchema>;

/** One entry of `GET /v2/status/models` (`ActiveModel`). `count` is serving threads, not workers. */
export const activeModelSchema = z.looseObject({
  name: z.string(),
  count: z.number().int(),
  performance: z.number().nullable().optional(),
  /** Pixelsteps waiting or in progress. */
  queued: z.number().nullable().optional(),
  /** Images waiting or in progress. */
  jobs: z.number().nullable().optional(),
  /** Seconds to clear the queue; 10000 when nobody serves the model. */
  eta: z.number().nullable().optional(),
  type: z.string().optional(),
});
export type ActiveModel = z.infer<typeof activeModelSchema>;

export const activeModelListSchema = z.array(activeModelSchema);

/**
 * An error body. Horde exceptions carry `rc`; flask-restx validation errors (400) carry `errors`
 * instead; rate-limit answers (429) carry only `message`.
 */
export const hordeErrorBodySchema = z.looseObject({
  message: z.string(),
  rc: z.string().optional(),
  errors: z.record(z.string(), z.string()).optional(),
});
export type HordeErrorBody = z.infer<typeof hordeErrorBodySchema>;

/** The key the horde treats as "no account"; it can request and rate but never earn or work. */
export const ANONYMOUS_API_KEY = '0000000000';
