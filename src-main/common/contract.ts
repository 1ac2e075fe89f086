import { z } from 'zod';
import { capabilityProfileSchema } from './hardware';
import { kudosChartsSchema, kudosReconcileSchema } from './kudosViews';
import {
  aestheticSchema,
  artifactsSchema,
  datasetSchema,
  ratingHistoryRequestSchema,
  ratingHistorySchema,
  ratingImageSchema,
  ratingStatusSchema,
} from './ratings';
import {
  generationParamsSchema,
  inferenceProgressSchema,
  modelKindsSchema,
  providerStatusSchema,
  sourceProcessingSchema,
} from './inference';
import { installProgressSchema, safetyViewSchema } from './safetyModel';
import { settingsPatchSchema, settingsSchema } from './settings';

const none = z.object({}).strict();

const noticeSchema = z.object({
  id: z.string(),
  level: z.enum(['info', 'warning', 'error']),
  message: z.string(),
  at: z.string(),
});
export type Notice = z.infer<typeof noticeSchema>;

const appInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  shell: z.enum(['electron', 'headless']),
  dataDir: z.string(),
  logDir: z.string(),
  databasePath: z.string(),
  settingsPath: z.string(),
});
export type AppInfo = z.infer<typeof appInfoSchema>;

const kudosTotalsSchema = z.object({
  today: z.number(),
  week: z.number(),
  allTime: z.number(),
  bySource: z.object({ job: z.number(), rating: z.number(), uptime: z.number() }),
  events: z.number().int().nonnegative(),
  /** Set while the horde is seen not to credit this worker's jobs (a moderator's pause): since when, how known, what it means. */
  creditHold: z.object({ since: z.number(), how: z.enum(['record', 'credits']), text: z.string() }).nullable(),
});
export type KudosTotals = z.infer<typeof kudosTotalsSchema>;

const hordeStatusSchema = z.object({
  url: z.string(),
  reachable: z.boolean(),
  /** The horde's own words: OK, DOWN, OVERLOADED; or why it could not be reached. */
  message: z.string(),
  version: z.string().nullable(),
  checkedAt: z.string(),
});
export type HordeStatus = z.infer<typeof hordeStatusSchema>;

const modelEntrySchema = z.object({
  name: z.string(),
  dir: z.string(),
  ready: z.boolean(),
  problem: z.string().nullable(),
  /** What the model serves besides txt2img; all false while it is not ready. */
  kinds: modelKindsSchema,
  /** Its architecture, when the folder could be read: SDXL models want SDXL's sizes (about 1024² pixels). */
  family: z.enum(['sd1', 'sdxl']).optional(),
});
export type ModelEntry = z.infer<typeof modelEntrySchema>;

const inferenceStatusSchema = z.object({
  model: z.string().nullable(),
  provider: providerStatusSchema.nullable(),
  busyJobId: z.string().nullable(),
});
export type InferenceStatus = z.infer<typeof inferenceStatusSchema>;

const generationOutcomeSchema = z.object({
  jobId: z.string(),
  model: z.string(),
  provider: providerStatusSchema,
  images: z.array(
    z.object({
      dataUrl: z.string().startsWith('data:image/png;base64,'),
      width: z.number().int(),
      height: z.number().int(),
      seed: z.number().int(),
    }),
  ),
  warnings: z.array(z.string()),
  stats: z.object({ wallMs: z.number(), runMs: z.number(), runs: z.number().int(), meanStepMs: z.number() }),
  /** The kind that ran (a job whose source could not be used runs as txt2img) and whether hires fix ran. */
  kind: sourceProcessingSchema,
  hiresFix: z.boolean(),
  /** The post-processors that ran on the images, in order. */
  postProcessed: z.array(z.string()),
});
export type GenerationOutcome = z.infer<typeof generationOutcomeSchema>;

