import { z } from 'zod';
import { executionProviderSchema } from '../common/hardware';
import { generationParamsSchema, inferenceProgressSchema, providerStatusSchema } from '../common/inference';

/** Messages from the host (main thread) to the inference worker. */
export const hostMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('load'), requestId: z.number().int(), modelDir: z.string(), providers: z.array(executionProviderSchema) }),
  z.object({ type: z.literal('run'), requestId: z.number().int(), jobId: z.string(), params: generationParamsSchema }),
  z.object({ type: z.literal('cancel'), jobId: z.string() }),
  z.object({ type: z.literal('unload'), requestId: z.number().int() }),
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
]);
export type WorkerMessage = z.input<typeof workerMessageSchema>;
