/**
 * How one job keeps within a memory budget on the CPU, where running out of memory is no error the pipeline could
 * catch (the system swaps, or ends the process): from the model's weight sizes and the job's latent size it decides
 * whether the text encoder stays open while the UNet runs and how large a piece the VAE decodes (or encodes) at
 * once. The constants are the working memory measured on SD 1.5's full shapes in fp32 with ONNX Runtime's CPU arena
 * on (docs/memory.md); weights count at their file size.
 *
 * Order of preference: everything open and the VAE in one piece (what the reference worker does); then the text
 * encoder released before the UNet (reopened for the next job, ≈ 1 s); then the VAE in tiles, the largest that fit,
 * never below MIN_VAE_TILE latent pixels a side.
 */

/** Working memory per latent pixel of the job, in bytes (CPU, fp32, arena on; see docs/memory.md). */
export const WORKING_BYTES_PER_LATENT_PIXEL = {
  /** The UNet at batch 2 (CFG), kept by its arena between steps and jobs: 0.32 GB at 64×64. */
  unet: 80_000,
  /** The VAE decoder, kept by its arena: 1.06 GB at 64×64, 0.26 GB at 32×32. */
  vae_decoder: 260_000,
  /** The VAE encoder: 0.39 GB at 64×64. */
  vae_encoder: 100_000,
} as const;

/** The process itself (Node, the ONNX Runtime library, the pipeline's own arrays). */
export const PROCESS_BYTES = 200 * 2 ** 20;

/** Smallest VAE tile side, in latent pixels; tiles shrink in steps of 8 from 64. */
export const MIN_VAE_TILE = 32;
const LARGEST_TILE = 64;

/** Weight bytes of each component as it sits on disk (model + external data). */
export interface ComponentBytes {
  text_encoder: number;
  unet: number;
  vae_decoder: number;
  vae_encoder?: number;
}

/** What a plan is made from. */
export interface MemoryFacts {
  /** The most the job should take, in bytes (Infinity: no limit). */
  budget: number;
  weights: ComponentBytes;
  /** Latent height and width of the job's largest pass. */
  latentHeight: number;
  latentWidth: number;
  /** The job encodes a source image (img2img, painting). */
  encodes: boolean;
}

/** What the job does, and the peak it is expected to reach. */
export interface MemoryPlan {
  releaseTextEncoder: boolean;
  /** Largest latent side done in one VAE call; Infinity = the whole image. */
  vaeTile: number;
  estimatedBytes: number;
}

/** The job's expected peak with these choices (see the module comment). */
export function estimatePeak(facts: MemoryFacts, releaseTextEncoder: boolean, vaeTile: number): number {
  const area = facts.latentHeight * facts.latentWidth;
  const piece = Math.min(facts.latentHeight, vaeTile) * Math.min(facts.latentWidth, vaeTile);
  const w = WORKING_BYTES_PER_LATENT_PIXEL;
  const unet = facts.weights.unet + w.unet * area;
  const decode = facts.weights.vae_decoder + w.vae_decoder * piece;
  const encode = facts.encodes ? (facts.weights.vae_encoder ?? 0) + w.vae_encoder * piece : 0;
  return PROCESS_BYTES + unet + (releaseTextEncoder ? 0 : facts.weights.text_encoder) + decode + encode;
}

/** The plan for one job (see the module comment). */
export function planMemory(facts: MemoryFacts): MemoryPlan {
  const whole = Number.POSITIVE_INFINITY;
  for (const release of [false, true]) {
    const estimatedBytes = estimatePeak(facts, release, whole);
    if (estimatedBytes <= facts.budget) return { releaseTextEncoder: release, vaeTile: whole, estimatedBytes };
  }
  for (let tile = LARGEST_TILE; tile >= MIN_VAE_TILE; tile -= 8) {
    if (tile >= Math.max(facts.latentHeight, facts.latentWidth)) continue;
    const estimatedBytes = estimatePeak(facts, true, tile);
    if (estimatedBytes <= facts.budget || tile === MIN_VAE_TILE) return { releaseTextEncoder: true, vaeTile: tile, estimatedBytes };
  }
  return { releaseTextEncoder: true, vaeTile: whole, estimatedBytes: estimatePeak(facts, true, whole) };
}
