import { z } from 'zod';
import { sniffImage } from '../core/worker/jobSources';
import { KNOWN_POST_PROCESSORS, KNOWN_SAMPLERS, KNOWN_UPSCALERS } from './bridges';
import { hordeError, validationError, type Answer } from './router';

// Image requests as a requester sends them to `POST /v2/generate/async` (HORDE-PROTOCOL.md §2.13),
// validated loosely and resolved into the values the queue and the pop payload need, with the
// parser's defaults (nsfw and censor_nsfw true, r2 true) and the waiting prompt's (§2.3: sampler
// k_euler_a, cfg 5.0, karras true, 512×512, 30 steps or 20 with ControlNet).

// The horde's API models ModelPayloadLorasStable and ModelPayloadTextualInversionsStable (stable_v2.py).
const strength = z.number().min(-5).max(5);
const loraSchema = z.looseObject({
  name: z.string().min(1).max(255),
  model: strength.optional(),
  clip: strength.optional(),
  inject_trigger: z.string().min(1).max(30).optional(),
  is_version: z.boolean().optional(),
});
const tiSchema = z.looseObject({
  name: z.string().min(1).max(255),
  inject_ti: z.enum(['prompt', 'negprompt']).optional(),
  strength: strength.optional(),
});

const paramsSchema = z.looseObject({
  sampler_name: z.enum(KNOWN_SAMPLERS).optional(),
  cfg_scale: z.number().min(0).max(100).optional(),
  denoising_strength: z.number().min(0.01).max(1).optional(),
  hires_fix_denoising_strength: z.number().min(0.01).max(1).optional(),
  seed: z.string().max(256).optional(),
  seed_variation: z.number().int().min(1).max(1000).optional(),
  width: z.number().int().min(64).max(3072).optional(),
  height: z.number().int().min(64).max(3072).optional(),
  steps: z.number().int().min(1).optional(),
  n: z.number().int().min(1).max(20).optional(),
  karras: z.boolean().optional(),
  tiling: z.boolean().optional(),
  hires_fix: z.boolean().optional(),
  clip_skip: z.number().int().min(1).max(12).optional(),
  // The horde's API model lists the names it knows (KNOWN_POST_PROCESSORS); anything else is a validation error.
  post_processing: z.array(z.enum(KNOWN_POST_PROCESSORS)).optional(),
  facefixer_strength: z.number().min(0).max(1).optional(),
  loras: z.array(loraSchema).optional(),
  tis: z.array(tiSchema).optional(),
  control_type: z.enum(['canny', 'hed', 'depth', 'normal', 'openpose', 'seg', 'scribble', 'fakescribbles', 'hough']).optional(),
  image_is_control: z.boolean().optional(),
  return_control_map: z.boolean().optional(),
  transparent: z.boolean().optional(),
  workflow: z.enum(['qr_code']).optional(),
  extra_texts: z.array(z.looseObject({ text: z.string(), reference: z.string() })).optional(),
  special: z.record(z.string(), z.unknown()).optional(),
});

/** The body of `POST /v2/generate/async`; unknown keys are ignored. */
export const generationRequestSchema = z.looseObject({
  prompt: z.string(),
  params: paramsSchema.optional(),
  nsfw: z.boolean().optional(),
  censor_nsfw: z.boolean().optional(),
  trusted_workers: z.boolean().optional(),
  slow_workers: z.boolean().optional(),
  extra_slow_workers: z.boolean().optional(),
  workers: z.array(z.string()).max(5).optional(),
  worker_blacklist: z.boolean().optional(),
  models: z.array(z.string()).optional(),
  source_image: z.string().optional(),
  source_processing: z.enum(['img2img', 'inpainting', 'outpainting', 'remix']).optional(),
  source_mask: z.string().optional(),
  r2: z.boolean().optional(),
  shared: z.boolean().optional(),
  disable_batching: z.boolean().optional(),
  dry_run: z.boolean().optional(),
});

/** What a requester may send (input type, for `handle.enqueue`). */
export type GenerationRequestBody = z.input<typeof generationRequestSchema>;

/** A validated request with every default resolved. */
export interface ResolvedRequest {
  body: z.infer<typeof generationRequestSchema>;
  params: z.infer<typeof paramsSchema>;
  prompt: string;
  width: number;
  height: number;
  steps: number;
  n: number;
  sampler: string;
  cfgScale: number;
  karras: boolean;
  hiresFix: boolean;
  tiling: boolean;
  transparent: boolean;
  clipSkip: number | null;
  postProcessing: string[];
  loras: number;
  tis: number;
  controlType: string | null;
  models: string[];
  nsfw: boolean;
  useNsfwCensor: boolean;
  r2: boolean;
  sourceImage: string | null;
  sourceProcessing: string;
  sourceMask: string | null;
}

