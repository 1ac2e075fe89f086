import type { ModelKinds } from '../../common/inference';
import type { ModelFolder } from './modelFolder';

/** A model that serves txt2img only (and what a folder that is not usable serves). */
export const NO_EXTRA_KINDS: ModelKinds = { img2img: false, inpainting: false, outpainting: false, hires_fix: false, tiling: false };

/**
 * What a checked model folder can serve besides txt2img. Each kind is only claimed once the
 * pipeline runs it and the folder holds what it needs.
 */
export function modelKinds(folder: ModelFolder): ModelKinds {
  void folder;
  return { ...NO_EXTRA_KINDS };
}