const workerStatusSchema = z.object({
  state: z.enum(['stopped', 'running', 'pausing', 'paused', 'stopping', 'maintenance', 'error']),
  message: z.string().nullable(),
  current: z
    .object({
      jobId: z.string(),
      model: z.string(),
      phase: z.string(),
      image: z.number().int(),
      images: z.number().int(),
      step: z.number().int(),
      steps: z.number().int(),
    })
    .nullable(),
  inFlight: z.number().int().nonnegative(),
  /** Why the last pops found no job: the horde's `skipped` counts and one sentence; null once a job arrives. */
  noJobs: z
    .object({
      since: z.number(),
      at: z.number(),
      skipped: z.array(z.object({ reason: z.string(), count: z.number().int() })),
      text: z.string(),
    })
    .nullable(),
  /** Pops get no answer from the horde since `since` (ms; the worker keeps retrying), with the last failure; null while it answers. */
  outage: z.object({ since: z.number(), message: z.string() }).nullable(),
  /** Why the worker may not pop for want of its safety check (the model missing, loading, failed); null while it is ready. */
  safety: z
    .object({ state: z.enum(['missing', 'loading', 'failed']), message: z.string(), action: z.enum(['install']).nullable() })
    .nullable(),
  stats: z.object({
    startedAt: z.number().nullable(),
    jobsDone: z.number().int(),
    jobsFaulted: z.number().int(),
    jobsDropped: z.number().int(),
    imagesDone: z.number().int(),
    /** Jobs whose images the safety check censored as NSFW, and jobs it flagged as CSAM. */
    jobsCensored: z.number().int(),
    jobsCsam: z.number().int(),
    megapixelsteps: z.number(),
    generationMs: z.number(),
    kudosSession: z.number(),
  }),
  mpsPerSecond: z.number(),
  kudosPerHour: z.number(),
  /** Job kudos in the ledger over the last 24 hours. */
  kudos24h: z.number(),
});
export type WorkerStatusDto = z.infer<typeof workerStatusSchema>;

const jobRecordSchema = z.object({
  jobId: z.string(),
  model: z.string(),
  sampler: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  steps: z.number().int(),
  state: z.enum(['ok', 'faulted', 'dropped']),
  reason: z.string().nullable(),
  reward: z.number(),
  poppedAt: z.number(),
  finishedAt: z.number(),
  generationMs: z.number(),
  /** What the safety check replaced: NSFW censored, or an image flagged as CSAM (never kept); null when nothing. */
  censorship: z.enum(['nsfw', 'csam']).nullable(),
  /** The request kind that ran: "txt2img", "img2img+hires_fix", "inpainting", …; null when the job could not be read. */
  kind: z.string().nullable(),
  /** The post-processors that ran on its images, joined by "+" ("RealESRGAN_x4plus"); null when none ran. */
  postProcessing: z.string().nullable(),
  /** The LoRAs and textual inversions it used ("LoRA 247778 (0.8/1), TI 7808; left out: …"); null when it named none. */
  addons: z.string().nullable().default(null),
});
export type JobRecordDto = z.infer<typeof jobRecordSchema>;

/** The LoRA card: what is cached and how much disk it takes, and whether a CivitAI token is set (never the token). */
const loraStatusSchema = z.object({
  /** LoRA jobs are taken (the setting) and a ready model takes them. */
  taking: z.boolean(),
  /** Why not, in words; null while taking. */
  reason: z.string().nullable(),
  tokenSet: z.boolean(),
  /** How the token is protected ("encrypted with your system key store"). */
  tokenProtection: z.string(),
  /** Downloaded LoRA and embedding files, their bytes and the budget. */
  files: z.number().int().nonnegative(),
  filesBytes: z.number().nonnegative(),
  filesBudgetBytes: z.number().nonnegative(),
  /** Models merged with LoRAs, their own bytes and the budget. */
  mergedSets: z.number().int().nonnegative(),
  mergedBytes: z.number().nonnegative(),
  mergedBudgetBytes: z.number().nonnegative(),
});
export type LoraStatusDto = z.infer<typeof loraStatusSchema>;

const apiKeyStatusSchema = z.object({
  set: z.boolean(),
  protection: z.string(),
  /** Who the horde says the key belongs to (find_user); null until checked or when offline. */
  username: z.string().nullable(),
  kudos: z.number().nullable(),
  trusted: z.boolean().nullable(),
  /** Services the settings now point at another origin than the one confirmed for the key; nothing keyed goes there until confirmed. */
  pendingOrigins: z.array(
    z.object({ service: z.enum(['horde', 'ratings']), origin: z.string(), previousOrigin: z.string(), previousUrl: z.string() }),
  ),
});
export type ApiKeyStatus = z.infer<typeof apiKeyStatusSchema>;

const scheduleStatusSchema = z.object({
  /** Plain words for the dashboard and the tray: why the worker runs or waits. */
  reason: z.string(),
  waiting: z.boolean(),
  cause: z.string(),
  snoozedUntil: z.number().nullable(),
  finishThenPause: z.boolean(),
  manualStart: z.boolean(),
  /** Headless demo only: the idle source can be driven from the page. */
  simulated: z.boolean(),
});
export type ScheduleStatusDto = z.infer<typeof scheduleStatusSchema>;

