import { z } from 'zod';
import { executionProviderSchema } from '../common/hardware';
import { generationParamsSchema, inferenceProgressSchema, providerStatusSchema, sourceProcessingSchema } from '../common/inference';

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * A job's LoRAs and textual inversions for the merge (inference/lora's MergeCache in the inference thread): the
 * checked files, the strengths, and where the merged sets live and how much disk they may use.
 */
export const runAddonsSchema = z.object({
  cacheDir: z.string().min(1),
  budgetBytes: z.number().positive(),
  loras: z.array(z.object({ path: z.string().min(1), model: z.number().finite(), clip: z.number().finite(), sha256: sha256Schema })).max(5),
  /** `name`: what the prompt writes after `embedding:` (the TI's CivitAI id). */
  embeddings: z.array(z.object({ name: z.string().min(1).max(255), path: z.string().min(1), sha256: sha256Schema })).max(20),
});
export type RunAddons = z.infer<typeof runAddonsSchema>;

/** Messages from the host (main thread) to the inference worker. */
export const hostMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('load'), requestId: z.number().int(), modelDir: z.string(), providers: z.array(executionProviderSchema) }),
  /** One job on the loaded model, or on the model merged with `addons` (merged or taken from the cache first). */
  z.object({
    type: z.literal('run'),
    requestId: z.number().int(),
    jobId: z.string(),
    params: generationParamsSchema,
    addons: runAddonsSchema.optional(),
  }),
  z.object({ type: z.literal('cancel'), jobId: z.string() }),
  z.object({ type: z.literal('unload'), requestId: z.number().int() }),
  /** Stop the running job, release every session and end the thread (node/threadExit.ts). */
  z.object({ type: z.literal('shutdown') }),
  /** One image through a converted upscaler folder (inference/postprocess): packed RGB, transferred. */
  z.object({
    type: z.literal('upscale'),
    requestId: z.number().int(),
    modelDir: z.string(),
    providers: z.array(executionProviderSchema),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    rgb: z.instanceof(ArrayBuffer),
    /** First tile tried (ComfyUI's 512 by default; halved on out-of-memory down to 128). */
    tile: z.number().int().positive().optional(),
    /** The job it belongs to: a `cancel` of that job stops it between two tiles (code `cancelled`). */
    jobId: z.string().optional(),
  }),
  /** One image through the background-removal folder (inference/postprocess/background): packed RGB, transferred. */
  z.object({
    type: z.literal('strip-background'),
    requestId: z.number().int(),
    modelDir: z.string(),
    providers: z.array(executionProviderSchema),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    rgb: z.instanceof(ArrayBuffer),
  }),
]);
export type HostMessage = z.input<typeof hostMessageSchema>;

export const generatedImageSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  seed: z.number().int().nonnegative(),
  /** RGB, 3 bytes per pixel, row-major; transferred, not copied. */
  rgb: z.instanceof(ArrayBuffer),
});
export type GeneratedImage = z.infer<typeof generatedImageSchema>;

export const runStatsSchema = z.object({
  wallMs: z.number(),
  /** Time inside ONNX Runtime's run() calls, summed. */
  runMs: z.number(),
  runs: z.number().int(),
  stepMs: z.array(z.number()),
  warnings: z.array(z.string()),
  /** The kind that ran and whether hires fix ran (a source-less img2img job runs as txt2img). */
  kind: sourceProcessingSchema,
  hiresFix: z.boolean(),
});
export type RunStats = z.infer<typeof runStatsSchema>;

/** Messages from the worker back to the host. */
export const workerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('loaded'), requestId: z.number().int(), status: providerStatusSchema }),
  z.object({ type: z.literal('progress'), progress: inferenceProgressSchema }),
  z.object({ type: z.literal('result'), requestId: z.number().int(), images: z.array(generatedImageSchema), stats: runStatsSchema }),
  z.object({ type: z.literal('unloaded'), requestId: z.number().int() }),
  z.object({ type: z.literal('error'), requestId: z.number().int(), code: z.string(), message: z.string() }),
  /** The upscaled image (packed RGB, truncated to 8 bits as the horde does) and how it ran. */
  z.object({
    type: z.literal('upscaled'),
    requestId: z.number().int(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    rgb: z.instanceof(ArrayBuffer),
    stats: z.object({
      ms: z.number(),
      tile: z.number().int(),
      tiles: z.number().int(),
      scale: z.number().int(),
      name: z.string(),
      status: providerStatusSchema,
    }),
  }),
  /** The cutout (packed RGBA, as rembg returns it for hordelib's strip_background) and how it was made. */
  z.object({
    type: z.literal('background-stripped'),
    requestId: z.number().int(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    rgba: z.instanceof(ArrayBuffer),
    stats: z.object({
      ms: z.number(),
      modelMs: z.number(),
      /** `matting`: rembg's closed-form alpha matting ran; `fallback`: pymatting refused (`reason`), naive cutout. */
      path: z.enum(['matting', 'fallback']),
      reason: z.string().nullable(),
      status: providerStatusSchema,
    }),
  }),
]);
export type WorkerMessage = z.input<typeof workerMessageSchema>;

/** Messages from the safety host (main thread) to the safety worker (`safety.worker.ts`). */
export const safetyHostMessageSchema = z.discriminatedUnion('type', [
  /** Opens the CLIP model folder and makes sure `texts` have features (from the cache file or the text tower). */
  z.object({
    type: z.literal('load'),
    requestId: z.number().int(),
    modelDir: z.string(),
    providers: z.array(executionProviderSchema),
    texts: z.array(z.string()),
  }),
  /** One image (packed RGB, copied, not transferred: the caller still delivers it) against `texts`. */
  z.object({
    type: z.literal('similarities'),
    requestId: z.number().int(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    rgb: z.instanceof(ArrayBuffer),
    texts: z.array(z.string()),
  }),
  z.object({ type: z.literal('unload'), requestId: z.number().int() }),
  /** Release the model and end the thread (node/threadExit.ts). */
  z.object({ type: z.literal('shutdown') }),
]);
export type SafetyHostMessage = z.input<typeof safetyHostMessageSchema>;

/** How the text features of a load or a check were found. */
export const textFeatureStatsSchema = z.object({
  /** Texts whose features came from the cache (memory or the file in the model folder). */
  cached: z.number().int().nonnegative(),
  /** Texts run through the text tower now (and written to the cache). */
  computed: z.number().int().nonnegative(),
  ms: z.number(),
});
export type TextFeatureStats = z.infer<typeof textFeatureStatsSchema>;

/** Messages from the safety worker back to its host. */
export const safetyWorkerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({
    type: z.literal('loaded'),
    requestId: z.number().int(),
    status: providerStatusSchema,
    textFeatures: textFeatureStatsSchema,
    warnings: z.array(z.string()),
  }),
  z.object({
    type: z.literal('scores'),
    requestId: z.number().int(),
    /** Cosine similarity per text, in the order asked. */
    scores: z.array(z.number()),
    textFeatures: textFeatureStatsSchema,
    /** Preprocessing plus the image tower. */
    imageMs: z.number(),
    warnings: z.array(z.string()),
  }),
  z.object({ type: z.literal('unloaded'), requestId: z.number().int() }),
  z.object({ type: z.literal('error'), requestId: z.number().int(), code: z.string(), message: z.string() }),
]);
export type SafetyWorkerMessage = z.input<typeof safetyWorkerMessageSchema>;
