import { HORDEDESK_SAMPLERS, KNOWN_SAMPLERS } from './bridges';
import { createRng } from './queue';
import type { GenerationRequestBody } from './requests';

// Realistic requests for soak tests and demos, the same for the same seed: every sampler HordeDesk
// implements (cycled, so any 14 requests with supported samplers cover them all), and now and then
// one the horde knows and HordeDesk lacks (none today); karras on and off; sizes in multiples of
// 64; batches; R2 and inline delivery; seeds as strings (numbers, words, or none); clip_skip; and
// a share of requests with a feature beyond plain txt2img: hires_fix and tiling reach HordeDesk
// (served when its model serves them, else faulted with the reason), img2img only when its pop
// allows it (a model serves it), post-processing only while it has an upscaler installed, LoRA only
// while its pop allows them (the unsupported share's LoRA names no file the fake CivitAI has: left out
// with download_failed), ControlNet never. `postProcessingShare` adds upscaling requests on top,
// `loraShare` and `tiShare` LoRA and textual-inversion requests (standin/civitai.ts serves their files).

/** Knobs of {@link mixedRequests}; every one has a default. */
export interface MixedOptions {
  /** Smallest and largest side in px, multiples of 64. Defaults 64 and 1024. */
  minSize?: number;
  maxSize?: number;
  /** Each request names one of these. Default ["stable_diffusion"]. */
  models?: readonly string[];
  /** Steps are drawn from 1..maxSteps (1..8 for lcm). Default 50. */
  maxSteps?: number;
  /** Images per request: 1, or 2..maxN (always 1 when maxN is 1). Default 4. */
  maxN?: number;
  /** Share of requests with `r2: true`. Default 0.5. */
  r2Share?: number;
  /** Share of requests using one feature HordeDesk does not implement. Default 0.15. */
  unsupportedShare?: number;
  /** Share of requests with a sampler HordeDesk does not implement, if the horde knows any. Default 0.08. */
  unsupportedSamplerShare?: number;
  /** Share of requests flagged NSFW (only `nsfw: true` workers get those). Default 0. */
  nsfwShare?: number;
  /**
   * Share of requests that ask for one of `postProcessors` after generation (workers get them only while their
   * pop allows post-processing). Default 0, and then the mix is exactly what it was without this option.
   */
  postProcessingShare?: number;
  /** The post-processors those requests name, one each. Default ["RealESRGAN_x4plus"]. */
  postProcessors?: readonly string[];
  /**
   * Share of requests that name one or two of `loras` (workers get them only with allow_lora and a bridge that has
   * LoRAs). Default 0, and then the mix is exactly what it was without this option.
   */
  loraShare?: number;
  /** The LoRAs those requests draw from: a CivitAI model id (or, with `is_version`, a version id). Default [{name: "247778"}]. */
  loras?: readonly { name: string; is_version?: boolean }[];
  /** Share of requests that name one of `tis`, injected into the prompt or the negative prompt. Default 0. */
  tiShare?: number;
  /** The textual inversions (CivitAI model ids) those requests draw from. Default ["7808"]. */
  tis?: readonly string[];
  /** The models LoRA and TI requests name (e.g. the SD 1.x ones, where a worker merges them); default `models`. */
  addonModels?: readonly string[];
}

// Every sampler the horde knows that HordeDesk does not implement: none since it runs all fourteen.
const UNSUPPORTED_SAMPLERS: readonly string[] = KNOWN_SAMPLERS.filter((name) => !(HORDEDESK_SAMPLERS as readonly string[]).includes(name));
const SUBJECTS = [
  'a lighthouse on a cliff',
  'a red fox in snow',
  'a cabin by a lake',
  'an old robot reading',
  'a city street at night',
  'a bowl of ramen',
  'a sailing ship in a storm',
  'a desert canyon',
];
const STYLES = [
  'at sunset',
  'watercolor',
  'oil painting',
  'studio photo',
  'pixel art',
  'misty morning',
  'ink sketch',
  'cinematic lighting',
];
const NEGATIVES = ['blurry, lowres', 'text, watermark', 'deformed hands'];

/**
 * An 8×8 WebP we made for the stand-in (66 bytes, lossy VP8), in base64: the source image of
 * img2img and ControlNet requests, and a valid generation for tests to submit.
 */
export const TINY_WEBP_BASE64 = 'UklGRjoAAABXRUJQVlA4IC4AAADQAQCdASoIAAgAAUAmJaACdLoB+AADsAD+pNf/TSPGkeNI+Yt/84ljqd3aAAAA';

/** A numeric seed for the generator from a number or any text. */
function seedOf(seed: number | string): number {
  if (typeof seed === 'number') return seed >>> 0;
  let hash = 2166136261;
  for (const char of seed) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 16777619) >>> 0;
  return hash;
}

