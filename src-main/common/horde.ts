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

// ---- Worker side (HORDE-PROTOCOL.md §2.2–2.12) ----

/**
 * The pop body HordeDesk sends. Every field is explicit: several reqparse defaults differ from
 * the swagger ones (§2.2), and a worker must not offer by accident what it cannot do. Strict, so a
 * misspelt flag fails in tests instead of being silently ignored by the horde.
 */
export const popRequestSchema = z.strictObject({
  name: z.string().min(1).max(100),
  models: z.array(z.string().min(1).max(255)).min(1).max(300),
  /** "name:semver:url"; decides the horde's view of our capabilities (§2.8). */
  bridge_agent: z.string().min(1).max(1000),
  nsfw: z.boolean(),
  max_pixels: z.number().int().positive(),
  threads: z.number().int().min(1).max(50),
  amount: z.number().int().min(1).max(20),
  blacklist: z.array(z.string()).max(200),
  require_upfront_kudos: z.boolean(),
  allow_img2img: z.boolean(),
  allow_painting: z.boolean(),
  allow_unsafe_ipaddr: z.boolean(),
  allow_post_processing: z.boolean(),
  allow_controlnet: z.boolean(),
  allow_sdxl_controlnet: z.boolean(),
  allow_lora: z.boolean(),
  extra_slow_worker: z.boolean(),
  limit_max_steps: z.boolean(),
  /** "alias#number" each; the owner is always prioritised anyway. */
  priority_usernames: z.array(z.string().regex(/^.+#\d+$/, 'alias#number')),
});
export type PopRequest = z.infer<typeof popRequestSchema>;

/** A moderator or owner message delivered with a pop (`ResponseModelMessagePop`). */
export const popMessageSchema = z.looseObject({
  id: z.string().nullish(),
  message: z.string().nullish(),
  origin: z.string().nullish(),
  expiry: z.string().nullish(),
});
export type PopMessage = z.infer<typeof popMessageSchema>;

/**
 * Keys of a pop's `skipped` (§2.3): why waiting requests were not given to this worker. The first
 * twelve are always sent (0 when none); the last four only when not 0. The horde may add more.
 */
export const POP_SKIP_REASONS = [
  'bridge_version',
  'untrusted',
  'performance',
  'controlnet',
  'post-processing',
  'lora',
  'nsfw',
  'unsafe_ip',
  'painting',
  'img2img',
  'worker_id',
  'models',
  'max_pixels',
  'kudos',
  'blacklist',
  'step_count',
] as const;
export type PopSkipReason = (typeof POP_SKIP_REASONS)[number];

/**
 * `skipped` of a pop answer: a count per reason, e.g. `{"models": 12, "max_pixels": 3}`. Loose on
 * purpose: unknown reasons pass, and a null count means 0. Read entry by entry with
 * {@link popSkipCountSchema} (core/worker/skipped.ts), so one odd count hides nothing else.
 */
export const popSkippedSchema = z.record(z.string(), z.number().nullable());
export type PopSkipped = z.infer<typeof popSkippedSchema>;

/** One count of `skipped` as the worker uses it: a whole number of requests, null read as 0. */
export const popSkipCountSchema = z
  .number()
  .int()
  .nonnegative()
  .nullable()
  .transform((count) => count ?? 0);

/**
 * The pop answer's envelope. The horde marshals it without `skip_none`, so every key may be null
 * (§2.3). `payload` is only required to be an object here: its fields are checked per job by
 * core/worker/job.ts, so a malformed payload still yields the ids and an honest `faulted` submit
 * instead of a protocol error that leaves the jobs to time out on the horde.
 */
export const popResponseSchema = z.looseObject({
  id: z.string().nullish(),
  ids: z.array(z.string()).nullish(),
  payload: z.record(z.string(), z.unknown()).nullish(),
  model: z.string().nullish(),
  ttl: z.number().nullish(),
  r2_upload: z.string().nullish(),
  r2_uploads: z.array(z.string().nullable()).nullish(),
  source_image: z.string().nullish(),
  source_mask: z.string().nullish(),
  source_processing: z.string().nullish(),
  extra_source_images: z.array(z.unknown()).nullish(),
  /** Why waiting requests were not given to us, e.g. `{"models": 12}`; meaningful without a job. */
  skipped: popSkippedSchema.nullish(),
  messages: z.array(popMessageSchema).nullish(),
});
export type PopResponse = z.infer<typeof popResponseSchema>;

/** Known `gen_metadata.type` values (§2.5). */
export const GEN_METADATA_TYPES: readonly string[] = [
  'lora',
  'ti',
  'censorship',
  'source_image',
  'source_mask',
  'extra_source_images',
  'batch_index',
  'information',
  'aesthetic_score',
];
/** Known `gen_metadata.value` values (§2.5). */
export const GEN_METADATA_VALUES: readonly string[] = ['download_failed', 'parse_failed', 'baseline_mismatch', 'csam', 'nsfw', 'see_ref'];

/**
 * `gen_metadata` entry of a submit. The values are checked, but typed as strings so callers that
 * build entries from their own string types need no casts.
 */
export const genMetadataSchema = z.strictObject({
  type: z.string().refine((type) => GEN_METADATA_TYPES.includes(type), 'not a known gen_metadata type'),
  value: z.string().refine((value) => GEN_METADATA_VALUES.includes(value), 'not a known gen_metadata value'),
  ref: z.string().max(255).optional(),
});
export type GenMetadata = z.infer<typeof genMetadataSchema>;

/** The four submit states; only `faulted` changes what the horde does (requeue, abort count). */
export const submitStateSchema = z.enum(['ok', 'censored', 'faulted', 'csam']);
export type SubmitState = z.infer<typeof submitStateSchema>;

/**
 * One submit per image id. `generation` is "R2" after a successful PUT, otherwise the WebP in
 * base64; a faulted submit carries no image, so any text is accepted there (the SDK sends "Faulted").
 */
export const submitRequestSchema = z
  .strictObject({
    id: z.string().min(1),
    generation: z.string().min(1),
    state: submitStateSchema,
    /** The seed actually used; the horde requires an integer, not the pop's string. */
    seed: z.number().int(),
    /** Obsolete (the horde reads censorship from gen_metadata); the reference worker still sends it. */
    censored: z.boolean().optional(),
    /** More than 50 entries is a 400 that arrives after the image was recorded. */
    gen_metadata: z.array(genMetadataSchema).max(50).optional(),
  })
  .refine((body) => body.state === 'faulted' || body.generation === 'R2' || /^[A-Za-z0-9+/]+={0,2}$/.test(body.generation), {
    message: 'generation must be "R2" or base64 image data',
    path: ['generation'],
  });
export type SubmitRequest = z.infer<typeof submitRequestSchema>;

/** `GenerationSubmitted`: the per-image value before the bridge multiplier (§2.5); 0 when faulted. */
export const submitResponseSchema = z.looseObject({ reward: z.number() });
export type SubmitResponse = z.infer<typeof submitResponseSchema>;

/**
 * `WorkerDetails` (§3.5) as `GET /v2/workers/{id}` and `/v2/workers/name/{name}` return it. Only the
 * identity is required; the rest depends on privilege and horde version.
 */
export const workerDetailsSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  type: z.string().optional(),
  online: z.boolean().nullish(),
  requests_fulfilled: z.number().nullish(),
  /** Jobs aborted or faulted; many in an hour put the worker in maintenance (§2.7). */
  uncompleted_jobs: z.number().nullish(),
  /** Total credited, uptime included; the generation part is after the bridge multiplier. */
  kudos_rewards: z.number().nullish(),
  kudos_details: z.looseObject({ generated: z.number().nullish(), uptime: z.number().nullish() }).nullish(),
  /** Text such as "14.8 megapixelsteps per second". */
  performance: z.string().nullish(),
  threads: z.number().nullish(),
  /** Seconds. */
  uptime: z.number().nullish(),
  maintenance_mode: z.boolean().nullish(),
  info: z.string().nullish(),
  nsfw: z.boolean().nullish(),
  /** The owner's trust, which decides the kudos escrow. */
  trusted: z.boolean().nullish(),
  flagged: z.boolean().nullish(),
  team: z.looseObject({ id: z.string().nullish(), name: z.string().nullish() }).nullish(),
  bridge_agent: z.string().nullish(),
  models: z.array(z.string()).nullish(),
  max_pixels: z.number().nullish(),
  megapixelsteps_generated: z.number().nullish(),
  owner: z.string().nullish(),
  paused: z.boolean().nullish(),
  messages: z.array(z.unknown()).nullish(),
});
export type WorkerDetails = z.infer<typeof workerDetailsSchema>;

/** `GET /v2/workers` answers a list of the same records. */
export const workerDetailsListSchema = z.array(workerDetailsSchema);

/** `PUT /v2/workers/{id}` body (`ModifyWorkerInput`); at least one field, or the horde answers 400. */
export const modifyWorkerRequestSchema = z
  .strictObject({
    maintenance: z.boolean().optional(),
    maintenance_msg: z.string().optional(),
    /** Moderators only. */
    paused: z.boolean().optional(),
    info: z.string().max(1000).optional(),
    name: z.string().min(5).max(100).optional(),
    /** A team UUID, or "" to leave the team. */
    team: z.string().optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), { message: 'nothing to change' });
export type ModifyWorkerRequest = z.infer<typeof modifyWorkerRequestSchema>;

/** What the horde says it changed. */
export const modifyWorkerResponseSchema = z.looseObject({
  maintenance: z.boolean().nullish(),
  paused: z.boolean().nullish(),
  info: z.string().nullish(),
  name: z.string().nullish(),
  team: z.string().nullish(),
});
export type ModifyWorkerResponse = z.infer<typeof modifyWorkerResponseSchema>;