/** The horde's answer to a source it cannot open (`ImageValidationFailed`, horde/exceptions.py). */
function imageValidationFailed(
  message = 'Please ensure the source image payload is either a URL containing an image or a valid base64 encoded image.',
) {
  return hordeError(400, 'ImageValidationFailed', `Image validation failed. ${message}`);
}

/**
 * The horde's checks of a request's sources: a mask needs a source image (`SourceMaskUnnecessary`),
 * and each must be an image (base64 of a WebP, PNG or JPEG here; the horde also downloads URLs,
 * which the stand-in does not).
 */
function checkSources(body: z.infer<typeof generationRequestSchema>): Answer | null {
  if (body.source_mask !== undefined && body.source_image === undefined)
    return hordeError(400, 'SourceMaskUnnecessary', 'Please do not pass a source_mask unless you are sending a source_image as well');
  for (const source of [body.source_image, body.source_mask]) {
    if (source === undefined) continue;
    if (/^https?:\/\//i.test(source)) return imageValidationFailed('The stand-in takes base64 images only, no URLs.');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(source) || sniffImage(Buffer.from(source.slice(0, 16), 'base64')) === null)
      return imageValidationFailed();
  }
  return null;
}

const UPSCALERS: readonly string[] = KNOWN_UPSCALERS;

/** Validates and resolves an async body; an Answer describes why it was refused. */
export function resolveRequest(input: unknown): ResolvedRequest | Answer {
  const parsed = generationRequestSchema.safeParse(input);
  if (!parsed.success) {
    return validationError(Object.fromEntries(parsed.error.issues.map((i) => [i.path.join('.') || '(body)', i.message])));
  }
  const body = parsed.data;
  const params = body.params ?? {};
  if (body.prompt.trim() === '') return hordeError(400, 'MissingPrompt', 'You cannot specify an empty prompt.');
  const width = params.width ?? 512;
  const height = params.height ?? 512;
  if (width % 64 !== 0 || height % 64 !== 0) {
    return hordeError(400, 'InvalidSize', 'Invalid size. The image dimensions have to be multiples of 64.');
  }
  const sourceProblem = checkSources(body);
  if (sourceProblem) return sourceProblem;
  const controlType = params.control_type ?? null;
  let steps = params.steps ?? (controlType ? 20 : 30);
  if (steps > 500) {
    return hordeError(400, 'TooManySteps', 'Too many sampling steps. To allow resources for everyone, we allow only up to 500 steps.');
  }
  if (controlType) steps = Math.min(steps, 40);
  if ((params.loras?.length ?? 0) > 5) return hordeError(400, 'TooManyLoras', 'You cannot request more than 5 loras per generation.');
  if ((params.tis?.length ?? 0) > 20)
    return hordeError(400, 'TooManyTIs', 'You cannot request more than 20 Textual Inversions per generation.');
  const postProcessing = params.post_processing ?? [];
  if (postProcessing.filter((p) => UPSCALERS.includes(p)).length > 1) {
    return hordeError(400, 'TooManyUpscalers', 'Cannot use more than 1 upscaler at a time.');
  }
  const nsfw = body.nsfw ?? true;
  return {
    body,
    params,
    prompt: body.prompt,
    width,
    height,
    steps,
    n: params.n ?? 1,
    sampler: params.sampler_name ?? 'k_euler_a',
    cfgScale: params.cfg_scale ?? 5,
    karras: params.karras ?? true,
    hiresFix: params.hires_fix ?? false,
    tiling: params.tiling ?? false,
    transparent: params.transparent ?? false,
    clipSkip: params.clip_skip ?? null,
    postProcessing,
    loras: params.loras?.length ?? 0,
    tis: params.tis?.length ?? 0,
    controlType,
    models: body.models ?? [],
    nsfw,
    useNsfwCensor: !nsfw && (body.censor_nsfw ?? true),
    r2: body.r2 ?? true,
    sourceImage: body.source_image ?? null,
    sourceProcessing: body.source_processing ?? 'img2img',
    sourceMask: body.source_mask ?? null,
  };
}

/**
 * The integer seed of a request (§2.3): a numeric text is taken as it is (modulo 2³²), any other
 * text is hashed (FNV-1a) into 0..2³²−1, and no seed at all is undefined (a random one per pop).
 */
export function seedNumber(seed: string | undefined): number | undefined {
  if (seed === undefined || seed.trim() === '') return undefined;
  const trimmed = seed.trim();
  if (/^\d+$/.test(trimmed)) return Number(BigInt(trimmed) % 4294967296n);
  let hash = 0x811c9dc5;
  for (const char of trimmed) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