const catalogSchema = z.object({
  /** Where the reference came from: fetched now, the cached copy (offline), or nowhere. */
  source: z.enum(['network', 'cache', 'none']),
  fetchedAt: z.string().nullable(),
  message: z.string().nullable(),
  entries: z.array(
    z.object({
      name: z.string(),
      family: z.string(),
      baseline: z.string(),
      nsfw: z.boolean(),
      inpainting: z.boolean(),
      sizeBytes: z.number().nullable(),
      fits: z.boolean(),
      fitReason: z.string(),
      demand: z.object({ queuedMps: z.number(), jobs: z.number(), workers: z.number(), opportunity: z.number() }),
      installed: z.boolean(),
      /** Null when the reference gives a sha256 for the file Install fetches; otherwise why it cannot be verified. */
      unverified: z.string().nullable(),
    }),
  ),
  installed: z.array(z.object({ name: z.string(), bytes: z.number(), ready: z.boolean(), problem: z.string().nullable() })),
  freeBytes: z.number().nullable(),
});
export type CatalogDto = z.infer<typeof catalogSchema>;

/** A post-processor installed (an upscaler folder, or another engine's), as the Models and Generate pages show it. */
const installedPostProcessorSchema = z.object({
  name: z.string(),
  family: z.enum(['esrgan', 'upscaler', 'facefixer', 'background']),
  ready: z.boolean(),
  problem: z.string().nullable(),
  bytes: z.number(),
  /** What it is, e.g. "RRDBNet ×4 (64 features, 23 blocks, growth 32)". */
  detail: z.string(),
  /** How many times wider and taller it makes an image (1: same size); null when the folder cannot be read. */
  scale: z.number().int().positive().nullable(),
});
export type InstalledPostProcessorDto = z.infer<typeof installedPostProcessorSchema>;

/** The horde's upscaler reference (esrgan.json) as the Models page offers it, what is installed, and what HordeDesk refuses. */
const postProcessorCatalogSchema = z.object({
  source: z.enum(['network', 'cache', 'none']),
  fetchedAt: z.string().nullable(),
  message: z.string().nullable(),
  entries: z.array(
    z.object({
      name: z.string(),
      family: z.enum(['esrgan', 'upscaler', 'facefixer', 'background']).nullable(),
      description: z.string(),
      style: z.string().nullable(),
      fileName: z.string().nullable(),
      /** HordeDesk installs and runs it for the horde; otherwise `reason` says why not. */
      served: z.boolean(),
      reason: z.string(),
      installed: z.boolean(),
      /** Null when the reference gives a sha256 for the file; otherwise why it cannot be verified. */
      unverified: z.string().nullable(),
    }),
  ),
  installed: z.array(installedPostProcessorSchema),
  /** The horde's post-processors HordeDesk does not run (face restorers, other architectures), with why. */
  refused: z.array(z.object({ name: z.string(), reason: z.string() })),
});
export type PostProcessorCatalogDto = z.infer<typeof postProcessorCatalogSchema>;

/** A model is named by its folder under the models directory, never by a path. */
const modelName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^/\\]+$/, 'a model name, not a path')
  .refine((n) => n !== '.' && n !== '..', 'a model name, not a path');

/** The state line shown in the tray and the dashboard header. */
const appStateSchema = z.object({ line: z.string(), worker: z.enum(['not-set-up', 'idle', 'working', 'paused', 'error']) });
export type AppState = z.infer<typeof appStateSchema>;

/**
 * The one contract between the renderer and main. Every command has a request and a response
 * schema; every event a payload schema. Both transports (Electron IPC, headless WebSocket)
 * and the renderer's bridge are generic over this object.
 */
