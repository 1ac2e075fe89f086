import { z } from 'zod';

/** GPU vendors the app knows how to reason about. */
export const gpuVendorSchema = z.enum(['nvidia', 'amd', 'intel', 'apple', 'other']);
export type GpuVendor = z.infer<typeof gpuVendorSchema>;

/** Where a VRAM figure came from: the user sees it, because the figures differ in trust. */
export const vramSourceSchema = z.enum(['nvidia-smi', 'systeminformation', 'unified-memory', 'unknown']);

export const gpuSchema = z.object({
  vendor: gpuVendorSchema,
  name: z.string(),
  /** Dedicated VRAM in MiB; for unified memory, the share the GPU may use. null when unknown. */
  vramMiB: z.number().int().nonnegative().nullable(),
  vramSource: vramSourceSchema,
  integrated: z.boolean(),
  driverVersion: z.string().nullable(),
});
export type Gpu = z.infer<typeof gpuSchema>;

/** onnxruntime-node execution providers, by the names its session options take. */
export const executionProviderSchema = z.enum(['cuda', 'dml', 'coreml', 'webgpu', 'cpu']);
export type ExecutionProvider = z.infer<typeof executionProviderSchema>;

export const modelFamilySchema = z.enum(['sd1', 'sd2', 'sdxl']);
export type ModelFamily = z.infer<typeof modelFamilySchema>;

export const capabilityProfileSchema = z.object({
  os: z.object({ platform: z.string(), arch: z.string(), release: z.string() }),
  cpu: z.object({ brand: z.string(), cores: z.number().int().nonnegative() }),
  memoryMiB: z.number().int().nonnegative(),
  gpus: z.array(gpuSchema),
  /** The GPU the worker would use; null means CPU only. */
  primaryGpu: gpuSchema.nullable(),
  /** Providers worth trying on this machine, best first; CPU is always last. */
  executionProviders: z.array(z.object({ id: executionProviderSchema, reason: z.string() })),
  /** Suggested `max_pixels` for pops (multiple of 64×64). */
  maxPixels: z.number().int().positive(),
  modelFamilies: z.array(z.object({ family: modelFamilySchema, fits: z.boolean(), reason: z.string() })),
  /** Plain sentences for the user: why this profile looks the way it does. */
  notes: z.array(z.string()),
  detectedAt: z.string(),
});
export type CapabilityProfile = z.infer<typeof capabilityProfileSchema>;