/** `count` request bodies, deterministic for a given seed and options. */
export function mixedRequests(count: number, seed: number | string, opts: MixedOptions = {}): GenerationRequestBody[] {
  const minSize = opts.minSize ?? 64;
  const maxSize = opts.maxSize ?? 1024;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  if (minSize % 64 || maxSize % 64 || minSize < 64 || maxSize < minSize)
    throw new RangeError('sizes must be multiples of 64 with 64 <= minSize <= maxSize');
  const models = opts.models ?? ['stable_diffusion'];
  if (models.length === 0) throw new RangeError('models must not be empty');
  const rng = createRng(seedOf(seed));
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
  const chance = (share: number) => rng() < share;
  const offset = int(0, HORDEDESK_SAMPLERS.length - 1);
  let supported = 0;

  const bodies: GenerationRequestBody[] = [];
  for (let i = 0; i < count; i += 1) {
    // The draw is made even when there is nothing to pick, so the rest of the mix stays the same.
    const sampler =
      chance(opts.unsupportedSamplerShare ?? 0.08) && UNSUPPORTED_SAMPLERS.length > 0
        ? pick(UNSUPPORTED_SAMPLERS)
        : (HORDEDESK_SAMPLERS[(offset + supported++) % HORDEDESK_SAMPLERS.length] as string);
    const lcm = sampler === 'lcm';
    const params: NonNullable<GenerationRequestBody['params']> = {
      sampler_name: sampler as NonNullable<NonNullable<GenerationRequestBody['params']>['sampler_name']>,
      karras: chance(0.5),
      width: int(minSize / 64, maxSize / 64) * 64,
      height: int(minSize / 64, maxSize / 64) * 64,
      steps: lcm ? int(1, 8) : int(1, opts.maxSteps ?? 50),
      cfg_scale: lcm ? int(2, 4) / 2 : int(2, 24) / 2,
      n: (opts.maxN ?? 4) <= 1 || chance(0.55) ? 1 : int(2, opts.maxN ?? 4),
    };
    const seedKind = rng();
    if (seedKind < 0.7) params.seed = String(int(0, 4294967295));
    else if (seedKind < 0.8) params.seed = `${pick(['sunrise', 'pebble', 'orbit'])}-${int(1, 99)}`;
    if (chance(0.3)) params.clip_skip = int(1, 2);
    const body: GenerationRequestBody = {
      prompt: `${pick(SUBJECTS)}, ${pick(STYLES)}${chance(0.3) ? `###${pick(NEGATIVES)}` : ''}`,
      params,
      models: [pick(models)],
      nsfw: chance(opts.nsfwShare ?? 0),
      censor_nsfw: false,
      r2: chance(opts.r2Share ?? 0.5),
    };
    if (chance(opts.unsupportedShare ?? 0.15))
      addUnsupported(body, params, pick(['post_processing', 'loras', 'img2img', 'hires_fix', 'tiling', 'control_type']));
    // Drawn only when asked for, so the mixes of seeds without it stay as they were.
    const share = opts.postProcessingShare ?? 0;
    if (share > 0 && chance(share) && !params.post_processing)
      params.post_processing = [pick(opts.postProcessors ?? ['RealESRGAN_x4plus'])] as NonNullable<typeof params.post_processing>;
    if (addAddons(params, opts, { chance, pick, int }) && opts.addonModels?.length) body.models = [pick(opts.addonModels)];
    bodies.push(body);
  }
  return bodies;
}

function addUnsupported(body: GenerationRequestBody, params: NonNullable<GenerationRequestBody['params']>, feature: string): void {
  switch (feature) {
    case 'post_processing':
      params.post_processing = [params.width === params.height ? 'RealESRGAN_x4plus' : 'GFPGAN'];
      break;
    case 'loras':
      params.loras = [{ name: '247778', model: 0.8 }];
      break;
    case 'img2img':
      body.source_image = TINY_WEBP_BASE64;
      body.source_processing = 'img2img';
      params.denoising_strength = 0.6;
      break;
    case 'hires_fix':
      params.hires_fix = true;
      break;
    case 'tiling':
      params.tiling = true;
      break;
    default:
      params.control_type = 'canny';
      body.source_image = TINY_WEBP_BASE64;
  }
}

/** The draws of one request. */
interface Draws {
  chance: (share: number) => boolean;
  pick: <T>(items: readonly T[]) => T;
  int: (lo: number, hi: number) => number;
}

/**
 * LoRAs and textual inversions as requesters send them (HORDE-PROTOCOL §2.13): one or two LoRAs with model/clip
 * strengths in steps of 0.25 and sometimes `inject_trigger: "any"`; one TI injected into the prompt or the negative
 * prompt. Drawn only when a share is asked, so the mixes of seeds without it stay as they were. True when it added any.
 */
function addAddons(params: NonNullable<GenerationRequestBody['params']>, opts: MixedOptions, draw: Draws): boolean {
  let added = false;
  const loraShare = opts.loraShare ?? 0;
  if (loraShare > 0 && draw.chance(loraShare) && !params.loras) {
    const pool = opts.loras ?? [{ name: '247778' }];
    const count = pool.length > 1 && draw.chance(0.3) ? 2 : 1;
    const chosen = count === 2 ? [pool[0], pool[1]] : [draw.pick(pool)];
    params.loras = chosen.map((l) => ({
      name: l?.name ?? '247778',
      model: draw.int(2, 6) / 4,
      clip: draw.int(2, 6) / 4,
      ...(l?.is_version ? { is_version: true } : {}),
      ...(draw.chance(0.5) ? { inject_trigger: 'any' } : {}),
    }));
    added = true;
  }
  const tiShare = opts.tiShare ?? 0;
  if (tiShare > 0 && draw.chance(tiShare) && !params.tis) {
    params.tis = [
      { name: draw.pick(opts.tis ?? ['7808']), inject_ti: draw.chance(0.5) ? 'prompt' : 'negprompt', strength: draw.int(2, 6) / 4 },
    ];
    added = true;
  }
  return added;
}
