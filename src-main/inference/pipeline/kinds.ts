import type { ModelKinds } from '../../common/inference';
import type { ModelFolder } from './modelFolder';

/** A model that serves txt2img only (and what a folder that is not usable serves). */
export const NO_EXTRA_KINDS: ModelKinds = { img2img: false, inpainting: false, outpainting: false, hires_fix: false, tiling: false };

/**
 * What a checked model folder can serve besides txt2img. A source image needs the VAE encoder
 * (folders installed before HordeDesk wrote one have none); painting runs on any SD 1.x model with
 * it, as the reference worker's paint pipeline does (inpainting checkpoints use their extra UNet
 * channels); hires fix is two txt2img-style passes; tiling needs the circular-padding graphs.
 */
export function modelKinds(folder: ModelFolder): ModelKinds {
  const encoder = folder.components.vae_encoder !== undefined;
  return { img2img: encoder, inpainting: encoder, outpainting: encoder, hires_fix: true, tiling: folder.tiled !== undefined };
}