export const contract = {
  commands: {
    'app.info': { request: none, response: appInfoSchema },
    'app.state': { request: none, response: appStateSchema },
    'app.notices': { request: none, response: z.array(noticeSchema) },
    'app.dismissNotice': { request: z.object({ id: z.string().max(100) }).strict(), response: z.array(noticeSchema) },
    'hardware.profile': { request: z.object({ refresh: z.boolean().default(false) }).strict(), response: capabilityProfileSchema },
    'settings.get': { request: none, response: settingsSchema },
    'settings.update': { request: settingsPatchSchema, response: settingsSchema },
    /** Settings as a JSON file to keep or move to another machine; never the API key. */
    'settings.export': { request: none, response: z.object({ filename: z.string(), content: z.string() }) },
    'settings.import': { request: z.object({ content: z.string().max(200_000) }).strict(), response: settingsSchema },
    'kudos.totals': { request: none, response: kudosTotalsSchema },
    'kudos.charts': { request: none, response: kudosChartsSchema },
    /** The local ledger beside the horde's own numbers, with the differences explained. */
    'kudos.reconcile': { request: none, response: kudosReconcileSchema },
    'horde.status': { request: none, response: hordeStatusSchema },
    'models.list': { request: none, response: z.array(modelEntrySchema) },
    'models.createTiny': { request: none, response: modelEntrySchema },
    'models.catalog': { request: z.object({ refresh: z.boolean().default(false) }).strict(), response: catalogSchema },
    /** Downloads and converts a catalog model in the background; progress comes as `models.progress`. */
    'models.install': {
      /** `allowUnverified`: the user chose "Install anyway" for a file with no sha256 to check. */
      request: z.object({ name: z.string().min(1).max(200), allowUnverified: z.boolean().default(false) }).strict(),
      response: z.object({ started: z.boolean() }),
    },
    'models.cancelInstall': {
      request: z.object({ name: z.string().min(1).max(200) }).strict(),
      response: z.object({ cancelled: z.boolean() }),
    },
    'models.delete': { request: z.object({ name: z.string().min(1).max(200) }).strict(), response: catalogSchema },
    /** The post-processors installed (for the Generate page's Upscale choice). */
    'postprocess.list': { request: none, response: z.array(installedPostProcessorSchema) },
    'postprocess.catalog': { request: z.object({ refresh: z.boolean().default(false) }).strict(), response: postProcessorCatalogSchema },
    /** Downloads and converts an upscaler of the reference in the background; progress comes as `models.progress`. */
    'postprocess.install': {
      request: z.object({ name: z.string().min(1).max(200), allowUnverified: z.boolean().default(false) }).strict(),
      response: z.object({ started: z.boolean() }),
    },
    'postprocess.cancelInstall': {
      request: z.object({ name: z.string().min(1).max(200) }).strict(),
      response: z.object({ cancelled: z.boolean() }),
    },
    'postprocess.delete': { request: z.object({ name: z.string().min(1).max(200) }).strict(), response: postProcessorCatalogSchema },
    'inference.status': { request: none, response: inferenceStatusSchema },
    'inference.generate': {
      /** `postProcessing`: installed post-processors (the horde's names) to run on each image, in order. */
      request: z
        .object({
          model: modelName,
          params: generationParamsSchema,
          postProcessing: z.array(z.string().min(1).max(100)).max(4).default([]),
        })
        .strict(),
      response: generationOutcomeSchema,
    },
    'lora.status': { request: none, response: loraStatusSchema },
    /** Stores the CivitAI API token (checked for shape only); it is never sent back. */
    'lora.setToken': { request: z.object({ token: z.string().trim().max(200) }).strict(), response: loraStatusSchema },
    'lora.clearToken': { request: none, response: loraStatusSchema },
    /** Removes the downloaded LoRA and embedding files no job is using. */
    'lora.clearCache': { request: none, response: loraStatusSchema },
    'apiKey.status': { request: none, response: apiKeyStatusSchema },
    'apiKey.set': { request: z.object({ apiKey: z.string().trim().max(200) }).strict(), response: apiKeyStatusSchema },
    'apiKey.clear': { request: none, response: apiKeyStatusSchema },
    /** "Send my key there": binds the key to the horde and ratings origins the settings show now. */
    'apiKey.confirmOrigins': { request: none, response: apiKeyStatusSchema },
    /** "Go back": puts the horde and ratings URLs back to the ones confirmed for the key. */
    'apiKey.revertOrigins': { request: none, response: apiKeyStatusSchema },
    'worker.status': { request: none, response: workerStatusSchema },
    /** Whether the horde would let this key's owner use a worker name. */
    'worker.checkName': {
      request: z.object({ name: z.string().max(200) }).strict(),
      response: z.object({ available: z.boolean(), message: z.string() }),
    },
    'worker.start': { request: none, response: workerStatusSchema },
    'worker.pause': { request: none, response: workerStatusSchema },
    'worker.stopNow': { request: none, response: workerStatusSchema },
    'worker.leaveMaintenance': { request: none, response: workerStatusSchema },
    'schedule.status': { request: none, response: scheduleStatusSchema },
    'schedule.snooze': {
      request: z
        .object({
          minutes: z
            .number()
            .int()
            .min(1)
            .max(24 * 60),
        })
        .strict(),
      response: scheduleStatusSchema,
    },
    'schedule.clearSnooze': { request: none, response: scheduleStatusSchema },
    /** Headless demo: pretend the user left (`away`) or came back (`back`). */
    'schedule.simulate': { request: z.object({ presence: z.enum(['away', 'back']) }).strict(), response: scheduleStatusSchema },
    'jobs.history': {
      request: z.object({ limit: z.number().int().min(1).max(200).default(50), offset: z.number().int().min(0).default(0) }).strict(),
      response: z.object({ total: z.number().int(), jobs: z.array(jobRecordSchema) }),
    },
    'rating.status': { request: none, response: ratingStatusSchema },
    /** The image to rate now, then the next ones for the page to preload (count ≥ 1). */
    'rating.queue': {
      request: z.object({ count: z.number().int().min(1).max(5).default(3) }).strict(),
      response: z.array(ratingImageSchema),
    },
    'rating.rate': {
      request: z.object({ imageId: z.string().min(1).max(100), rating: aestheticSchema, artifacts: artifactsSchema.nullable() }).strict(),
      response: ratingStatusSchema,
    },
    'rating.undo': { request: none, response: z.object({ imageId: z.string().nullable(), status: ratingStatusSchema }) },
    'rating.skip': { request: z.object({ imageId: z.string().min(1).max(100) }).strict(), response: ratingStatusSchema },
    'rating.downloadSession': {
      request: z.object({ count: z.number().int().min(25).max(500), datasetId: z.string().max(100).nullable().default(null) }).strict(),
      response: ratingStatusSchema,
    },
    'rating.datasets': { request: none, response: z.array(datasetSchema) },
    'rating.history': { request: ratingHistoryRequestSchema, response: ratingHistorySchema },
    'rating.export': {
      request: z.object({ format: z.enum(['csv', 'json']) }).strict(),
      response: z.object({ filename: z.string(), mime: z.string(), content: z.string() }),
    },
    'inference.cancel': { request: z.object({ jobId: z.string().max(100) }).strict(), response: z.object({ cancelled: z.boolean() }) },
    /** The safety model: state, size, install progress. */
    'safety.status': { request: none, response: safetyViewSchema },
    /** Downloads (sha256-pinned) and converts CLIP ViT-L/14 in the background; progress comes as `safety.status`. */
    'safety.install': { request: none, response: safetyViewSchema },
    'safety.cancelInstall': { request: none, response: z.object({ cancelled: z.boolean() }) },
  },
  events: {
    'app.state': appStateSchema,
    'app.notice': noticeSchema,
    'settings.changed': settingsSchema,
    'hardware.changed': capabilityProfileSchema,
    'kudos.changed': kudosTotalsSchema,
    'inference.progress': inferenceProgressSchema,
    'worker.status': workerStatusSchema,
    'rating.status': ratingStatusSchema,
    'schedule.status': scheduleStatusSchema,
    'models.progress': installProgressSchema,
    /** The safety model's state or install progress changed. */
    'safety.status': safetyViewSchema,
    /** Main asks the page to show one of its pages (tray: Rate images). */
    'app.navigate': z.object({ page: z.enum(['dashboard', 'rate', 'settings']) }),
  },
} as const;

export type Contract = typeof contract;
export type CommandName = keyof Contract['commands'];
export type EventName = keyof Contract['events'];
/** What a caller passes (defaults not yet applied). */
export type CommandRequest<N extends CommandName> = z.input<Contract['commands'][N]['request']>;
/** What a handler receives (parsed, defaults applied). */
export type ParsedRequest<N extends CommandName> = z.output<Contract['commands'][N]['request']>;
export type CommandResponse<N extends CommandName> = z.output<Contract['commands'][N]['response']>;
export type EventPayload<E extends EventName> = z.output<Contract['events'][E]>;

/** One handler per command: a missing one is a type error (see test/unit/contract.test.ts). */
export type Handlers = { [N in CommandName]: (request: ParsedRequest<N>) => Promise<CommandResponse<N>> };

export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && Object.hasOwn(contract.commands, name);
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.hasOwn(contract.events, name);
}
