import { UserFacingError } from '../../common/result';
import type { GenerationService } from '../inference/generation';
import { packedRgb, type PostProcessorEngine } from './postProcessors';
import type { UpscalerStore } from './upscalerStore';

/**
 * The ESRGAN upscalers as an engine: the converted folders in `store`, each run in the inference thread
 * (inference/postprocess: ComfyUI's tiling, spandrel's padding and clamp, the horde's 8-bit truncation).
 */
export function createUpscalerEngine(
  store: UpscalerStore,
  generation: Pick<GenerationService, 'upscale' | 'cancelUpscale'>,
): PostProcessorEngine {
  return {
    family: 'esrgan',
    list: () => store.list(),
    async run(name, image, jobId) {
      const entry = store.list().find((e) => e.name === name && e.ready);
      if (!entry) throw new UserFacingError('post-processor-missing', `The upscaler ${name} is not installed.`);
      // A copy goes to the thread (transferred there): the caller's image stays whole.
      const out = await generation.upscale({ modelDir: entry.dir, width: image.width, height: image.height, rgb: packedRgb(image), jobId });
      return { width: out.width, height: out.height, seed: image.seed, rgb: out.rgb, channels: 3 };
    },
    // The thread stops the job's upscale after the tile in progress.
    cancel: (jobId) => generation.cancelUpscale(jobId),
  };
}
